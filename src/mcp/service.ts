/**
 * The MCP side of Gatehouse as one object the transports share: gateway
 * lookup, the dispatcher, the session registry, and the fan-out of
 * `list_changed` notifications when what a gateway serves changes.
 *
 * @module
 */
import type { Gateway } from "../store/gateways.ts";
import type { Store } from "../store/store.ts";
import { Catalog } from "./catalog.ts";
import { gatewayRateLimitsOf, RequestLimits } from "../limits/request_limits.ts";
import { Telemetry } from "../telemetry/requests.ts";
import { Dispatcher } from "./dispatcher.ts";
import { notification } from "./jsonrpc.ts";
import { ParkedCalls } from "./parked_calls.ts";
import { type SessionLimits, SessionRegistry } from "./session.ts";
import type { CatalogSource } from "./source.ts";

/** Settings of the MCP service. */
export interface McpOptions extends SessionLimits {
  /** Tools per `tools/list` page. */
  pageSize: number;
  /** Bytes of JSON per list page, unless its one item is larger. */
  pageBytes: number;
  /** Cache lifetime stateless clients are given for list results, in ms. */
  listTtlMs: number;
}

/** Defaults for {@link McpOptions}. */
export const DEFAULT_MCP_OPTIONS: McpOptions = {
  idleTimeoutMs: 30 * 60_000,
  maxPerGateway: 1000,
  maxPerPrincipal: 1000,
  pageSize: 100,
  pageBytes: 1024 * 1024,
  listTtlMs: 30_000,
};

/** A gateway found by its MCP path. */
export interface ResolvedGateway {
  gateway: Gateway;
  orgSlug: string;
}

/** Gateway lookup, protocol core and sessions, shared by every transport. */
export class McpService {
  readonly catalog: Catalog;
  readonly dispatcher: Dispatcher;
  readonly sessions: SessionRegistry;
  /** Stateless calls waiting for their clients' input (multi round-trip requests). */
  readonly parked = new ParkedCalls();
  /** Where every MCP request's record goes; sinks are added by whoever keeps records. */
  readonly telemetry = new Telemetry();
  /** The rate limits of every gateway and their counters (in memory, per process). */
  readonly limits: RequestLimits;
  #gateways = new Map<string, ResolvedGateway>();
  /** Increments on every change, so a lookup a change overtook is not cached. */
  #generation = 0;
  /** The handling of changes, one after another in the order they were committed. */
  #changes: Promise<void> = Promise.resolve();
  #disposed = false;
  #unsubscribe: () => void;
  #unsubscribeRevoked: () => void;
  #unsubscribeResync: () => void;
  #unsubscribeSessions: () => void;

  /** Builds the service over `store`, serving gateways the items of `sources`. */
  constructor(
    readonly store: Store,
    sources: readonly CatalogSource[],
    readonly options: McpOptions,
  ) {
    this.catalog = new Catalog(sources, store.changes);
    this.limits = new RequestLimits(async (id) => {
      const gateway = await store.gateways.find(id);
      return gateway && gatewayRateLimitsOf(gateway.configuration);
    }, store.changes);
    this.dispatcher = new Dispatcher({
      catalog: this.catalog,
      pageSize: options.pageSize,
      pageBytes: options.pageBytes,
      parked: this.parked,
      listTtlMs: options.listTtlMs,
      telemetry: this.telemetry,
      limits: this.limits,
    });
    // Replicas share one PostgreSQL database, and with it the Streamable HTTP sessions.
    this.sessions = new SessionRegistry(
      options,
      store.sessionMessages && { store: store.mcpSessions, messages: store.sessionMessages },
    );
    this.#unsubscribeSessions = store.changes.onSessionsChanged((ids, ended) => {
      if (ended) { for (const id of ids) this.sessions.close(id); }
      else {
        this.sessions.reload(ids).catch((err) =>
          console.error("reading MCP sessions another replica changed failed:", err)
        );
      }
    });
    this.#unsubscribe = store.changes.subscribe(({ gatewayIds }) => this.#dropped(gatewayIds));
    // A revoked credential ends its sessions now, open streams and sockets included.
    this.#unsubscribeRevoked = store.changes.onRevoked((id) => this.sessions.closePrincipal(id));
    // Changes may have been missed: whatever this replica serves is looked at again.
    this.#unsubscribeResync = store.changes.onResync(() => {
      this.#dropped([
        ...new Set([...this.sessions.gatewayIds(), ...this.catalog.listenedGateways()]),
      ]);
      this.sessions.recheck().catch((err) =>
        console.error("checking MCP sessions after a lost link to the replicas failed:", err)
      );
    });
  }

  /** Drops the lookups at once (in the commit) and tells sessions of `gatewayIds`, in turn. */
  #dropped(gatewayIds: string[]): void {
    this.#gateways.clear();
    this.#generation++;
    // Telling sessions takes the store, so it waits for the changes before it.
    this.#changes = this.#changes.then(() => this.#changed(gatewayIds)).catch((err) =>
      console.error("telling MCP sessions of a change failed:", err)
    );
  }

  /**
   * The gateway at `/mcp/{orgSlug}{endpoint}`, if any. Cached until the next
   * change: then answered from memory, not as a promise (every MCP request
   * comes here).
   */
  resolve(
    orgSlug: string,
    endpoint: string,
  ): ResolvedGateway | undefined | Promise<ResolvedGateway | undefined> {
    const key = `${orgSlug}\n${endpoint}`;
    return this.#gateways.get(key) ?? this.#lookUp(key, orgSlug, endpoint);
  }

  async #lookUp(
    key: string,
    orgSlug: string,
    endpoint: string,
  ): Promise<ResolvedGateway | undefined> {
    const generation = this.#generation;
    const gateway = await this.store.gateways.byPath(orgSlug, endpoint);
    if (!gateway) return undefined;
    const hit = { gateway, orgSlug };
    if (generation === this.#generation) this.#gateways.set(key, hit);
    return hit;
  }

  async #changed(gatewayIds: string[]): Promise<void> {
    for (const id of gatewayIds) {
      // Disposed of (shutting down): there is nobody left to tell, and the store may be closed.
      if (this.#disposed) return;
      if (!await this.store.gateways.exists(id)) {
        this.sessions.closeGateway(id);
        continue;
      }
      // Each era's view is rebuilt now, once, so only the lists that changed are announced.
      const sessions = [...this.sessions.forGateway(id)].filter((s) => s.outbound);
      if (sessions.length === 0) this.catalog.settle(id);
      else {
        for (const kind of await this.catalog.changedLists(id)) {
          const msg = notification(`notifications/${kind}/list_changed`);
          for (const s of sessions) s.outbound?.(msg);
        }
      }
      const listeners = this.catalog.listeners(id);
      if (listeners.size === 0) this.catalog.settle(id, true);
      else {
        for (const kind of await this.catalog.changedLists(id, true)) {
          for (const fn of [...listeners]) fn(kind);
        }
      }
    }
  }

  /** Closes every session and stops listening to the store. */
  dispose(): void {
    this.#disposed = true;
    this.#unsubscribe();
    this.#unsubscribeRevoked();
    this.#unsubscribeResync();
    this.#unsubscribeSessions();
    this.limits.dispose();
    this.sessions.dispose();
    this.parked.close();
  }
}
