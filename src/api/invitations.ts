/**
 * Route: `POST /invitations/accept`, where an invited person joins an
 * organization. It takes the invitation's one-time token together with proof
 * of the account the invitation is for: for an email that has no account yet,
 * the person creates it by choosing a password; for an existing account, its
 * password or one of its own access keys. Holding the token alone (as the
 * inviter does) is never enough to act as an existing account, and holding
 * the account alone is never enough to join.
 *
 * @module
 */
import { Hono } from "hono";
import { hashToken } from "../auth/tokens.ts";
import { clientAddress } from "../oauth/context.ts";
import { hashPassword } from "../oauth/password.ts";
import { ConflictError } from "../store/errors.ts";
import type { User } from "../store/users.ts";
import { issueAccessKey } from "./access_keys.ts";
import { actorOf, userActor, userTarget } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps } from "./context.ts";
import { forbidden, invalid, unauthorized } from "./errors.ts";
import { signInFailure } from "./login.ts";
import { passwordField } from "./me.ts";
import { presentOrg } from "./present.ts";
import { principalOf } from "./principal.ts";
import { onlyFields, optionalString, string } from "./validate.ts";

const GONE = "this invitation token is unknown, already used, withdrawn or replaced by a newer " +
  "invitation; ask the organization's admin for a new one";

/** The `/invitations` routes. */
export function invitationRoutes({ store, config, signIn }: ApiDeps): Hono {
  const app = new Hono();
  const trusted = new Set(config.trustedProxies);

  app.post("/accept", async (c) => {
    const body = await readJson(c);
    onlyFields(body, ["token", "password", "name"]);
    const token = string(body, "token", { max: 200 });
    const invitation = await store.invitations.byTokenHash(hashToken(token));
    const org = invitation && await store.orgs.get(invitation.orgId);
    if (!invitation || !org) throw invalid("token", GONE);
    if (Date.parse(invitation.expiresAt) <= Date.now()) {
      throw invalid(
        "token",
        `this invitation expired at ${invitation.expiresAt}; ask for a new one`,
      );
    }
    const authorization = c.req.header("authorization");
    const caller = authorization === undefined
      ? undefined
      : await principalOf(store, authorization);
    const existing = await store.users.byEmail(invitation.email);
    if (caller && caller.user.id !== existing?.id) {
      throw forbidden("this invitation is for a different account than this access key's");
    }
    let user: User | undefined = caller?.user;
    let newAccount: { name: string; hash: string } | undefined;
    if (!user && existing) {
      if (body.password === undefined) {
        throw unauthorized(
          "an account with this invitation's email exists: prove it is yours with its " +
            "'password', or send one of its access keys as 'Authorization: Bearer <key>'",
        );
      }
      const result = await signIn.checkAccount({
        email: invitation.email,
        password: string(body, "password", { max: 1024 }),
        clientAddress: clientAddress(c, trusted),
      });
      if (!result.ok) {
        throw signInFailure(result, unauthorized("the password is not this account's"));
      }
      user = result.user;
    } else if (!user) {
      if (body.password === undefined) {
        throw invalid("password", "choose a password for your new account");
      }
      // Hashed before the transaction: the KDF takes tens of milliseconds by design.
      newAccount = {
        name: optionalString(body, "name", { max: 200 }) ?? invitation.email.split("@")[0],
        hash: await hashPassword(passwordField(body)),
      };
    }
    const joined = await store.tx(async () => {
      let member = user;
      if (newAccount) {
        if (await store.users.byEmail(invitation.email)) {
          throw new ConflictError("token", "an account with this email was created meanwhile");
        }
        member = await store.users.create(invitation.email, newAccount.name);
        await store.users.setPasswordHash(member.id, newAccount.hash);
      }
      if (!await store.invitations.accept(invitation.id, member!.id)) {
        throw invalid("token", GONE);
      }
      // A new account has no key yet: the person acts with the password just chosen.
      const actor = caller ? actorOf(caller) : userActor(member!);
      await store.audit.record(invitation.orgId, actor, {
        action: "member.join",
        target: userTarget(member!),
        changes: {
          role: { to: invitation.role },
          invitation: { from: invitation.id },
          ...(newAccount ? { account: { to: "created" } } : {}),
        },
      });
      const accessKey = await issueAccessKey(store, invitation.orgId, member!.id, {
        name: "accepted invitation",
        expiresAt: null,
      }, actor);
      return { accessKey, member: (await store.orgs.member(invitation.orgId, member!.id))! };
    });
    return c.json({ organization: presentOrg(org, invitation.role), ...joined }, 201);
  });

  return app;
}
