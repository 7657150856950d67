/**
 * The admin UI, served by Gatehouse itself at `/ui`: server-rendered pages
 * (Hono's JSX) with a small script of our own for progressive enhancement,
 * and every asset from the repository (see `assets.ts`). `/` sends browsers
 * there; API clients asking for `/` get what they always got.
 *
 * Every UI response carries a strict Content-Security-Policy (scripts,
 * styles and everything else from this origin only, no inline script or
 * style, no framing), `X-Content-Type-Options: nosniff` and a same-origin
 * referrer policy. Every POST is checked for its origin and its form token
 * before anything else (see `csrf.ts`), then the page's session.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../config.ts";
import { apiPages } from "./apis.tsx";
import { assetAt } from "./assets.ts";
import { activityRoutes } from "./activity.tsx";
import { auditRoutes } from "./audit.tsx";
import type { UiDeps, UiEnv } from "./context.ts";
import { CSRF_FIELD, sameOrigin, validCsrf } from "./csrf.ts";
import { gatewayRoutes } from "./gateways.tsx";
import { BarePage } from "./layout.tsx";
import { memberRoutes } from "./members.tsx";
import { accessKeyRoutes, settingsRoutes } from "./settings.tsx";
import { secretRoutes } from "./secrets.tsx";
import { serverRoutes } from "./servers.tsx";
import { formSecret, requireSession } from "./session.ts";
import { signInRoutes } from "./sign_in.tsx";
import { toolRoutes } from "./tools.tsx";

/** The policy of every UI response: nothing but this origin, nothing inline, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

function refusal(c: Context, status: 403 | 404, title: string, message: string) {
  return c.html(
    <BarePage title={title}>
      <p>{message}</p>
      <p>
        <a href="/ui">Back to Gatehouse</a>
      </p>
    </BarePage>,
    status,
  );
}

/** Mounts the UI on `app` at `/ui`, and the redirect of browsers from `/`. */
export function mountUi(app: Hono, config: Config): void {
  const deps: UiDeps = { app, config };
  // A browser asking for the root page goes to the UI; anything else falls through (404 JSON).
  app.get("/", async (c, next) => {
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/ui", 302);
    await next();
  });

  const ui = new Hono<UiEnv>();
  ui.use(async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("content-security-policy", CONTENT_SECURITY_POLICY);
    h.set("x-content-type-options", "nosniff");
    h.set("referrer-policy", "same-origin");
    h.set("x-frame-options", "DENY");
    if (!h.has("cache-control")) h.set("cache-control", "no-store");
  });
  ui.get("/assets/:file", (c) => {
    const asset = assetAt(c.req.path);
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=31536000, immutable",
    });
  });
  // Forms: from this site, within the size limit, with the session's token; then read once.
  const origins = [...new Set([config.publicUrl ? new URL(config.publicUrl).origin : ""])];
  const imports = bodyLimit({ maxSize: config.maxImportBodyBytes });
  const others = bodyLimit({ maxSize: config.maxBodyBytes });
  ui.post("*", async (c, next) => {
    if (!sameOrigin(c.req.raw, [...origins, new URL(c.req.url).origin])) {
      return refusal(c, 403, "Refused", "This form was sent from another site.");
    }
    const limit = c.req.path.startsWith("/ui/apis") ? imports : others;
    return await limit(c, async () => {
      let form: FormData;
      try {
        form = await c.req.raw.formData();
      } catch {
        form = new FormData();
      }
      if (!validCsrf(form.get(CSRF_FIELD), formSecret(c))) {
        c.res = await refusal(
          c,
          403,
          "Refused",
          "This form has expired or did not come from this page. Go back, reload the page and " +
            "send it again.",
        );
        return;
      }
      c.set("form", form);
      await next();
    });
  });
  ui.route("/", signInRoutes(deps));
  ui.get("/", (c) => c.redirect("/ui/gateways", 302));
  const signedIn = (path: string, routes: Hono<UiEnv>) => {
    const section = new Hono<UiEnv>();
    section.use(requireSession(deps));
    ui.route(path, section.route("/", routes));
  };
  signedIn("/gateways", gatewayRoutes(deps));
  signedIn("/tools", toolRoutes(deps));
  signedIn("/apis", apiPages(deps));
  signedIn("/servers", serverRoutes(deps));
  signedIn("/secrets", secretRoutes(deps));
  signedIn("/activity", activityRoutes(deps));
  signedIn("/audit", auditRoutes(deps));
  signedIn("/members", memberRoutes(deps));
  signedIn("/keys", accessKeyRoutes(deps));
  signedIn("/settings", settingsRoutes(deps));
  ui.all(
    "*",
    (c) =>
      refusal(c, 404, "Not found", "There is no page here, or it is not in this organization."),
  );
  app.route("/ui", ui);
}
