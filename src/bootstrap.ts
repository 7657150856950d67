/**
 * First-run setup: an empty database gets an org `default`, an owner user and
 * an admin access key, printed once.
 *
 * @module
 */
import { ACCESS_KEY_PREFIX, displayPrefix, generateToken, hashToken } from "./auth/tokens.ts";
import { changesBetween, SYSTEM_ACTOR } from "./store/audit.ts";
import type { Store } from "./store/store.ts";

/** What first-run setup did. */
export interface BootstrapResult {
  /** The raw admin key when one was created now (shown once), else undefined. */
  adminKey?: string;
  /** True when the database was empty and has just been set up. */
  firstRun: boolean;
}

/** The slug of the org created on first run. */
export const DEFAULT_ORG = "default";
const OWNER_EMAIL = "owner@localhost";

/**
 * Sets up an empty store. With `fixedKey` (from `GATEHOUSE_ADMIN_KEY`), that
 * value becomes an admin key of the first owner, on first run or later.
 */
export function bootstrap(store: Store, fixedKey?: string): BootstrapResult {
  return store.tx(() => {
    let org = store.orgs.bySlug(DEFAULT_ORG);
    const firstRun = !org && store.orgs.count() === 0;
    if (!firstRun) {
      if (fixedKey && org) ensureFixedKey(store, org.id, fixedKey);
      return { firstRun: false };
    }
    const owner = store.users.ensure(OWNER_EMAIL, "Owner");
    org = store.orgs.create("Default", DEFAULT_ORG, owner.id);
    store.audit.record(org.id, SYSTEM_ACTOR, {
      action: "org.create",
      target: { type: "org", id: org.id, name: org.slug },
      changes: changesBetween(undefined, { name: org.name, slug: org.slug, owner: owner.email }),
    });
    const raw = fixedKey ?? generateToken(ACCESS_KEY_PREFIX);
    addKey(store, org.id, owner.id, "admin", raw);
    return { firstRun: true, adminKey: raw };
  });
}

function ensureFixedKey(store: Store, orgId: string, raw: string): void {
  const hash = hashToken(raw);
  if (store.accessKeys.byHash(hash)) return;
  const owner = store.orgs.members(orgId).find((m) => m.role === "owner");
  if (!owner) return;
  addKey(store, orgId, owner.userId, "admin (GATEHOUSE_ADMIN_KEY)", raw);
}

/** Stores the admin key `raw` of `userId`, recorded as Gatehouse's own act. */
function addKey(store: Store, orgId: string, userId: string, name: string, raw: string): void {
  const key = store.accessKeys.create(orgId, userId, {
    name,
    hash: hashToken(raw),
    prefix: displayPrefix(raw),
    expiresAt: null,
  });
  store.audit.record(orgId, SYSTEM_ACTOR, {
    action: "access_key.create",
    target: { type: "access_key", id: key.id, name },
    changes: changesBetween(undefined, { name, prefix: key.prefix, userId }),
  });
}
