/**
 * The authentication methods a gateway accepts from MCP clients, each with
 * its place in the order they are tried, whether it is required, and its
 * validation rules.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import type { Db } from "./db.ts";
import { ConflictError } from "./errors.ts";
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

type Row = Record<string, unknown>;

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
  constructor(private readonly db: Db, private readonly changes: ChangeFeed) {}

  /** Adds a method; a second method of a non-repeatable type on one gateway is a conflict. */
  create(gatewayId: string, fields: AuthMethodFields): AuthMethod {
    const m = this.db.tx(() => {
      if (!REPEATABLE_TYPES.has(fields.type)) {
        const taken = this.db.prepare(
          "SELECT 1 FROM gateway_auth_methods WHERE gateway_id = ? AND type = ?",
        ).get(gatewayId, fields.type);
        if (taken) {
          throw new ConflictError("type", `the gateway already has a '${fields.type}' auth method`);
        }
      }
      const last = this.db.prepare(
        "SELECT MAX(position) AS p FROM gateway_auth_methods WHERE gateway_id = ?",
      ).get(gatewayId)?.p as number | null | undefined;
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
      this.db.prepare(
        `INSERT INTO gateway_auth_methods
           (id, gateway_id, type, configuration, position, required, validation_rules,
            created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
  list(gatewayId: string): AuthMethod[] {
    // rowid breaks ties within one order and millisecond in insertion order (ids are random).
    return this.db.prepare(
      `SELECT * FROM gateway_auth_methods WHERE gateway_id = ?
       ORDER BY position, created_at, rowid`,
    ).all(gatewayId).map(toMethod);
  }

  /** One method of `gatewayId`, if any. */
  get(gatewayId: string, id: string): AuthMethod | undefined {
    const r = this.db.prepare("SELECT * FROM gateway_auth_methods WHERE gateway_id = ? AND id = ?")
      .get(gatewayId, id);
    return r ? toMethod(r) : undefined;
  }

  /** Changes the fields given; undefined when not found. */
  update(gatewayId: string, id: string, changes: AuthMethodChanges): AuthMethod | undefined {
    const current = this.get(gatewayId, id);
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
    this.db.prepare(
      `UPDATE gateway_auth_methods
         SET configuration = ?, position = ?, required = ?, validation_rules = ?, updated_at = ?
       WHERE gateway_id = ? AND id = ?`,
    ).run(
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
  delete(gatewayId: string, id: string): boolean {
    const res = this.db.prepare("DELETE FROM gateway_auth_methods WHERE gateway_id = ? AND id = ?")
      .run(gatewayId, id);
    if (Number(res.changes) === 0) return false;
    this.changes.emit([gatewayId]);
    return true;
  }
}
