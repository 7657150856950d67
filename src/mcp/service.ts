/**
 * The MCP side of Gatehouse as one object the transports share: gateway
 * lookup, the dispatcher, the session registry, and the fan-out of
 * `notifications/tools/list_changed` when a gateway's tools change.
 *
 * @module
 */
import type { Gateway } from "../store/gateways.ts";
import type { Store } from "../store/store.ts";
import type { ExecutorRegistry } from "../tools/executor.ts";
import { ToolCatalog } from "./catalog.ts";
import { Dispatcher } from "./dispatcher.ts";
import { notification } from "./jsonrpc.ts";
import { type SessionLimits, SessionRegistry } from "./session.ts";

/** Settings of the MCP service. */
export interface McpOptions extends SessionLimits {
  /** Tools per `tools/list` page. */
  pageSize: number;
  /** Cache lifetime stateless clients are given for list results, in ms. */
  listTtlMs: number;
}

/** Defaults for {@link McpOptions}. */
export const DEFAULT_MCP_OPTIONS: McpOptions = {
  idleTimeoutMs: 30 * 60_000,
  maxPerGateway: 1000,
  maxPerPrincipal: 1000,
  pageSize: 100,
  listTtlMs: 30_000,
};

/** A gateway found by its MCP path. */
export interface ResolvedGateway {
  gateway: Gateway;
  orgSlug: string;
}

/** Gateway lookup, protocol core and sessions, shared by every transport. */
export class McpService {
  readonly catalog: ToolCatalog;
  readonly dispatcher: Dispatcher;
  readonly sessions: SessionRegistry;
  #gateways = new Map<string, ResolvedGateway>();
  #unsubscribe: () => void;
  #unsubscribeRevoked: () => void;

  /** Builds the service over `store`, running tools with `executors`. */
  constructor(readonly store: Store, executors: ExecutorRegistry, readonly options: McpOptions) {
    this.catalog = new ToolCatalog(store);
    this.dispatcher = new Dispatcher({
      catalog: this.catalog,
      executors,
      pageSize: options.pageSize,
      listTtlMs: options.listTtlMs,
    });
    this.sessions = new SessionRegistry(options);
    this.#unsubscribe = store.changes.subscribe(({ gatewayIds }) => this.#changed(gatewayIds));
    // A revoked credential ends its sessions now, open streams and sockets included.
    this.#unsubscribeRevoked = store.changes.onRevoked((id) => this.sessions.closePrincipal(id));
  }

  /** The gateway at `/mcp/{orgSlug}{endpoint}`, if any. Cached until the next change. */
  resolve(orgSlug: string, endpoint: string): ResolvedGateway | undefined {
    const key = `${orgSlug}\n${endpoint}`;
    let hit = this.#gateways.get(key);
    if (!hit) {
      const gateway = this.store.gateways.byPath(orgSlug, endpoint);
      if (!gateway) return undefined;
      hit = { gateway, orgSlug };
      this.#gateways.set(key, hit);
    }
    return hit;
  }

  #changed(gatewayIds: string[]): void {
    this.#gateways.clear();
    for (const id of gatewayIds) {
      if (!this.store.gateways.exists(id)) {
        this.sessions.closeGateway(id);
        continue;
      }
      const msg = notification("notifications/tools/list_changed");
      for (const s of this.sessions.forGateway(id)) s.outbound?.(msg);
    }
  }

  /** Closes every session and stops listening to the store. */
  dispose(): void {
    this.#unsubscribe();
    this.#unsubscribeRevoked();
    this.sessions.dispose();
  }
}
