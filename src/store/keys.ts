/**
 * Stored credentials: management access keys (a user acting in an org) and
 * gateway keys (an MCP client of one gateway). Only hashes are kept.
 *
 * @module
 */
import type { RateLimit } from "../limits/request_limits.ts";
import type { ChangeFeed } from "./changes.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** What the API shows of any stored key: never its value or hash. */
export interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** A management access key. */
export interface AccessKey extends KeyInfo {
  orgId: string;
  userId: string;
}

/** A gateway key with the scopes it grants. */
export interface GatewayKey extends KeyInfo {
  gatewayId: string;
  scopes: string[];
  /** Its own rate limit, which replaces the gateway's default per caller; null when none. */
  rateLimit: RateLimit | null;
}

function toKeyInfo(r: Row): KeyInfo {
  return {
    id: r.id as string,
    name: r.name as string,
    prefix: r.prefix as string,
    createdAt: r.created_at as string,
    expiresAt: (r.expires_at as string | null) ?? null,
    revokedAt: (r.revoked_at as string | null) ?? null,
  };
}

function toAccessKey(r: Row): AccessKey {
  return { ...toKeyInfo(r), orgId: r.org_id as string, userId: r.user_id as string };
}

function toGatewayKey(r: Row): GatewayKey {
  return {
    ...toKeyInfo(r),
    gatewayId: r.gateway_id as string,
    scopes: JSON.parse(r.scopes as string),
    rateLimit: typeof r.rate_limit_requests === "number"
      ? {
        requests: r.rate_limit_requests,
        windowSeconds: r.rate_limit_window_seconds as number,
      }
      : null,
  };
}

/** True when the key is neither revoked nor past its expiry at `at`. */
export function isActive(key: KeyInfo, at = now()): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > at);
}

/** Fields common to creating any key. */
export interface NewKey {
  name: string;
  hash: string;
  prefix: string;
  expiresAt: string | null;
}

/** Reads and writes `access_keys`. */
export class AccessKeys {
  constructor(private readonly db: SqlEngine) {}

