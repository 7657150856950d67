/**
 * What happens to a server's listing: it is stored (pinning what was seen,
 * see `src/store/server_items.ts`), and the gateways that serve the server
 * are told when their items or the server's capabilities changed.
 *
 * @module
 */
import type { UpstreamServer } from "../store/servers.ts";
import type { Store } from "../store/store.ts";
import { canonicalJson } from "../util/json.ts";
import type { Listed } from "./supervisor.ts";

/** The supervisor's `onListed` for `store`. */
export function storeListings(store: Store): Listed {
  const seenCapabilities = new Map<string, string>();
  return async (server: UpstreamServer, listing, capabilities, eras) => {
    // A listing that arrives after the server was deleted has nowhere to go (checked in the
    // write's transaction, so the server cannot go in between).
    const changed = await store.tx(async () =>
      await store.servers.find(server.id)
        ? await store.serverItems.sync(server, listing)
        : undefined
    );
    if (changed === undefined) return;
    const caps = canonicalJson([
      capabilities,
      eras.statelessCapabilities ?? null,
      [...eras.eraOnly.legacy].sort(),
      [...eras.eraOnly.stateless].sort(),
    ]);
    // Capabilities decide what a gateway offers (completions, logging) even when items did not
    // move; so does which era lists what.
    if (!changed && seenCapabilities.get(server.id) !== caps) {
      store.changes.emit(await store.serverItems.gatewaysOf(server.id));
    }
    seenCapabilities.set(server.id, caps);
  };
}
