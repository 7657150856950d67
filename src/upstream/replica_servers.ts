/**
 * Keeps a replica's upstream connections in step with servers that other
 * replicas create, change and delete: this replica's own API restarts the
 * connection before answering; the others hear of it through the change
 * feed and do the same. After a resync (notices may have been missed) the
 * whole set is compared with the store.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { Forwarder } from "./forwarder.ts";
import type { Supervisor } from "./supervisor.ts";

/**
 * Applies other replicas' server changes to `upstreams` and `forwarder`, for
 * as long as the store is open.
 */
export function followServers(store: Store, upstreams: Supervisor, forwarder: Forwarder): void {
  // One at a time, in the order heard: a change and a deletion right after it must not cross.
  let queue: Promise<void> = Promise.resolve();
  const then = (what: string, work: () => Promise<void>) => {
    queue = queue.then(work).catch((err) =>
      console.error(`following another replica's ${what} failed:`, err)
    );
  };
  const apply = async (id: string) => {
    const server = await store.servers.find(id);
    if (server && upstreams.server(id)?.updatedAt === server.updatedAt) return;
    await forwarder.forget(id);
    if (server) await upstreams.upsert(server);
    else await upstreams.remove(id);
  };
  store.changes.onServerChanged((id) => then("server change", () => apply(id)));
  store.changes.onResync(() =>
    then("servers", async () => {
      const ids = new Set([
        ...upstreams.serverIds(),
        ...(await store.servers.all()).map((s) => s.id),
      ]);
      for (const id of ids) await apply(id);
    })
  );
}
