/**
 * The admin UI's page shell: the document head (the stylesheet, the script,
 * the icon; nothing from elsewhere), the header with the organization
 * switcher and sign-out, the navigation, and the flash message; and the
 * bare shell of the sign-in and error pages.
 *
 * @module
 */
import type { Context } from "hono";
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { ASSETS } from "./assets.ts";
import { Csrf } from "./components.tsx";
import type { UiRequest } from "./context.ts";

/** The sections of the navigation: path, label, and who sees it. */
const SECTIONS: { path: string; label: string; admin?: boolean }[] = [
  { path: "/ui/gateways", label: "Gateways" },
  { path: "/ui/tools", label: "Tools" },
  { path: "/ui/apis", label: "OpenAPI import" },
  { path: "/ui/servers", label: "Servers" },
  { path: "/ui/secrets", label: "Secrets" },
  { path: "/ui/activity", label: "Activity" },
  { path: "/ui/audit", label: "Audit", admin: true },
  { path: "/ui/members", label: "Members" },
  { path: "/ui/keys", label: "Access keys" },
  { path: "/ui/settings", label: "Settings" },
];

/** Standards mode: without it browsers render pages in quirks mode. */
const DOCTYPE = raw("<!DOCTYPE html>");

function Head({ title, refresh }: { title: string; refresh?: boolean }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Gatehouse`}</title>
      <link rel="icon" href={ASSETS.icon.path} type="image/svg+xml" />
      <link rel="stylesheet" href={ASSETS.css.path} />
      <script src={ASSETS.js.path} defer></script>
      {refresh
        ? (
          <noscript>
            <meta http-equiv="refresh" content="2" />
          </noscript>
        )
        : null}
    </head>
  );
}

/** The organization switcher: another org of the same user, signed in to with the password. */
function OrgSwitcher({ ui }: { ui: UiRequest }) {
  const others = ui.orgs.filter((o) => o.slug !== ui.me.organization.slug);
  if (others.length === 0) {
    return (
      <span>
        {ui.me.organization.name} <span class="muted">({ui.me.role})</span>
      </span>
    );
  }
  return (
    <details>
      <summary>
        {ui.me.organization.name} <span class="muted">({ui.me.role})</span>
      </summary>
      <form method="post" action="/ui/switch-org" class="stack">
        <Csrf token={ui.csrf} />
        <div class="field">
          <label for="switch-org">Organization</label>
          <select id="switch-org" name="organization">
            {others.map((o) => <option value={o.slug}>{`${o.name} (${o.role})`}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="switch-password">Your password</label>
          <input
            id="switch-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
          <p class="hint">A key acts in one organization only: switching signs you in there.</p>
        </div>
        <button type="submit">Switch</button>
      </form>
    </details>
  );
}

/** A signed-in page. `section` is the navigation entry it belongs to. */
export function Page(
  { ui, title, section, children, refresh }: {
    ui: UiRequest;
    title: string;
    section: string;
    children: Child;
    refresh?: boolean;
  },
) {
  return (
    <>
      {DOCTYPE}
      <html lang="en">
        <Head title={title} refresh={refresh} />
        <body>
          <a class="skip" href="#content">Skip to the content</a>
          <header class="top">
            <a class="brand" href="/ui">
              <img src={ASSETS.icon.path} alt="" />
              Gatehouse
            </a>
            <div class="who">
              <OrgSwitcher ui={ui} />
              <span>{ui.me.user.email}</span>
              <form method="post" action="/ui/sign-out">
                <Csrf token={ui.csrf} />
                <button type="submit" class="secondary small">Sign out</button>
              </form>
            </div>
          </header>
          <nav class="main" aria-label="Sections">
            <ul>
              {SECTIONS.filter((s) => !s.admin || ui.isAdmin).map((s) => (
                <li>
                  <a href={s.path} aria-current={s.path === section ? "page" : undefined}>
                    {s.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <main id="content">
            <div id="live" class="sr" aria-live="polite"></div>
            {ui.flash ? <div class="notice ok" role="status">{ui.flash}</div> : null}
            {ui.canWrite ? null : (
              <p class="notice warn">
                You are a viewer in this organization: you can look at everything here, and change
                nothing.
              </p>
            )}
            <h1>{title}</h1>
            {children}
          </main>
        </body>
      </html>
    </>
  );
}

/** A page outside a session: sign-in, first-run setup, refusals. */
export function BarePage({ title, children }: { title: string; children: Child }) {
  return (
    <>
      {DOCTYPE}
      <html lang="en">
        <Head title={title} />
        <body>
          <main id="content" class="sign-in">
            <p class="brand">
              <img src={ASSETS.icon.path} alt="" />
              Gatehouse
            </p>
            <h1>{title}</h1>
            {children}
          </main>
        </body>
      </html>
    </>
  );
}

/** The UI's answer for a page that is not there (or is another organization's). */
export function missing(c: Context) {
  return c.html(
    <BarePage title="Not found">
      <p>There is no page here, or it is not in this organization.</p>
      <p>
        <a href="/ui">Back to Gatehouse</a>
      </p>
    </BarePage>,
    404,
  );
}
