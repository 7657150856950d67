/**
 * Routes about the caller themself: `GET /me` says who the caller is (the
 * user, the organization the key acts in, the role there, the key itself),
 * and `PUT /me/password` sets the password a
 * user signs in with (`POST /login`, gateways' OAuth login pages, `basic`
 * gateway auth). Any authenticated user may set their own; nobody sets
 * another user's, so an admin of one org cannot take over an account that
 * also belongs to others.
 *
 * @module
 */
import { Hono } from "hono";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../oauth/password.ts";
import { REDACTED } from "../store/audit.ts";
import { audited, userTarget } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { invalid, notFound, unauthorized } from "./errors.ts";
import { signInFailure } from "./login.ts";
import { presentAccessKey, presentOrg } from "./present.ts";
import { clientAddress } from "../oauth/context.ts";
import { type Body, onlyFields, string } from "./validate.ts";

/** Reads the `password` field: {@link MIN_PASSWORD_LENGTH} to {@link MAX_PASSWORD_LENGTH} characters. */
export function passwordField(body: Body): string {
  return string(body, "password", { min: MIN_PASSWORD_LENGTH, max: MAX_PASSWORD_LENGTH });
}

/** The `/me` routes. */
export function meRoutes({ store, config, signIn }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const trusted = new Set(config.trustedProxies);

  // What a client (the admin UI) needs to show whose session it is and what it may do.
  app.get("/", async (c) => {
    const { user, org, role, keyId } = c.get("principal");
    const key = await store.accessKeys.get(org.id, keyId);
    // Revoked between authentication and here.
    if (!key) throw unauthorized("invalid, revoked or expired access key");
    return c.json({
      user: { id: user.id, email: user.email, name: user.name },
      organization: presentOrg(org, role),
      role,
      accessKey: presentAccessKey(key),
      hasPassword: await store.users.passwordHash(user.id) !== undefined,
    });
  });

  // A key acts in one org, but a password is the account's, good in all its orgs: so changing
  // a password takes the current one, or a key that leaks could take over the other orgs.
  app.put("/password", async (c) => {
    const body = await readJson(c);
    onlyFields(body, ["password", "currentPassword"]);
    const password = passwordField(body);
    const { user } = c.get("principal");
    const hadOne = await store.users.passwordHash(user.id) !== undefined;
    if (hadOne) {
      if (body.currentPassword === undefined) {
        throw invalid("currentPassword", "give your current password to change it");
      }
      const result = await signIn.checkAccount({
        email: user.email,
        password: string(body, "currentPassword", { max: 1024 }),
        clientAddress: clientAddress(c, trusted),
      });
      if (!result.ok) {
        throw signInFailure(
          result,
          invalid("currentPassword", "this is not your current password"),
        );
      }
    }
    const hash = await hashPassword(password);
    await audited(c, store, async (note) => {
      if (!await store.users.setPasswordHash(user.id, hash)) throw notFound("user");
      // That it changed, never what to: both sides are redacted whatever they hold.
      const password = hadOne ? { from: REDACTED, to: REDACTED } : { to: REDACTED };
      await note({
        action: "user.password_change",
        target: userTarget(user),
        changes: { password },
      });
    });
    return c.body(null, 204);
  });

  return app;
}
