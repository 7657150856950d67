/**
 * Who may change whom: the role rules for managing members and other
 * members' access keys. Pure functions, so the rules read in one place.
 *
 * An access key acts as its holder, so nobody is ever issued one for somebody
 * else; revoking somebody else's is treated like changing that member: only
 * admins and owners may, and never for someone who outranks them.
 *
 * @module
 */
import type { Role } from "../store/orgs.ts";
import { forbidden } from "./errors.ts";
import { hasRole } from "./principal.ts";

/**
 * Throws 403 unless a caller with role `mine` may change a member from role
 * `from` to role `to` (`from` undefined: adding; `to` undefined: removing).
 */
export function checkMemberChange(mine: Role, from: Role | undefined, to: Role | undefined): void {
  if (!hasRole(mine, "admin")) {
    throw forbidden(`managing members needs the admin role or higher; you are ${mine}`);
  }
  if ((from === "owner" || to === "owner") && mine !== "owner") {
    throw forbidden("only owners can add, remove, grant or take away the owner role");
  }
}

/**
 * Throws 403 unless a caller (`mine`, `myId`) may revoke access keys of
 * `holderId`, whose role is `holderRole`. Everybody manages their own.
 */
export function checkKeyAuthority(
  mine: Role,
  myId: string,
  holderId: string,
  holderRole: Role,
): void {
  if (holderId === myId) return;
  if (!hasRole(mine, "admin")) {
    throw forbidden("only owners and admins can manage other members' access keys");
  }
  if (!hasRole(mine, holderRole)) {
    throw forbidden(`only owners can manage the access keys of a ${holderRole}`);
  }
}
