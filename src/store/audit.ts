/**
 * The audit trail: who changed what in an org, and when. Each management
 * change writes its event with {@link AuditLog.record} inside the change's
 * own transaction, so an acknowledged change always has its event and a
 * change that failed has none. Events are only ever added: the store has no
 * way to change or delete one, and the table's triggers refuse it too.
 *
 * What an event says of the change (`changes`) passes through
 * {@link redacted} on its way in: values under names that hold credentials
 * (passwords, tokens, keys, client secrets, in any spelling) and anything
 * shaped like a Gatehouse credential are replaced by `[REDACTED]`, so the
 * trail never becomes a place where a write-only value can be read back.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../util/json.ts";
import { checkRequest, type Page, pageOf, type PageRequest } from "./paging.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** Every action an event can name: `<resource>.<verb>`, sub-resources of gateways in between. */
export const AUDIT_ACTIONS = [
  "org.create",
  "org.update",
  "member.invite",
  "member.invite_withdraw",
  "member.join",
  "member.role_change",
  "member.remove",
  "user.login",
  "user.login_failed",
  "user.password_change",
  "access_key.create",
  "access_key.revoke",
  "gateway.create",
  "gateway.update",
  "gateway.delete",
  "gateway.tool.assign",
  "gateway.tool.update",
  "gateway.tool.unassign",
  "gateway.server.attach",
  "gateway.server.detach",
  "gateway.key.issue",
  "gateway.key.update",
  "gateway.key.revoke",
  "gateway.auth_method.create",
  "gateway.auth_method.update",
  "gateway.auth_method.delete",
  "tool.create",
  "tool.update",
  "tool.delete",
  "api.import",
  "api.reimport",
  "api.delete",
  "secret.create",
  "secret.update",
  "secret.rotate",
  "secret.delete",
  "server.create",
  "server.update",
  "server.delete",
  "server.refresh",
  "server.approve",
] as const;
/** One of {@link AUDIT_ACTIONS}. */
export type AuditAction = typeof AUDIT_ACTIONS[number];

/** Who acts: a person signing in, an access key (acting as its holder), or Gatehouse itself. */
export const ACTOR_TYPES = ["user", "access_key", "system"] as const;
/** One of {@link ACTOR_TYPES}. */
export type ActorType = typeof ACTOR_TYPES[number];

/** What an event is about. A gateway's tools, servers, keys and auth methods are the gateway's. */
export const TARGET_TYPES = [
  "org",
  "user",
  "invitation",
  "access_key",
  "gateway",
  "tool",
  "api",
  "secret",
  "server",
] as const;
/** One of {@link TARGET_TYPES}. */
export type TargetType = typeof TARGET_TYPES[number];

/** Who made a change. */
export interface AuditActor {
  type: ActorType;
  /** The access key's or user's id; null for the system and for an unknown account. */
  id: string | null;
  /** The person behind the actor (an access key's holder); null for the system. */
  userId: string | null;
  /** How to recognise the actor: the person's email, or `system`. */
  name: string;
}

/** The actor of what Gatehouse does by itself (first-run setup, `GATEHOUSE_ADMIN_KEY`). */
export const SYSTEM_ACTOR: AuditActor = { type: "system", id: null, userId: null, name: "system" };

/** What a change was made to. */
export interface AuditTarget {
  type: TargetType;
  /** Null only for an account that does not exist (a failed sign-in). */
  id: string | null;
  /** Its name (or email, or slug) at the time. */
  name: string;
}

/** One field of a change: its value before and after, each left out where there is none. */
export interface FieldChange {
  from?: unknown;
  to?: unknown;
}

/** The fields a change touched, by name (`parts.<id>.field` for a gateway's parts). */
export type AuditChanges = Record<string, FieldChange>;

/** What a change records of itself. */
export interface AuditEntry {
  action: AuditAction;
  target: AuditTarget;
  changes?: AuditChanges;
}

/** A recorded event. */
export interface AuditEvent {
  id: string;
  orgId: string;
  at: string;
  actor: AuditActor;
  action: AuditAction;
  target: AuditTarget;
  changes: AuditChanges;
}

