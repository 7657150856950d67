/**
 * Access keys and settings. Access keys: the caller's (all of the org's
 * for owners and admins), a new one shown once, revocation. Settings: the
 * organization's outbound policy (owners and admins), the caller's own
 * password, and a new organization.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiResult, Json } from "./client.ts";
import {
  Badge,
  Check,
  CopyBlock,
  Csrf,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  PostButton,
  Table,
  valueOf,
  When,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, statusOf, text, timeField, valuesOf } from "./forms.ts";
import { Page } from "./layout.tsx";

const OUTBOUND: [string, string][] = [
  ["allowPrivateNetworks", "Tools may reach private networks (10/8, 172.16/12, 192.168/16...)"],
  ["allowLoopback", "Tools may reach this machine (127/8, ::1)"],
  ["allowLinkLocal", "Tools may reach link-local addresses and cloud metadata endpoints"],
];

async function keysView(ui: UiRequest, state?: FormState, created?: Json) {
  const [keys, members] = await Promise.all([
    ui.api.get("/keys"),
    ui.api.get(`/orgs/${ui.me.organization.slug}/members`),
  ]);
  const list: Json[] = keys.ok ? keys.body.keys : [];
  const emails = new Map(
    (members.ok ? members.body.members as Json[] : []).map((m) => [m.userId, m.email]),
  );
  const v = (name: string) => valueOf(state, "key", name);
  const e = (name: string) => errorOf(state, "key", name);
  return (
    <Page ui={ui} title="Access keys" section="/ui/keys">
      <p class="muted">
        Access keys call the management API (<code>Authorization: Bearer gha_...</code>) as the
        person who holds them, in this organization only. Each sign-in here is one too.
      </p>
      {created
        ? (
          <section class="panel secret-once" aria-labelledby="created">
            <h2 id="created">{`Key '${created.name}' created`}</h2>
            <p>Copy it now: it is shown only this once.</p>
            <CopyBlock id="access-key-value" text={created.key} label="the new access key" />
          </section>
        )
        : null}
      <ErrorSummary state={state} form="revoke" fields={[]} />
      <Table
        head={["Name", "Holder", "Prefix", "Created", "Expires", "State", ""]}
        caption="Access keys"
      >
        {list.map((k) => (
          <tr>
            <td>
              {k.name}
              {k.id === ui.me.accessKey.id ? " (this session)" : ""}
            </td>
            <td>{emails.get(k.userId) ?? k.userId}</td>
            <td>
              <code>{k.prefix}</code>
            </td>
            <td>
              <When at={k.createdAt} />
            </td>
            <td>
              <When at={k.expiresAt} />
            </td>
            <td>
              {k.revokedAt
                ? <Badge tone="bad">revoked</Badge>
                : k.expiresAt && Date.parse(k.expiresAt) < Date.now()
                ? <Badge tone="warn">expired</Badge>
                : <Badge tone="ok">active</Badge>}
            </td>
            <td>
              {!k.revokedAt && k.id !== ui.me.accessKey.id
                ? (
                  <PostButton
                    action={`/ui/keys/${k.id}/revoke`}
                    csrf={ui.csrf}
                    label="Revoke"
                    danger
                    confirm={`Revoke the key ${k.name}?`}
                  />
                )
                : null}
            </td>
          </tr>
        ))}
      </Table>
      {ui.canWrite
        ? (
          <section class="panel" aria-labelledby="new-key">
            <h2 id="new-key">New access key</h2>
            <form method="post" action="/ui/keys" class="stack">
              <Csrf token={ui.csrf} />
              <ErrorSummary state={state} form="key" fields={["name", "expiresAt"]} />
              <Field
                label="Name"
                name="name"
                value={v("name")}
                error={e("name")}
                hint="What it is for, e.g. deploy script."
                required
              />
              <Field
                label="Expires (UTC, optional)"
                name="expiresAt"
                type="datetime-local"
                value={v("expiresAt")}
                error={e("expiresAt")}
              />
              <button type="submit">Create key</button>
            </form>
          </section>
        )
        : null}
    </Page>
  );
}

async function settingsView(ui: UiRequest, state?: FormState, createdOrg?: Json) {
  const org = await ui.api.get(`/orgs/${ui.me.organization.slug}`);
  const outbound = org.ok ? org.body.settings.outbound : {};
  const e = (form: string, name: string) => errorOf(state, form, name);
  return (
    <Page ui={ui} title="Settings" section="/ui/settings">
      {createdOrg
        ? (
          <section class="panel secret-once" aria-labelledby="created-org">
            <h2 id="created-org">{`Organization ${createdOrg.name} created`}</h2>
            <p>
              You own it. Switch to it from the menu at the top (with your password), or use this
              access key for it, shown only now:
            </p>
            <CopyBlock
              id="org-key-value"
              text={createdOrg.accessKey.key}
              label="the new organization's access key"
            />
          </section>
        )
        : null}
      <section class="panel" aria-labelledby="org">
        <h2 id="org">{`Organization: ${ui.me.organization.name}`}</h2>
        <p>
          Slug <code>{ui.me.organization.slug}</code>; you are <strong>{ui.me.role}</strong>.
        </p>
        <h3>What tools may reach</h3>
        {ui.isAdmin
          ? (
            <form method="post" action="/ui/settings/outbound" class="stack">
              <Csrf token={ui.csrf} />
              <ErrorSummary state={state} form="outbound" fields={[]} />
              <input type="hidden" name="present" value="1" />
              {OUTBOUND.map(([key, label]) => (
                <Check label={label} name={key} checked={outbound[key] === true} />
              ))}
              <button type="submit">Save</button>
            </form>
          )
          : (
            <ul>
              {OUTBOUND.map(([key, label]) => <li>{`${label}: ${outbound[key] ? "yes" : "no"}`}
              </li>)}
            </ul>
          )}
      </section>
      <section class="panel" aria-labelledby="password">
        <h2 id="password">Your password</h2>
        <form method="post" action="/ui/settings/password" class="stack">
          <Csrf token={ui.csrf} />
          <ErrorSummary state={state} form="password" fields={["password", "currentPassword"]} />
          {ui.me.hasPassword
            ? (
              <Field
                label="Current password"
                name="currentPassword"
                type="password"
                autocomplete="current-password"
                error={e("password", "currentPassword")}
              />
            )
            : null}
          <Field
            label="New password"
            name="password"
            type="password"
            autocomplete="new-password"
            error={e("password", "password")}
            hint="At least 8 characters. It works in every organization of your account."
          />
          <button type="submit">Change password</button>
        </form>
      </section>
      <section class="panel" aria-labelledby="new-org">
        <h2 id="new-org">New organization</h2>
        <form method="post" action="/ui/settings/orgs" class="stack">
          <Csrf token={ui.csrf} />
          <ErrorSummary state={state} form="org" fields={["name", "slug"]} />
          <Field
            label="Name"
            name="name"
            value={valueOf(state, "org", "name")}
            error={e("org", "name")}
            required
          />
          <Field
            label="Slug"
            name="slug"
            value={valueOf(state, "org", "slug")}
            error={e("org", "slug")}
            hint="Lower-case letters, digits and inner hyphens: it is in the gateways' URLs."
            required
          />
          <button type="submit">Create organization</button>
        </form>
      </section>
    </Page>
  );
}

/** The access key routes (`/ui/keys`). */
export function accessKeyRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", async (c) => c.html(await keysView(c.get("ui"))));
  app.post("/", async (c) => {
    const f = c.get("form");
    const body: Json = { name: text(f, "name") };
    const expiresAt = timeField(f, "expiresAt");
    if (expiresAt) body.expiresAt = expiresAt;
    const res = await c.get("ui").api.call("POST", "/keys", body);
    const ui = c.get("ui");
    if (!res.ok) {
      return c.html(
        await keysView(ui, { form: "key", values: valuesOf(f), error: res.error }),
        statusOf(res),
      );
    }
    c.header("cache-control", "no-store");
    return c.html(await keysView(ui, undefined, res.body));
  });
  app.post("/:id/revoke", async (c) => {
    const res = await c.get("ui").api.call("DELETE", `/keys/${c.req.param("id")}`);
    if (res.ok) return done(c, deps, `Key ${res.body.name} revoked.`, "/ui/keys");
    return c.html(
      await keysView(c.get("ui"), { form: "revoke", values: {}, error: res.error }),
      statusOf(res),
    );
  });
  return app;
}

