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
import { issueAccessKey } from "./access_keys.ts";
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
    const org = store.orgs.bySlug(slug);
    const result = await signIn.check({
      email,
      password,
      orgId: org?.id ?? "",
      clientAddress: clientAddress(c, trusted),
    });
    if (!result.ok) throw signInFailure(result, unauthorized(result.reason));
    const accessKey = issueAccessKey(store, org!.id, result.user.id, { name, expiresAt });
    return c.json({ organization: presentOrg(org!, result.role), accessKey }, 201);
  });

  return app;
}
