/**
 * The audit trail in the management API: {@link audited}, which the route
 * modules wrap around each write so that its event is written in the same
 * transaction, the actors and targets events name, and the route
 * `GET /audit`, where an org's owners and admins read its events.
 *
 * Reading is for owners and admins only: events name every member's email
 * and the addresses sign-ins came from, and show what members did, which a
 * viewer or member has no business watching. There is no route that changes
 * or deletes an event.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Api, ImportOutcome } from "../store/apis.ts";
import {
  AUDIT_ACTIONS,
  type AuditActor,
  type AuditEntry,
  type AuditEvent,
  type AuditFilter,
  type AuditTarget,
  changesBetween,
  TARGET_TYPES,
  type TargetType,
} from "../store/audit.ts";
import type { Store } from "../store/store.ts";
import type { User } from "../store/users.ts";
import type { ApiDeps, ApiEnv, Principal } from "./context.ts";
import { invalid } from "./errors.ts";
import { type AuditFilterName, listQuery, LISTS } from "./lists.ts";
import { requireRole } from "./principal.ts";

/** The actor of a request made with an access key: the key, acting as its holder. */
export function actorOf(p: Principal): AuditActor {
  return { type: "access_key", id: p.keyId, userId: p.user.id, name: p.user.email };
}

/** The actor of a person signing in (or joining) with their password. */
export function userActor(user: User): AuditActor {
  return { type: "user", id: user.id, userId: user.id, name: user.email };
}

/** The target of an event about `record` of kind `type`, named by its `name`. */
export function targetOf(type: TargetType, record: { id: string; name: string }): AuditTarget {
  return { type, id: record.id, name: record.name };
}

/** The account `user` as a target (members, passwords, sign-ins). */
export function userTarget(user: { id: string; email: string }): AuditTarget {
  return { type: "user", id: user.id, name: user.email };
}

/** What a change notes of itself, from inside its transaction (awaited: it writes the event). */
export type Note = (entry: AuditEntry) => Promise<void>;

/**
 * Runs `write` in one transaction with the events it notes, as the
 * request's caller in the caller's org: the change and its events land
 * together, or (when anything throws) neither does.
 */
export function audited<T>(
  c: Context<ApiEnv>,
  store: Store,
  write: (note: Note) => Promise<T>,
): Promise<T> {
  const p = c.get("principal");
  const actor = actorOf(p);
  return store.tx(() =>
    write(async (entry) => {
      await store.audit.record(p.org.id, actor, entry);
    })
  );
}

/**
 * The fields of a stored record a change can touch: all of them but its
 * identity and timestamps, which every record has and no change sets.
 */
export function settable(record: object): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...record };
  for (const name of ["id", "orgId", "createdAt", "updatedAt"]) delete fields[name];
  return fields;
}

/**
 * The event of an import of an API (`before` absent) or of a re-import of
 * `before`: the document named by its hash, its tools by how many were
 * created, updated and removed.
 */
export function importEvent(before: Api | undefined, outcome: ImportOutcome): AuditEntry {
  const counts = Object.entries(outcome.counts).filter(([, n]) => n > 0)
    .map(([kind, n]) => [`tools.${kind}`, { to: n }]);
  return {
    action: before ? "api.reimport" : "api.import",
    target: targetOf("api", outcome.api),
    changes: {
      ...changesBetween(before && settable(before), settable(outcome.api)),
      ...Object.fromEntries(counts),
    },
  };
}

/** Runs `write`, deleting API `apiId` (false when not found), with its event. */
export function auditedApiDelete(
  c: Context<ApiEnv>,
  store: Store,
  apiId: string,
  write: () => Promise<boolean>,
): Promise<boolean> {
  return audited(c, store, async (note) => {
    const api = await store.apis.get(c.get("principal").org.id, apiId);
    if (!api || !await write()) return false;
    await note({
      action: "api.delete",
      target: targetOf("api", api),
      changes: changesBetween(settable(api), undefined),
    });
    return true;
  });
}

/** An ISO-8601 date or date-time (with a zone when it has a time). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `value` of query parameter `field` as an ISO-8601 time (UTC); a 400 naming it otherwise. */
export function isoTime(field: string, value: string): string {
  const t = ISO_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw invalid(field, `${field} must be an ISO-8601 time, like 2026-01-31T12:00:00Z`);
  }
  return new Date(t).toISOString();
}

/** The store's filter for the query's filters, each checked (a bad one is a 400 naming it). */
function filterOf(given: { [K in AuditFilterName]?: string }): AuditFilter {
  const filter: AuditFilter = { actor: given.actor, targetId: given.targetId };
  const action = given.action;
  if (action !== undefined) {
    if (action.endsWith(".") && AUDIT_ACTIONS.some((a) => a.startsWith(action))) {
      filter.actionPrefix = action;
    } else if ((AUDIT_ACTIONS as readonly string[]).includes(action)) {
      filter.action = action;
    } else {
      throw invalid(
        "action",
        "action must be an action (such as gateway.create) or the start of some ending in " +
          "'.' (such as gateway.); the actions are " + AUDIT_ACTIONS.join(", "),
      );
    }
  }
  if (given.targetType !== undefined) {
    if (!(TARGET_TYPES as readonly string[]).includes(given.targetType)) {
      throw invalid("targetType", `targetType must be one of: ${TARGET_TYPES.join(", ")}`);
    }
    filter.targetType = given.targetType;
  }
  if (given.since !== undefined) filter.since = isoTime("since", given.since);
  if (given.until !== undefined) filter.until = isoTime("until", given.until);
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
    throw invalid("until", "until must be later than since");
  }
  return filter;
}

/** An event as the API shows it. */
export function presentEvent(event: AuditEvent) {
  const { orgId: _orgId, ...rest } = event;
  return rest;
}

/** The `/audit` route. */
export function auditRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  // A page of the org's events, newest first, narrowed by the filters given (see lists.ts).
  app.get("/", async (c) => {
    const p = requireRole(c, "admin");
    const query = listQuery(c, LISTS.audit, [p.org.id]);
    const filter = filterOf(query.filter);
    // The cursor is only checked to be this list's; its key must also be an event number.
    const after = query.page.after?.[0];
    if (after !== undefined && !/^[0-9]{1,15}$/.test(after)) {
      throw invalid("cursor", "cursor is not a cursor of this list");
    }
    const page = await store.audit.page(p.org.id, filter, query.page);
    return c.json(query.answer("events", page.items.map(presentEvent), page.next));
  });

  return app;
}
