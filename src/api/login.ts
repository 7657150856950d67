/**
 * Route: `POST /login`, where a member signs in with their email and password
 * and gets an access key for one organization. It is how somebody who is in
 * several orgs gets a key for each (a key acts only in the org it was issued
 * in), and it needs no other credential. Failed attempts count against the
 * shared limits of `src/auth/sign_in.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import { clientAddress } from "../oauth/context.ts";
import type { AuditActor } from "../store/audit.ts";
import type { Store } from "../store/store.ts";
import { issueAccessKey } from "./access_keys.ts";
import { userActor, userTarget } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps } from "./context.ts";
import { ApiError, unauthorized } from "./errors.ts";
import { presentOrg } from "./present.ts";
import { onlyFields, optionalFutureTime, optionalString, string } from "./validate.ts";

/** How long a key from `POST /login` works unless the caller asks otherwise: 30 days. */
const LOGIN_KEY_TTL_MS = 30 * 86_400_000;

/**
 * The answer to a failed password check: 429 with the wait while the caller
 * is locked out, else `otherwise` (the route's own wording of "wrong password").
 */
export function signInFailure(
  failed: { reason: string; retryAfterSeconds?: number },
  otherwise: ApiError,
): ApiError {
  if (failed.retryAfterSeconds === undefined) return otherwise;
  return new ApiError(429, "too_many_requests", failed.reason, undefined, {
    "retry-after": String(failed.retryAfterSeconds),
  });
}

/**
 * Who a failed sign-in to `orgId` claimed to be: the email as given, with
 * the account's id only when it is a member there, so the trail does not
 * tell the org's admins which emails have an account elsewhere.
 */
async function failedSignIn(store: Store, orgId: string, email: string): Promise<AuditActor> {
  const user = await store.users.byEmail(email.trim());
  const id = user && await store.orgs.roleOf(orgId, user.id) ? user.id : null;
  return { type: "user", id, userId: id, name: email.trim().toLowerCase() };
}

/** The `/login` route. */
export function loginRoutes({ store, config, signIn }: ApiDeps): Hono {
  const app = new Hono();
  const trusted = new Set(config.trustedProxies);

  app.post("/", async (c) => {
    const body = await readJson(c);
    onlyFields(body, ["email", "password", "organization", "name", "expiresAt"]);
    const email = string(body, "email", { max: 320 });
    const password = string(body, "password", { max: 1024 });
    const slug = string(body, "organization", { max: 63 });
    const name = optionalString(body, "name", { max: 200 }) ?? "signed in with password";
    const expiresAt = optionalFutureTime(body, "expiresAt") ??
      new Date(Date.now() + LOGIN_KEY_TTL_MS).toISOString();
    // An org that does not exist is checked like one the person is not in: same work, same answer.
    const org = await store.orgs.bySlug(slug);
    const address = clientAddress(c, trusted);
    const result = await signIn.check({
      email,
      password,
      orgId: org?.id ?? "",
      clientAddress: address,
    });
    const context = { clientAddress: { to: address } };
    if (!result.ok) {
      // Only checked passwords: a locked-out attempt checks nothing, and recording each would
      // let anyone write to the database at no cost. An unknown org has no trail to write to.
      if (org && result.retryAfterSeconds === undefined) {
        const claimed = await failedSignIn(store, org.id, email);
        await store.audit.record(org.id, claimed, {
          action: "user.login_failed",
          target: { type: "user", id: claimed.id, name: claimed.name },
          changes: context,
        });
      }
      throw signInFailure(result, unauthorized(result.reason));
    }
    const user = result.user;
    const accessKey = await store.tx(async () => {
      await store.audit.record(org!.id, userActor(user), {
        action: "user.login",
        target: userTarget(user),
        changes: context,
      });
      return await issueAccessKey(store, org!.id, user.id, { name, expiresAt }, userActor(user));
    });
    return c.json({ organization: presentOrg(org!, result.role), accessKey }, 201);
  });

  return app;
}
