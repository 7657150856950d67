/**
 * Starting and stopping a Gatehouse server: open the store, run first-run
 * setup, listen, and shut down gracefully.
 *
 * @module
 */
import { createApp, defaultSupervisor } from "./app.ts";
import { Drain } from "./drain.ts";
import { refuseMalformedPath } from "./path_guard.ts";
import { bootstrap, type BootstrapResult } from "./bootstrap.ts";
import type { Config } from "./config.ts";
import { SecretCipher } from "./secrets/cipher.ts";
import { type LoadedSecretKey, loadSecretKey } from "./secrets/key.ts";
import { vaultFor } from "./secrets/vault.ts";
import { openConfiguredStore, type Store } from "./store/store.ts";
import type { RequestLogWriter } from "./telemetry/request_log.ts";
import type { Telemetry } from "./telemetry/requests.ts";
import type { ExecutorRegistry } from "./tools/executor.ts";
import { OrgOutboundPolicies, OutboundGuard } from "./tools/outbound_policy.ts";
import { defaultExecutors } from "./tools/registry.ts";

/** A running server. */
export interface RunningServer {
  /** The base URL it listens on (`http://host:port`). */
  url: string;
  /** The store it serves. */
  store: Store;
  /** What first-run setup did. */
  setup: BootstrapResult;
  /** Where every MCP request's record goes (request log, metrics, traces). */
  telemetry: Telemetry;
  /** The request log's writer; absent when request logging is off (`GATEHOUSE_REQUEST_LOG=off`). */
  requestLog?: RequestLogWriter;
  /** Where the vault key came from (`main.ts` prints the notice when a key file was created). */
  secretKey: Omit<LoadedSecretKey, "bytes">;
  /** Finishes in-flight requests, stops listening and closes the database. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/**
 * Opens the store under `config.dataDir` and starts listening. Without
 * `executors`, tools run on the default executors with the vault's secrets
 * and the orgs' outbound policies. Throws a `ConfigError` when the vault key
 * is unusable or is not the one the stored secrets were encrypted with.
 */
export async function startServer(
  config: Config,
  executors?: ExecutorRegistry,
): Promise<RunningServer> {
  const inMemory = config.dbPath === ":memory:";
  if (!inMemory) await Deno.mkdir(config.dataDir, { recursive: true });
  const { bytes, ...secretKey } = await loadSecretKey(
    inMemory ? ":memory:" : config.dataDir,
    config.secretKey,
  );
  const store = await openConfiguredStore(config);
  const guard = new OutboundGuard();
  const policies = new OrgOutboundPolicies(store);
  const vault = vaultFor(store, new SecretCipher(bytes), guard, policies);
  try {
    await vault.verifyKey(
      secretKey.source === "env" ? "GATEHOUSE_SECRET_KEY" : secretKey.path ?? "a throwaway key",
    );
  } catch (err) {
    await store.close();
    throw err;
  }
  const setup = await bootstrap(store, config.adminKey);
  const owned = executors === undefined;
  executors ??= defaultExecutors({
    secrets: vault,
    guard,
    outbound: (orgId) => policies.get(orgId),
  });
  const upstreams = defaultSupervisor(store, config, vault, guard, policies);
  const { fetch, mcp, forwarder, importPool, requestLog } = createApp({
    store,
    config,
    executors,
    vault,
    upstreams,
  });
  // Its creation holds up this thread: now, rather than during the first import.
  importPool.warm();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const drain = new Drain();
  const server = Deno.serve(
    {
      hostname: config.host,
      port: config.port,
      onListen: (addr) => resolve(addr),
      reusePort: false,
    },
    (req, info) => refuseMalformedPath(req) ?? drain.track(() => fetch(req, info)),
  );
  const addr = await listening;
  // Upstream servers connect in the background: a slow or dead one must not delay start-up.
  void upstreams.start(await store.servers.all());
  requestLog?.start();
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    // Let running requests finish (new ones get 503), then end the sessions,
    // whose open streams never finish on their own, then stop listening.
    stopping ??= (async () => {
      await drain.idle(10_000);
      // Imports still running (asynchronous ones) end unstored, before the store closes.
      await importPool.close();
      mcp.dispose();
      await server.shutdown();
      // Stdio servers' processes (and their children) end with Gatehouse.
      await forwarder.close();
      await upstreams.close();
      if (owned) {
        for (const e of executors.values()) e.close?.();
      }
      guard.close();
      // Last before the store closes: every request has ended, so every record is in.
      await requestLog?.close();
      await store.close();
    })();
    return stopping;
  };
  return {
    url: `http://${host}:${addr.port}`,
    store,
    setup,
    telemetry: mcp.telemetry,
    ...(requestLog ? { requestLog } : {}),
    secretKey,
    shutdown,
    finished: server.finished.then(() => stopping),
  };
}
