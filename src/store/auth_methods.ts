/**
 * The authentication methods a gateway accepts from MCP clients, each with
 * its place in the order they are tried, whether it is required, and its
 * validation rules.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import { ConflictError } from "./errors.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** One configured auth method of a gateway. */
export interface AuthMethod {
  id: string;
  gatewayId: string;
  type: string;
  configuration: Record<string, unknown>;
  /** Methods are tried by ascending order (ties: the older first). */
  order: number;
  /** Whether every request must satisfy this method as well as being accepted by one. */
  required: boolean;
  /** `{allowedIpRanges?, requiredHeaders?}` as stored, or null. */
  validationRules: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

/** What a method is made of; `order` defaults to after the gateway's existing methods. */
export interface AuthMethodFields {
  type: string;
  configuration: Record<string, unknown>;
  order?: number;
  required?: boolean;
  validationRules?: Record<string, unknown> | null;
}

/** Fields a method may change; its type is fixed. */
export type AuthMethodChanges = Partial<Omit<AuthMethodFields, "type">>;

/**
 * Types a gateway may carry more than once: several `jwt` methods serve
 * several identity providers. Two of any other type would only shadow each other.
 */
const REPEATABLE_TYPES: ReadonlySet<string> = new Set(["jwt"]);

function toMethod(r: Row): AuthMethod {
  return {
    id: r.id as string,
    gatewayId: r.gateway_id as string,
    type: r.type as string,
    configuration: JSON.parse(r.configuration as string),
    order: Number(r.position),
    required: Number(r.required) === 1,
    validationRules: r.validation_rules === null ? null : JSON.parse(r.validation_rules as string),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/** Reads and writes `gateway_auth_methods`. */
export class AuthMethods {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Adds a method; a second method of a non-repeatable type on one gateway is a conflict. */
  async create(gatewayId: string, fields: AuthMethodFields): Promise<AuthMethod> {
    const m = await this.db.tx(async () => {
      if (!REPEATABLE_TYPES.has(fields.type)) {
        const taken = await this.db.get(
          "SELECT 1 AS x FROM gateway_auth_methods WHERE gateway_id = ? AND type = ?",
          gatewayId,
          fields.type,
        );
        if (taken) {
          throw new ConflictError("type", `the gateway already has a '${fields.type}' auth method`);
        }
      }
      const last = (await this.db.get(
        "SELECT MAX(position) AS p FROM gateway_auth_methods WHERE gateway_id = ?",
        gatewayId,
      ))?.p;
      const at = now();
      const method: AuthMethod = {
        id: newId(),
        gatewayId,
        type: fields.type,
        configuration: fields.configuration,
        order: fields.order ?? (last == null ? 1 : Number(last) + 1),
        required: fields.required ?? false,
        validationRules: fields.validationRules ?? null,
        createdAt: at,
        updatedAt: at,
      };
      await this.db.run(
        `INSERT INTO gateway_auth_methods
           (id, gateway_id, type, configuration, position, required, validation_rules,
            created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        method.id,
        gatewayId,
        method.type,
        JSON.stringify(method.configuration),
        method.order,
        method.required ? 1 : 0,
        method.validationRules === null ? null : JSON.stringify(method.validationRules),
        at,
        at,
      );
      return method;
    });
    this.changes.emit([gatewayId]);
    return m;
  }

  /** The methods of `gatewayId` in the order they are tried. */
  async list(gatewayId: string): Promise<AuthMethod[]> {
    // Ties within one order and millisecond go in insertion order (ids are random): SQLite's
    // rowid, the one statement here whose SQL depends on the engine.
    const tie = this.db.kind === "sqlite" ? "rowid" : "id";
    const rows = await this.db.all(
      `SELECT * FROM gateway_auth_methods WHERE gateway_id = ?
       ORDER BY position, created_at, ${tie}`,
      gatewayId,
    );
    return rows.map(toMethod);
  }

  /** One method of `gatewayId`, if any. */
  async get(gatewayId: string, id: string): Promise<AuthMethod | undefined> {
    const r = await this.db.get(
      "SELECT * FROM gateway_auth_methods WHERE gateway_id = ? AND id = ?",
      gatewayId,
      id,
    );
    return r ? toMethod(r) : undefined;
  }

  /** Changes the fields given; undefined when not found. */
  async update(
    gatewayId: string,
    id: string,
    changes: AuthMethodChanges,
  ): Promise<AuthMethod | undefined> {
    return await this.db.tx(() => this.#update(gatewayId, id, changes));
  }

  async #update(
    gatewayId: string,
    id: string,
    changes: AuthMethodChanges,
  ): Promise<AuthMethod | undefined> {
    const current = await this.get(gatewayId, id);
    if (!current) return undefined;
    const next: AuthMethod = {
      ...current,
      configuration: changes.configuration ?? current.configuration,
      order: changes.order ?? current.order,
      required: changes.required ?? current.required,
      validationRules: changes.validationRules === undefined
        ? current.validationRules
        : changes.validationRules,
      updatedAt: now(),
    };
    await this.db.run(
      `UPDATE gateway_auth_methods
         SET configuration = ?, position = ?, required = ?, validation_rules = ?, updated_at = ?
       WHERE gateway_id = ? AND id = ?`,
      JSON.stringify(next.configuration),
      next.order,
      next.required ? 1 : 0,
      next.validationRules === null ? null : JSON.stringify(next.validationRules),
      next.updatedAt,
      gatewayId,
      id,
    );
    this.changes.emit([gatewayId]);
    return next;
  }

  /** Removes one method; false when not found. */
  async delete(gatewayId: string, id: string): Promise<boolean> {
    const res = await this.db.run(
      "DELETE FROM gateway_auth_methods WHERE gateway_id = ? AND id = ?",
      gatewayId,
      id,
    );
    if (res.changes === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }
}
