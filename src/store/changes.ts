/**
 * Change notices from the store, so that caches above it (gateway lookups,
 * tool lists, keys, org settings) are invalidated on write and open MCP
 * sessions can be told their tool list changed.
 *
 * With several replicas on one database every notice is also relayed to the
 * others (see `replicas.ts`), which hear it through {@link ChangeFeed.receive}
 * as if it were their own; after losing that link a replica hears
 * {@link ChangeFeed.onResync}: whatever it cached may be stale.
 *
 * @module
 */

/** What changed: the gateways whose MCP-visible state (tools, auth, endpoint) is affected. */
export interface Change {
  gatewayIds: string[];
}

/**
 * The principal id of a person signed in with their password (the `basic`
 * gateway auth method): what the store announces as revoked when that
 * person's password or membership changes.
 */
export function userPrincipalId(userId: string): string {
  return `user:${userId}`;
}

/**
 * Cached state that belongs to no one gateway, kept fresh by counters the
 * repositories hold: gateway keys, org settings, memberships, passwords,
 * and the vault's decrypted secrets.
 */
export type StaleTopic = "keys" | "settings" | "members" | "passwords" | "secrets";

/** One notice as it travels between replicas. */
export type Notice =
  | { kind: "gateways"; ids: string[] }
  | { kind: "revoked"; id: string }
  | { kind: "stale"; topic: StaleTopic }
  | { kind: "server"; id: string }
  | { kind: "sessions"; ids: string[]; ended: boolean };

/** A listener for {@link Change}s. */
export type ChangeListener = (change: Change) => void;

/**
 * Runs a notice now or later: the store passes its engine's `afterCommit`,
 * so that a notice given inside a transaction waits for its commit.
 */
export type Deferral = (notice: () => void) => void;

/**
 * Hands a notice to the other replicas. Called in the writer's context (inside
 * its transaction, so the others hear it at commit and never for a rollback).
 */
export type Relay = (notice: Notice) => void;

/** Fans change notices out to listeners, synchronously, after the write committed. */
export class ChangeFeed {
  #listeners = new Set<ChangeListener>();
  #revokedListeners = new Set<(principalId: string) => void>();
  #staleListeners = new Map<StaleTopic, Set<() => void>>();
  #serverListeners = new Set<(serverId: string) => void>();
  #sessionListeners = new Set<(sessionIds: string[], ended: boolean) => void>();
  #resyncListeners = new Set<() => void>();
  readonly #defer: Deferral;
  #relay: Relay = () => {};
  /** Increments on every change; caches compare it to know whether they are stale. */
  version = 0;

  /** A feed whose notices go out when `defer` runs them (at once by default). */
  constructor(defer: Deferral = (notice) => notice()) {
    this.#defer = defer;
  }

  /** Sends every notice from now on to the other replicas through `relay` too. */
  relayTo(relay: Relay): void {
    this.#relay = relay;
  }

  /** Registers `fn`; returns a function that unregisters it. */
  subscribe(fn: ChangeListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Registers `fn` to hear of revoked credentials (a gateway key id, an OAuth
   * grant id, a {@link userPrincipalId}): what was opened with them must end.
   * Returns the unsubscriber.
   */
  onRevoked(fn: (principalId: string) => void): () => void {
    this.#revokedListeners.add(fn);
    return () => this.#revokedListeners.delete(fn);
  }

  /** Registers `fn` to run whenever the state of `topic` changes here or on another replica. */
  onStale(topic: StaleTopic, fn: () => void): () => void {
    let set = this.#staleListeners.get(topic);
    if (!set) this.#staleListeners.set(topic, set = new Set());
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * Registers `fn` to hear of upstream servers created, changed or deleted
   * by another replica (this one's API applies its own before answering).
   */
  onServerChanged(fn: (serverId: string) => void): () => void {
    this.#serverListeners.add(fn);
    return () => this.#serverListeners.delete(fn);
  }

  /**
   * Registers `fn` to hear of stored MCP sessions another replica changed
   * (their log level) or `ended` (deleted, expired).
   */
  onSessionsChanged(fn: (sessionIds: string[], ended: boolean) => void): () => void {
    this.#sessionListeners.add(fn);
    return () => this.#sessionListeners.delete(fn);
  }

  /**
   * Registers `fn` to run when notices from other replicas may have been
   * missed (the link to them was lost and is back): every cache is stale.
   */
  onResync(fn: () => void): () => void {
    this.#resyncListeners.add(fn);
    return () => this.#resyncListeners.delete(fn);
  }

  /** Announces that the credential `principalId` was revoked. */
  revoked(principalId: string): void {
    this.#relay({ kind: "revoked", id: principalId });
    this.#defer(() => this.#revokedHere(principalId));
  }

  /** Announces that `gatewayIds` changed. */
  emit(gatewayIds: string[]): void {
    this.#relay({ kind: "gateways", ids: gatewayIds });
    this.#defer(() => this.#changedHere(gatewayIds));
  }

  /**
   * Announces that the state of `topic` changed. Its listeners run at once,
   * before the writer's caller hears of the write, so a lookup that began
   * before it is never cached after it; and again at commit, since a lookup
   * that began in between may have read what was there before (PostgreSQL
   * reads the last commit while a transaction writes).
   */
  stale(topic: StaleTopic): void {
    this.#relay({ kind: "stale", topic });
    this.#staleHere(topic);
    this.#defer(() => this.#staleHere(topic));
  }

  /** Tells the other replicas that upstream server `serverId` was created, changed or deleted. */
  serverChanged(serverId: string): void {
    this.#relay({ kind: "server", id: serverId });
  }

  /** Tells the other replicas that stored MCP sessions changed or `ended`. */
  sessionsChanged(sessionIds: string[], ended: boolean): void {
    this.#relay({ kind: "sessions", ids: sessionIds, ended });
  }

  /** Hears `notice` from another replica (already committed there). */
  receive(notice: Notice): void {
    switch (notice.kind) {
      case "gateways":
        return this.#changedHere(notice.ids);
      case "revoked":
        return this.#revokedHere(notice.id);
      case "stale":
        return this.#staleHere(notice.topic);
      case "server":
        for (const fn of [...this.#serverListeners]) fn(notice.id);
        return;
      case "sessions":
        for (const fn of [...this.#sessionListeners]) fn(notice.ids, notice.ended);
    }
  }

  /**
   * Tells every listener that notices may have been missed: every topic is
   * stale, and the resync listeners drop whatever they cached.
   */
  resync(): void {
    this.version++;
    for (const topic of this.#staleListeners.keys()) this.#staleHere(topic);
    for (const fn of [...this.#resyncListeners]) fn();
  }

  #changedHere(gatewayIds: string[]): void {
    this.version++;
    for (const fn of [...this.#listeners]) fn({ gatewayIds });
  }

  #revokedHere(principalId: string): void {
    for (const fn of [...this.#revokedListeners]) fn(principalId);
  }

  #staleHere(topic: StaleTopic): void {
    for (const fn of [...this.#staleListeners.get(topic) ?? []]) fn();
  }
}