/** The settings routes (`/ui/settings`). */
export function settingsRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const again = async (c: Context<UiEnv>, form: string, res: ApiResult) => {
    const { password: _p, currentPassword: _c, ...values } = valuesOf(c.get("form"));
    return c.html(
      await settingsView(c.get("ui"), { form, values, error: res.error }),
      statusOf(res),
    );
  };

  app.get("/", async (c) => c.html(await settingsView(c.get("ui"))));

  app.post("/outbound", async (c) => {
    const f = c.get("form");
    const outbound = Object.fromEntries(OUTBOUND.map(([k]) => [k, f.has(k)]));
    const res = await c.get("ui").api.call("PATCH", `/orgs/${c.get("ui").me.organization.slug}`, {
      settings: { outbound },
    });
    return res.ok
      ? done(c, deps, "Outbound settings saved.", "/ui/settings")
      : again(c, "outbound", res);
  });

  app.post("/password", async (c) => {
    const f = c.get("form");
    const body: Json = { password: text(f, "password") };
    if (f.has("currentPassword")) body.currentPassword = text(f, "currentPassword");
    const res = await c.get("ui").api.call("PUT", "/me/password", body);
    return res.ok ? done(c, deps, "Password changed.", "/ui/settings") : again(c, "password", res);
  });

  app.post("/orgs", async (c) => {
    const f = c.get("form");
    const res = await c.get("ui").api.call("POST", "/orgs", {
      name: text(f, "name"),
      slug: text(f, "slug"),
    });
    if (!res.ok) return again(c, "org", res);
    c.header("cache-control", "no-store");
    const ui = c.get("ui");
    // The switcher lists it from now on.
    const orgs = await ui.api.get("/orgs");
    return c.html(
      await settingsView({ ...ui, orgs: orgs.ok ? orgs.body.orgs : ui.orgs }, undefined, res.body),
    );
  });

  return app;
}
