/**
 * The authentication methods a gateway accepts from MCP clients.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import type { Db } from "./db.ts";
import { uniqueOr } from "./errors.ts";
import { newId, now } from "./util.ts";

/** One configured auth method of a gateway. */
export interface AuthMethod {
  id: string;
  gatewayId: string;
  type: string;
  configuration: Record<string, unknown>;
  createdAt: string;
}

type Row = Record<string, unknown>;

function toMethod(r: Row): AuthMethod {
  return {
    id: r.id as string,
    gatewayId: r.gateway_id as string,
    type: r.type as string,
    configuration: JSON.parse(r.configuration as string),
    createdAt: r.created_at as string,
  };
}

/** Reads and writes `gateway_auth_methods`. */
export class AuthMethods {
  constructor(private readonly db: Db, private readonly changes: ChangeFeed) {}

  /** Adds a method; the same type twice on one gateway is a conflict. */
  create(gatewayId: string, type: string, configuration: Record<string, unknown>): AuthMethod {
    const m = { id: newId(), gatewayId, type, configuration, createdAt: now() };
    uniqueOr("type", `the gateway already has a '${type}' auth method`, () =>
      this.db.prepare(
        `INSERT INTO gateway_auth_methods (id, gateway_id, type, configuration, created_at)
         VALUES (?, ?, ?, ?, ?)`,
      ).run(m.id, gatewayId, type, JSON.stringify(configuration), m.createdAt));
    this.changes.emit([gatewayId]);
    return m;
  }

  /** The methods of `gatewayId`, oldest first (the order they are tried in). */
  list(gatewayId: string): AuthMethod[] {
    // rowid breaks ties within one millisecond in insertion order (ids are random).
    return this.db.prepare(
      "SELECT * FROM gateway_auth_methods WHERE gateway_id = ? ORDER BY created_at, rowid",
    ).all(gatewayId).map(toMethod);
  }

  /** Removes one method; false when not found. */
  delete(gatewayId: string, id: string): boolean {
    const res = this.db.prepare("DELETE FROM gateway_auth_methods WHERE gateway_id = ? AND id = ?")
      .run(gatewayId, id);
    if (Number(res.changes) === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }
}
