/**
 * Change notices from the store, so that caches above it (gateway lookups,
 * tool lists) are invalidated on write and open MCP sessions can be told
 * their tool list changed.
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

/** A listener for {@link Change}s. */
export type ChangeListener = (change: Change) => void;

/**
 * Runs a notice now or later: the store passes its engine's `afterCommit`,
 * so that a notice given inside a transaction waits for its commit.
 */
export type Deferral = (notice: () => void) => void;

/** Fans change notices out to listeners, synchronously, after the write committed. */
export class ChangeFeed {
  #listeners = new Set<ChangeListener>();
  #revokedListeners = new Set<(principalId: string) => void>();
  readonly #defer: Deferral;
  /** Increments on every change; caches compare it to know whether they are stale. */
  version = 0;

  /** A feed whose notices go out when `defer` runs them (at once by default). */
  constructor(defer: Deferral = (notice) => notice()) {
    this.#defer = defer;
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

  /** Announces that the credential `principalId` was revoked. */
  revoked(principalId: string): void {
    this.#defer(() => {
      for (const fn of this.#revokedListeners) fn(principalId);
    });
  }

  /** Announces that `gatewayIds` changed. */
  emit(gatewayIds: string[]): void {
    this.#defer(() => {
      this.version++;
      for (const fn of this.#listeners) fn({ gatewayIds });
    });
  }
}