/** Which events to list; every filter given must hold. */
export interface AuditFilter {
  /** The actor's id or the person behind it. */
  actor?: string;
  action?: string;
  /** Actions starting with this (which ends with `.`). */
  actionPrefix?: string;
  targetType?: string;
  targetId?: string;
  /** Events at or after this time (ISO, as stored). */
  since?: string;
  /** Events before this time. */
  until?: string;
}

/** What replaces a value that must not be kept. */
export const REDACTED = "[REDACTED]";
/** Longest value (as JSON) kept whole; a longer one is kept as its size and digest. */
export const MAX_VALUE_CHARS = 4096;
/** Longest actor or target name kept. */
const MAX_NAME_CHARS = 320;

/**
 * Fields whose value is the name of a vault secret, never a value: kept,
 * since which secret a tool or method uses is what an auditor wants to see.
 */
const SECRET_REFERENCES = new Set(["secret", "hs256 secret"]);
/** Last words of field names that hold credentials (`clientSecret`, `X-Api-Key`, `db_password`). */
const CREDENTIAL_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "token",
  "key",
  "cookie",
  "authorization",
  "credential",
]);
/** Word endings that give a credential away when words run together (`clientsecret`, `apikey`). */
const CREDENTIAL_ENDINGS = ["password", "passwd", "passphrase", "secret", "token", "apikey"];
/** Gatehouse's own credentials (access keys, gateway keys, invitation tokens), wherever they sit. */
const GATEHOUSE_CREDENTIAL = /gh[aki]_[A-Za-z0-9_-]{16,}/g;
/** An Authorization header's value with its credential (a `{{secrets.X}}` template is not one). */
const AUTH_SCHEME_VALUE = /\b(Bearer|Basic)\s+(?!\{\{)[^\s"]+/gi;

/** The words of a field name, lower-cased: `clientSecret`, `client_secret`, `Client-Secret`. */
function wordsOf(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== "");
}

/** True when a field called `name` holds a credential, in any spelling. */
export function isCredentialName(name: string): boolean {
  const words = wordsOf(name);
  if (SECRET_REFERENCES.has(words.join(" "))) return false;
  const last = (words.at(-1) ?? "").replace(/(.{3,})s$/, "$1");
  return CREDENTIAL_WORDS.has(last) || CREDENTIAL_ENDINGS.some((e) => last.endsWith(e));
}

function scrubText(text: string): string {
  return text.replace(GATEHOUSE_CREDENTIAL, REDACTED).replace(AUTH_SCHEME_VALUE, `$1 ${REDACTED}`);
}

/**
 * `value` with every credential replaced by {@link REDACTED}: the values of
 * fields named like one ({@link isCredentialName}), and Gatehouse keys and
 * `Bearer`/`Basic` credentials inside any string.
 */
export function redacted(value: unknown): unknown {
  if (typeof value === "string") return scrubText(value);
  if (Array.isArray(value)) return value.map(redacted);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map((
        [k, v],
      ) => [scrubText(k), isCredentialName(k) ? REDACTED : redacted(v)]),
    );
  }
  return value;
}

/** A redacted value, or its size and digest when it is too long to keep whole. */
function kept(value: unknown): unknown {
  const clean = redacted(value);
  const text = canonicalJson(clean);
  if (text.length <= MAX_VALUE_CHARS) return clean;
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 16);
  return `[omitted: ${text.length} characters, sha256 ${digest}]`;
}

/** `changes` as stored: credentials redacted, long values cut to their digest. */
function cleaned(changes: AuditChanges): AuditChanges {
  const out: AuditChanges = {};
  for (const [field, change] of Object.entries(changes)) {
    const secret = isCredentialName(field);
    const side = (v: unknown) => secret ? REDACTED : kept(v);
    const entry: FieldChange = {};
    if ("from" in change) entry.from = side(change.from);
    if ("to" in change) entry.to = side(change.to);
    out[scrubText(field)] = entry;
  }
  return out;
}

function name(text: string): string {
  return scrubText(text).slice(0, MAX_NAME_CHARS);
}

