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
export function bootstrap(store: Store, fixedKey?: string): Promise<BootstrapResult> {
  return store.tx(async () => {
    let org = await store.orgs.bySlug(DEFAULT_ORG);
    const firstRun = !org && await store.orgs.count() === 0;
    if (!firstRun) {
      if (fixedKey && org) await ensureFixedKey(store, org.id, fixedKey);
      return { firstRun: false };
    }
    const owner = await store.users.ensure(OWNER_EMAIL, "Owner");
    org = await store.orgs.create("Default", DEFAULT_ORG, owner.id);
    await store.audit.record(org.id, SYSTEM_ACTOR, {
      action: "org.create",
      target: { type: "org", id: org.id, name: org.slug },
      changes: changesBetween(undefined, { name: org.name, slug: org.slug, owner: owner.email }),
    });
    const raw = fixedKey ?? generateToken(ACCESS_KEY_PREFIX);
    await addKey(store, org.id, owner.id, "admin", raw);
    return { firstRun: true, adminKey: raw };
  });
}

async function ensureFixedKey(store: Store, orgId: string, raw: string): Promise<void> {
  const hash = hashToken(raw);
  if (await store.accessKeys.byHash(hash)) return;
  const owner = (await store.orgs.members(orgId)).find((m) => m.role === "owner");
  if (!owner) return;
  await addKey(store, orgId, owner.userId, "admin (GATEHOUSE_ADMIN_KEY)", raw);
}

/** Stores the admin key `raw` of `userId`, recorded as Gatehouse's own act. */
async function addKey(
  store: Store,
  orgId: string,
  userId: string,
  name: string,
  raw: string,
): Promise<void> {
  const key = await store.accessKeys.create(orgId, userId, {
    name,
    hash: hashToken(raw),
    prefix: displayPrefix(raw),
    expiresAt: null,
  });
  await store.audit.record(orgId, SYSTEM_ACTOR, {
    action: "access_key.create",
    target: { type: "access_key", id: key.id, name },
    changes: changesBetween(undefined, { name, prefix: key.prefix, userId }),
  });
}
