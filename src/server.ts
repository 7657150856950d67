/**
 * Starting and stopping a Gatehouse server: open the store, run first-run
 * setup, listen, and shut down gracefully.
 *
 * @module
 */
import { createApp } from "./app.ts";
import { bootstrap, type BootstrapResult } from "./bootstrap.ts";
import type { Config } from "./config.ts";
import { Store } from "./store/store.ts";
import type { ExecutorRegistry } from "./tools/executor.ts";
import { defaultExecutors } from "./tools/registry.ts";

/** A running server. */
export interface RunningServer {
  /** The base URL it listens on (`http://host:port`). */
  url: string;
  /** The store it serves. */
  store: Store;
  /** What first-run setup did. */
  setup: BootstrapResult;
  /** Finishes in-flight requests, stops listening and closes the database. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Opens the store under `config.dataDir` and starts listening. */
export async function startServer(
  config: Config,
  executors: ExecutorRegistry = defaultExecutors(),
): Promise<RunningServer> {
  if (config.dbPath !== ":memory:") await Deno.mkdir(config.dataDir, { recursive: true });
  const store = new Store(config.dbPath);
  const setup = bootstrap(store, config.adminKey);
  const { app, mcp } = createApp({ store, config, executors });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    {
      hostname: config.host,
      port: config.port,
      onListen: (addr) => resolve(addr),
      reusePort: false,
    },
    app.fetch,
  );
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    // Open streams never finish on their own: end the sessions first, then drain.
    stopping ??= (async () => {
      mcp.dispose();
      await server.shutdown();
      store.close();
    })();
    return stopping;
  };
  return {
    url: `http://${host}:${addr.port}`,
    store,
    setup,
    shutdown,
    finished: server.finished.then(() => stopping),
  };
}
