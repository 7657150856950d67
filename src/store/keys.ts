/**
 * Stored credentials: management access keys (a user acting in an org) and
 * gateway keys (an MCP client of one gateway). Only hashes are kept.
 *
 * @module
 */
import type { RateLimit } from "../limits/request_limits.ts";
import type { ChangeFeed } from "./changes.ts";
import type { Db } from "./db.ts";
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

type Row = Record<string, unknown>;

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
  constructor(private readonly db: Db) {}

  /** Stores a new access key for `userId` acting in `orgId`. */
  create(orgId: string, userId: string, key: NewKey): AccessKey {
    const row = { id: newId(), createdAt: now() };
    this.db.prepare(
      `INSERT INTO access_keys (id, org_id, user_id, name, key_hash, prefix, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(row.id, orgId, userId, key.name, key.hash, key.prefix, row.createdAt, key.expiresAt);
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
  byHash(hash: string): AccessKey | undefined {
    const r = this.db.prepare("SELECT * FROM access_keys WHERE key_hash = ?").get(hash);
    return r ? toAccessKey(r) : undefined;
  }

  /** Keys in `orgId`, all of them or only those of `userId`. */
  list(orgId: string, userId?: string): AccessKey[] {
    const rows = userId === undefined
      ? this.db.prepare("SELECT * FROM access_keys WHERE org_id = ? ORDER BY created_at, id")
        .all(orgId)
      : this.db.prepare(
        "SELECT * FROM access_keys WHERE org_id = ? AND user_id = ? ORDER BY created_at, id",
      ).all(orgId, userId);
    return rows.map(toAccessKey);
  }

  /** One key of `orgId`, if it exists there. */
  get(orgId: string, id: string): AccessKey | undefined {
    const r = this.db.prepare("SELECT * FROM access_keys WHERE org_id = ? AND id = ?")
      .get(orgId, id);
    return r ? toAccessKey(r) : undefined;
  }

  /** Marks a key revoked; returns the updated key, or undefined when not found in `orgId`. */
  revoke(orgId: string, id: string): AccessKey | undefined {
    this.db.prepare(
      "UPDATE access_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL",
    ).run(now(), orgId, id);
    return this.get(orgId, id);
  }
}

/** Reads and writes `gateway_keys`. */
export class GatewayKeys {
  /**
   * Increments whenever a key is created or revoked, so caches of keys (the
   * MCP authenticator's) can tell with a number compare that they are stale.
   */
  version = 0;

  constructor(private readonly db: Db, private readonly changes: ChangeFeed) {}

  /** Stores a new key for `gatewayId`. */
  create(
    gatewayId: string,
    key: NewKey & { scopes: string[]; rateLimit: RateLimit | null },
  ): GatewayKey {
    const row = { id: newId(), createdAt: now() };
    this.db.prepare(
      `INSERT INTO gateway_keys (id, gateway_id, name, key_hash, prefix, scopes, created_at,
       expires_at, rate_limit_requests, rate_limit_window_seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
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
    this.version++;
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
  setRateLimit(gatewayId: string, id: string, rateLimit: RateLimit | null): GatewayKey | undefined {
    const res = this.db.prepare(
      `UPDATE gateway_keys SET rate_limit_requests = ?, rate_limit_window_seconds = ?
       WHERE gateway_id = ? AND id = ?`,
    ).run(rateLimit?.requests ?? null, rateLimit?.windowSeconds ?? null, gatewayId, id);
    if (Number(res.changes) === 0) return undefined;
    // Caches of keys (the authenticator's) hold the old limit: the version tells them.
    this.version++;
    this.changes.emit([gatewayId]);
    return this.get(gatewayId, id);
  }

  /** The key whose hash is `hash`, active or not. */
  byHash(hash: string): GatewayKey | undefined {
    const r = this.db.prepare("SELECT * FROM gateway_keys WHERE key_hash = ?").get(hash);
    return r ? toGatewayKey(r) : undefined;
  }

  /** The keys of `gatewayId`. */
  list(gatewayId: string): GatewayKey[] {
    return this.db.prepare(
      "SELECT * FROM gateway_keys WHERE gateway_id = ? ORDER BY created_at, id",
    )
      .all(gatewayId).map(toGatewayKey);
  }

  /** One key of `gatewayId`. */
  get(gatewayId: string, id: string): GatewayKey | undefined {
    const r = this.db.prepare("SELECT * FROM gateway_keys WHERE gateway_id = ? AND id = ?")
      .get(gatewayId, id);
    return r ? toGatewayKey(r) : undefined;
  }

  /** Marks a key revoked; returns the updated key, or undefined when not found. */
  revoke(gatewayId: string, id: string): GatewayKey | undefined {
    this.db.prepare(
      "UPDATE gateway_keys SET revoked_at = ? WHERE gateway_id = ? AND id = ? AND revoked_at IS NULL",
    ).run(now(), gatewayId, id);
    this.version++;
    const key = this.get(gatewayId, id);
    if (key) this.changes.revoked(key.id);
    return key;
  }
}
