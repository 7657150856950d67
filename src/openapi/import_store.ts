/**
 * The last step of an OpenAPI import: its API and tools written to the
 * store in one transaction with its audit event, and the answer the API
 * gives for it.
 *
 * It runs in the import worker, on a connection of its own to the database
 * file: a large document's tools (Kubernetes': 845 tools, 10 MB of rows)
 * take SQLite 100 to 200 ms to write and sync, which on the thread that
 * answers requests would stall every one of them. WAL readers are never
 * blocked by a writer, so requests keep being served meanwhile; another
 * write waits for this one to commit. A store in memory cannot be shared
 * with a worker: then the main thread runs this with the tools the worker
 * sent it.
 *
 * @module
 */
import { importEvent } from "../api/audit.ts";
import { invalid, notFound } from "../api/errors.ts";
import { presentApi, presentApiTool } from "../api/present.ts";
import type { AuditActor } from "../store/audit.ts";
import type { ImportOutcome } from "../store/apis.ts";
import type { Store } from "../store/store.ts";
import { contextCost } from "./context_cost.ts";
import type { PreparedImport } from "./import_task.ts";

/** Where an import is written, and on whose behalf. */
export interface ImportTarget {
  orgId: string;
  /** Who the audit event names. */
  actor: AuditActor;
  /** The API re-imported; absent for a new one. */
  apiId?: string;
}

/** A written import: the status and body its request is answered with. */
export interface StoredImport {
  status: 200 | 201;
  body: Record<string, unknown>;
  /** Gateways whose tool lists changed, for the main thread's change notices. */
  gateways: string[];
}

/**
 * Checks that the secret an import names, if any, exists in `orgId`: a typo
 * would otherwise surface only when a model calls a tool. Throws `ApiError` 400.
 */
export async function checkSecret(
  store: Store,
  orgId: string,
  secret: string | undefined,
): Promise<void> {
  if (secret !== undefined && !await store.secrets.byName(orgId, secret)) {
    throw invalid(
      "secret",
      `no secret named '${secret}' in this organization; create it with POST /secrets first`,
    );
  }
}

/**
 * Writes `prepared` for `target` in one transaction with its audit event.
 * Throws `ApiError` 400 when its secret is gone, 404 when a re-imported API
 * is (deleted while its document was converted), and `ConflictError` when
 * the name is taken.
 */
export async function storeImport(
  store: Store,
  target: ImportTarget,
  prepared: PreparedImport,
): Promise<StoredImport> {
  const { orgId, actor, apiId } = target;
  const { input, ops } = prepared;
  const outcome = await store.tx(async () => {
    await checkSecret(store, orgId, input.secret ?? undefined);
    const before = apiId === undefined ? undefined : await store.apis.get(orgId, apiId);
    if (apiId !== undefined && !before) throw notFound("API");
    const outcome = before
      ? await store.apis.replace(orgId, before.id, input, ops)
      : await store.apis.create(orgId, input, ops);
    if (!outcome) throw notFound("API");
    await store.audit.record(orgId, actor, importEvent(before, outcome));
    return outcome;
  });
  return {
    status: apiId === undefined ? 201 : 200,
    body: presentImport(outcome, prepared),
    gateways: outcome.gateways,
  };
}

/** An import's answer: the API, its tools, what changed, the context cost and every warning. */
function presentImport(outcome: ImportOutcome, { ops, warnings, limits }: PreparedImport) {
  const { cost, warnings: costWarnings } = contextCost(ops, outcome.tools, limits);
  return {
    ...presentApi(outcome.api, outcome.tools.length),
    tools: outcome.tools.map(presentApiTool),
    ...outcome.counts,
    contextCost: cost,
    warnings: [...warnings, ...costWarnings],
  };
}
