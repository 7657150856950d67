/**
 * Routes about the caller themself: `PUT /me/password` sets the password a
 * user signs in with on gateways' OAuth login pages. Any authenticated user
 * may set their own (an access key already acts as them); nobody sets
 * another user's, so an admin of one org cannot take over an account that
 * also belongs to others.
 *
 * @module
 */
import { Hono } from "hono";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../oauth/password.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { notFound } from "./errors.ts";
import { type Body, onlyFields, string } from "./validate.ts";

/** Reads the `password` field: {@link MIN_PASSWORD_LENGTH} to {@link MAX_PASSWORD_LENGTH} characters. */
export function passwordField(body: Body): string {
  return string(body, "password", { min: MIN_PASSWORD_LENGTH, max: MAX_PASSWORD_LENGTH });
}

/** The `/me` routes. */
export function meRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.put("/password", async (c) => {
    const body = await readJson(c);
    onlyFields(body, ["password"]);
    const hash = await hashPassword(passwordField(body));
    if (!store.users.setPasswordHash(c.get("principal").user.id, hash)) throw notFound("user");
    return c.body(null, 204);
  });

  return app;
}
