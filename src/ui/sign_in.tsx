/**
 * Signing in and out of the admin UI, all through the API: `POST /login`
 * with the email, password and organization gives the session's key;
 * signing out revokes it (`DELETE /keys/{id}`); switching organization signs
 * in to the other one and revokes the old key. On a fresh install the owner
 * has no password yet: the setup page takes the admin key printed at first
 * start once, sets the owner's password with it (`PUT /me/password`) and
 * signs in with that password; the admin key itself is never kept.
 *
 * @module
 */
import { Hono } from "hono";
import { ApiClient, type ApiResult } from "./client.ts";
import { Csrf, ErrorSummary, Field, type FormState } from "./components.tsx";
import type { Me, UiDeps, UiEnv } from "./context.ts";
import { csrfToken } from "./csrf.ts";
import { BarePage } from "./layout.tsx";
import {
  endSession,
  flash,
  preSession,
  requireSession,
  safeNext,
  SESSION_KEY_NAME,
  SESSION_MS,
  sessionKey,
  startSession,
} from "./session.ts";

/** Why the sign-in page was shown, by the `reason` it was sent to it with. */
const REASONS: Record<string, string> = {
  ended: "Your session has ended (it expired, or its key was revoked). Sign in again.",
  "signed-out": "You are signed out.",
  setup: "The owner's password is set. Sign in with it.",
};

const SIGN_IN_FIELDS = ["email", "password", "organization"];

function SignInForm(
  { token, state, next }: { token: string; state?: FormState; next: string },
) {
  const v = (name: string, fallback = "") => state?.values[name] ?? fallback;
  return (
    <form method="post" action="/ui/sign-in" class="stack">
      <Csrf token={token} />
      <input type="hidden" name="next" value={next} />
      <ErrorSummary state={state} form="sign-in" fields={[]} />
      <Field label="Email" name="email" type="email" value={v("email")} autocomplete="username" />
      <Field
        label="Password"
        name="password"
        type="password"
        autocomplete="current-password"
      />
      <Field
        label="Organization"
        name="organization"
        value={v("organization", "default")}
        hint="The slug of the organization to work in; the first one is 'default'."
      />
      <button type="submit">Sign in</button>
    </form>
  );
}

function SetupForm({ token, state }: { token: string; state?: FormState }) {
  const field = (name: string) => state?.error?.field === name ? state.error.message : undefined;
  return (
    <form method="post" action="/ui/setup" class="stack">
      <Csrf token={token} />
      <ErrorSummary state={state} form="setup" fields={["adminKey", "password", "confirm"]} />
      <Field
        label="Admin access key"
        name="adminKey"
        type="password"
        autocomplete="off"
        error={field("adminKey")}
        hint="The gha_... key the first start printed (or your GATEHOUSE_ADMIN_KEY). It is used once, here, and not kept."
      />
      <Field
        label="New password for the owner"
        name="password"
        type="password"
        autocomplete="new-password"
        error={field("password")}
        hint="At least 8 characters. You sign in with it from now on."
      />
      <Field
        label="The same password again"
        name="confirm"
        type="password"
        autocomplete="new-password"
        error={field("confirm")}
      />
      <button type="submit">Set the password and sign in</button>
    </form>
  );
}

/** Signs in to `organization` as `email` with `password` for the UI's session. */
function login(api: ApiClient, email: string, password: string, organization: string) {
  return api.call("POST", "/login", {
    email,
    password,
    organization,
    name: SESSION_KEY_NAME,
    expiresAt: new Date(Date.now() + SESSION_MS).toISOString(),
  });
}

/** The status of a refusal the page repeats (a 429 keeps its Retry-After meaning). */
const statusOf = (r: ApiResult) => (r.status === 429 ? 429 : r.status === 401 ? 401 : 400);