  /** Stores a new access key for `userId` acting in `orgId`. */
  async create(orgId: string, userId: string, key: NewKey): Promise<AccessKey> {
    const row = { id: newId(), createdAt: now() };
    await this.db.run(
      `INSERT INTO access_keys (id, org_id, user_id, name, key_hash, prefix, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      orgId,
      userId,
      key.name,
      key.hash,
      key.prefix,
      row.createdAt,
      key.expiresAt,
    );
    return {
      id: row.id,
      orgId,
      userId,
      name: key.name,
      prefix: key.prefix,
      createdAt: row.createdAt,
      expiresAt: key.expiresAt,
      revokedAt: null,
    };
  }

  /** The key whose hash is `hash`, active or not. */
  async byHash(hash: string): Promise<AccessKey | undefined> {
    const r = await this.db.get("SELECT * FROM access_keys WHERE key_hash = ?", hash);
    return r ? toAccessKey(r) : undefined;
  }

  /** Keys in `orgId`, all of them or only those of `userId`. */
  async list(orgId: string, userId?: string): Promise<AccessKey[]> {
    const rows = userId === undefined
      ? await this.db.all(
        "SELECT * FROM access_keys WHERE org_id = ? ORDER BY created_at, id",
        orgId,
      )
      : await this.db.all(
        "SELECT * FROM access_keys WHERE org_id = ? AND user_id = ? ORDER BY created_at, id",
        orgId,
        userId,
      );
    return rows.map(toAccessKey);
  }

  /** One key of `orgId`, if it exists there. */
  async get(orgId: string, id: string): Promise<AccessKey | undefined> {
    const r = await this.db.get("SELECT * FROM access_keys WHERE org_id = ? AND id = ?", orgId, id);
    return r ? toAccessKey(r) : undefined;
  }

  /** Marks a key revoked; returns the updated key, or undefined when not found in `orgId`. */
  async revoke(orgId: string, id: string): Promise<AccessKey | undefined> {
    await this.db.run(
      "UPDATE access_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL",
      now(),
      orgId,
      id,
    );
    return await this.get(orgId, id);
  }
}

/** Reads and writes `gateway_keys`. */
export class GatewayKeys {
  /**
   * Increments whenever a key is created or revoked, so caches of keys (the
   * MCP authenticator's) can tell with a number compare that they are stale.
   * It moves once the write is done and before its caller hears of it, so a
   * lookup that began before it is never cached after it.
   */
  version = 0;

  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {
    changes.onStale("keys", () => this.version++);
  }

  /** Stores a new key for `gatewayId`. */
  async create(
    gatewayId: string,
    key: NewKey & { scopes: string[]; rateLimit: RateLimit | null },
  ): Promise<GatewayKey> {
    const row = { id: newId(), createdAt: now() };
    await this.db.run(
      `INSERT INTO gateway_keys (id, gateway_id, name, key_hash, prefix, scopes, created_at,
       expires_at, rate_limit_requests, rate_limit_window_seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      gatewayId,
      key.name,
      key.hash,
      key.prefix,
      JSON.stringify(key.scopes),
      row.createdAt,
      key.expiresAt,
      key.rateLimit?.requests ?? null,
      key.rateLimit?.windowSeconds ?? null,
    );
    this.changes.stale("keys");
    return {
      id: row.id,
      gatewayId,
      name: key.name,
      prefix: key.prefix,
      scopes: key.scopes,
      createdAt: row.createdAt,
      expiresAt: key.expiresAt,
      revokedAt: null,
      rateLimit: key.rateLimit,
    };
  }

  /**
   * Sets (or, with null, removes) the rate limit of key `id` of `gatewayId`;
   * undefined when there is no such key. Open MCP requests pick it up next.
   */
  async setRateLimit(
    gatewayId: string,
    id: string,
    rateLimit: RateLimit | null,
  ): Promise<GatewayKey | undefined> {
    const res = await this.db.run(
      `UPDATE gateway_keys SET rate_limit_requests = ?, rate_limit_window_seconds = ?
       WHERE gateway_id = ? AND id = ?`,
      rateLimit?.requests ?? null,
      rateLimit?.windowSeconds ?? null,
      gatewayId,
      id,
    );
    if (res.changes === 0) return undefined;
    // Caches of keys (the authenticator's) hold the old limit: the version tells them.
    this.changes.stale("keys");
    this.changes.emit([gatewayId]);
    return await this.get(gatewayId, id);
  }

  /** The key whose hash is `hash`, active or not. */
  async byHash(hash: string): Promise<GatewayKey | undefined> {
    const r = await this.db.get("SELECT * FROM gateway_keys WHERE key_hash = ?", hash);
    return r ? toGatewayKey(r) : undefined;
  }

  /** The keys of `gatewayId`. */
  async list(gatewayId: string): Promise<GatewayKey[]> {
    const rows = await this.db.all(
      "SELECT * FROM gateway_keys WHERE gateway_id = ? ORDER BY created_at, id",
      gatewayId,
    );
    return rows.map(toGatewayKey);
  }

  /** One key of `gatewayId`. */
  async get(gatewayId: string, id: string): Promise<GatewayKey | undefined> {
    const r = await this.db.get(
      "SELECT * FROM gateway_keys WHERE gateway_id = ? AND id = ?",
      gatewayId,
      id,
    );
    return r ? toGatewayKey(r) : undefined;
  }

  /** Marks a key revoked; returns the updated key, or undefined when not found. */
  async revoke(gatewayId: string, id: string): Promise<GatewayKey | undefined> {
    await this.db.run(
      "UPDATE gateway_keys SET revoked_at = ? WHERE gateway_id = ? AND id = ? AND revoked_at IS NULL",
      now(),
      gatewayId,
      id,
    );
    this.changes.stale("keys");
    const key = await this.get(gatewayId, id);
    if (key) this.changes.revoked(key.id);
    return key;
  }
}