/**
 * The fields that differ between `before` and `after` (either may be absent:
 * a creation or a removal), each with its old and new value. `prefix` goes
 * in front of every field name (`keys.<id>.` for a part of a gateway).
 */
export function changesBetween(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  prefix = "",
): AuditChanges {
  const out: AuditChanges = {};
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const field of fields) {
    const from = before?.[field];
    const to = after?.[field];
    if (canonicalJson(from ?? null) === canonicalJson(to ?? null)) continue;
    const change: FieldChange = {};
    if (before && from !== undefined) change.from = from;
    if (after && to !== undefined) change.to = to;
    out[prefix + field] = change;
  }
  return out;
}

function toEvent(r: Row): AuditEvent {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    at: r.at as string,
    actor: {
      type: r.actor_type as ActorType,
      id: (r.actor_id as string | null) ?? null,
      userId: (r.actor_user_id as string | null) ?? null,
      name: r.actor_name as string,
    },
    action: r.action as AuditAction,
    target: {
      type: r.target_type as TargetType,
      id: (r.target_id as string | null) ?? null,
      name: r.target_name as string,
    },
    changes: JSON.parse(r.changes as string),
  };
}

/** Writes and reads `audit_events`. */
export class AuditLog {
  constructor(private readonly db: SqlEngine) {}

  /**
   * Records that `actor` did `entry` in `orgId`. Call it inside the
   * transaction of the change it describes: then both land or neither does.
   */
  async record(orgId: string, actor: AuditActor, entry: AuditEntry): Promise<AuditEvent> {
    const event: AuditEvent = {
      id: newId(),
      orgId,
      at: now(),
      actor: { ...actor, name: name(actor.name) },
      action: entry.action,
      target: { ...entry.target, name: name(entry.target.name) },
      changes: cleaned(entry.changes ?? {}),
    };
    // The org's next number, read in the same statement: writes are serialised, so it is free.
    await this.db.run(
      `INSERT INTO audit_events (id, org_id, seq, at, actor_type, actor_id, actor_user_id,
         actor_name, action, target_type, target_id, target_name, changes)
       VALUES (?, ?, COALESCE((SELECT MAX(seq) FROM audit_events WHERE org_id = ?), 0) + 1,
         ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      event.id,
      orgId,
      orgId,
      event.at,
      event.actor.type,
      event.actor.id,
      event.actor.userId,
      event.actor.name,
      event.action,
      event.target.type,
      event.target.id,
      event.target.name,
      JSON.stringify(event.changes),
    );
    return event;
  }

  /**
   * A page of the events of `orgId` that pass `filter`, newest first. The
   * key is `[seq]`: the event's number in its org, as a decimal string.
   */
  async page(orgId: string, filter: AuditFilter, req: PageRequest): Promise<Page<AuditEvent>> {
    checkRequest(req, 1);
    const where = ["org_id = ?"];
    const args: (string | number)[] = [orgId];
    const add = (sql: string, ...values: (string | number)[]) => {
      where.push(sql);
      args.push(...values);
    };
    if (filter.actor !== undefined) {
      add("(actor_id = ? OR actor_user_id = ?)", filter.actor, filter.actor);
    }
    if (filter.action !== undefined) add("action = ?", filter.action);
    if (filter.actionPrefix !== undefined) {
      // A range, so the index on action serves it: '/' is the character after '.'.
      const p = filter.actionPrefix;
      add("action >= ? AND action < ?", p, p.slice(0, -1) + "/");
    }
    if (filter.targetType !== undefined) add("target_type = ?", filter.targetType);
    if (filter.targetId !== undefined) add("target_id = ?", filter.targetId);
    if (filter.since !== undefined) add("at >= ?", filter.since);
    if (filter.until !== undefined) add("at < ?", filter.until);
    if (req.after) {
      if (!/^[0-9]{1,15}$/.test(req.after[0])) {
        throw new RangeError("an audit page key is a number");
      }
      add("seq < ?", Number(req.after[0]));
    }
    const rows = await this.db.all(
      `SELECT * FROM audit_events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
      ...args,
      req.limit + 1,
    );
    return pageOf(rows, req.limit, (r) => [String(r.seq)], toEvent);
  }
}