/** The routes of signing in, setting up and signing out. */
export function signInRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const str = (f: FormData, name: string) => String(f.get(name) ?? "");

  app.get("/sign-in", (c) => {
    if (sessionKey(c) && !c.req.query("reason")) return c.redirect(safeNext(c.req.query("next")));
    const reason = REASONS[c.req.query("reason") ?? ""];
    return c.html(
      <BarePage title="Sign in">
        {reason ? <p class="notice ok" role="status">{reason}</p> : null}
        <SignInForm token={csrfToken(preSession(c, deps))} next={safeNext(c.req.query("next"))} />
        <p>
          First time here? <a href="/ui/setup">Set the owner's password with the admin key</a>.
        </p>
      </BarePage>,
    );
  });

  app.post("/sign-in", async (c) => {
    const f = c.get("form");
    const values = Object.fromEntries(SIGN_IN_FIELDS.map((k) => [k, str(f, k)]));
    const api = new ApiClient(deps.app, c);
    const res = await login(api, values.email, values.password, values.organization);
    if (!res.ok) {
      const state: FormState = { form: "sign-in", values, error: res.error };
      return c.html(
        <BarePage title="Sign in">
          <SignInForm
            token={csrfToken(preSession(c, deps))}
            state={state}
            next={safeNext(str(f, "next"))}
          />
          <p>
            First time here? <a href="/ui/setup">Set the owner's password with the admin key</a>.
          </p>
        </BarePage>,
        statusOf(res),
      );
    }
    startSession(c, deps, res.body.accessKey.key, res.body.accessKey.expiresAt);
    return c.redirect(safeNext(str(f, "next")), 303);
  });

  app.get("/setup", (c) =>
    c.html(
      <BarePage title="Set the owner's password">
        <p>
          A new Gatehouse has one organization, <code>default</code>, and its owner,{" "}
          <code>owner@localhost</code>, who has no password yet.
        </p>
        <SetupForm token={csrfToken(preSession(c, deps))} />
        <p>
          <a href="/ui/sign-in">Back to sign-in</a>
        </p>
      </BarePage>,
    ));

  app.post("/setup", async (c) => {
    const f = c.get("form");
    const [adminKey, password, confirm] = ["adminKey", "password", "confirm"].map((k) => str(f, k));
    const refuse = (field: string, message: string, status: 400 | 401 | 429 = 400) =>
      c.html(
        <BarePage title="Set the owner's password">
          <SetupForm
            token={csrfToken(preSession(c, deps))}
            state={{ form: "setup", values: {}, error: { code: "invalid", message, field } }}
          />
        </BarePage>,
        status,
      );
    if (password !== confirm) return refuse("confirm", "the two passwords differ");
    const admin = new ApiClient(deps.app, c, adminKey.trim());
    const me = await admin.get("/me");
    if (!me.ok) return refuse("adminKey", "this is not a valid access key", 401);
    const who = me.body as Me;
    if (who.hasPassword) {
      return refuse(
        "adminKey",
        `${who.user.email} already has a password: sign in with it, or change it in Settings`,
      );
    }
    const set = await admin.call("PUT", "/me/password", { password });
    if (!set.ok) return refuse(set.error?.field ?? "password", set.error!.message, statusOf(set));
    const res = await login(admin.as(undefined), who.user.email, password, who.organization.slug);
    if (!res.ok) return c.redirect("/ui/sign-in?reason=setup", 303);
    startSession(c, deps, res.body.accessKey.key, res.body.accessKey.expiresAt);
    flash(c, deps, `Signed in as ${who.user.email}. Keep the admin key for scripts, or revoke it.`);
    return c.redirect("/ui", 303);
  });

  const session = requireSession(deps);

  app.post("/sign-out", session, async (c) => {
    const { api, me } = c.get("ui");
    await api.call("DELETE", `/keys/${me.accessKey.id}`);
    endSession(c, deps);
    return c.redirect("/ui/sign-in?reason=signed-out", 303);
  });

  app.post("/switch-org", session, async (c) => {
    const { api, me } = c.get("ui");
    const f = c.get("form");
    const res = await login(
      api.as(undefined),
      me.user.email,
      str(f, "password"),
      str(f, "organization"),
    );
    if (!res.ok) {
      flash(c, deps, `Could not switch: ${res.error!.message}`);
      return c.redirect("/ui", 303);
    }
    await api.call("DELETE", `/keys/${me.accessKey.id}`);
    startSession(c, deps, res.body.accessKey.key, res.body.accessKey.expiresAt);
    flash(c, deps, `Now working in ${res.body.organization.name}.`);
    return c.redirect("/ui", 303);
  });

  return app;
}
