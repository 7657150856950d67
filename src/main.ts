/**
 * `deno task start`: runs a Gatehouse server until SIGINT or SIGTERM.
 *
 * @module
 */
import { ConfigError, loadConfig } from "./config.ts";
import { keyFileNotice } from "./secrets/key.ts";
import { startServer } from "./server.ts";
import { installJsonLogs } from "./telemetry/logger.ts";

async function main(): Promise<void> {
  // Before the settings are read, so that a refusal of them is a JSON line too.
  if (Deno.env.get("GATEHOUSE_LOG_FORMAT") === "json") installJsonLogs();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`gatehouse: ${err.message}`);
    Deno.exit(2);
  }
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    // A vault key that is malformed or does not match the stored secrets: say so, no stack trace.
    if (!(err instanceof ConfigError)) throw err;
    console.error(`gatehouse: ${err.message}`);
    Deno.exit(2);
  }
  if (server.secretKey.created && server.secretKey.path) {
    console.warn(keyFileNotice(server.secretKey.path));
  }
  for (const warning of server.secretKey.warnings) console.warn(`gatehouse: ${warning}`);
  // A wildcard listen address is not somewhere to send requests; loopback is.
  const base = config.publicUrl ??
    server.url.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, "//127.0.0.1");
  console.log(
    `Gatehouse listening on ${server.url} (data: ${
      config.databaseUrl ? "PostgreSQL" : config.dbPath
    })`,
  );
  if (server.setup.firstRun) {
    const key = server.setup.adminKey!;
    // JSON logs go where secrets must not: there the key is not shown (GATEHOUSE_ADMIN_KEY
    // sets one of the operator's own, on this start or any later one).
    const json = config.logFormat === "json";
    const fixed = config.adminKey !== undefined || json;
    const shown = config.adminKey
      ? "(the value of GATEHOUSE_ADMIN_KEY)"
      : json
      ? "(not shown in JSON logs; restart with GATEHOUSE_ADMIN_KEY set to a key of your own)"
      : key;
    console.log(
      [
        "",
        "First run: created organization 'default' and its owner.",
        `Admin access key (shown once, store it now): ${shown}`,
        "",
        "Try it:",
        `  curl -H "Authorization: Bearer ${
          fixed ? "$GATEHOUSE_ADMIN_KEY" : key
        }" ${base}/gateways`,
        "",
        `Admin UI: ${base}/ui`,
        '  The first time, choose "Set the owner\'s password" there and give it the admin key.',
        "",
      ].join("\n"),
    );
  }
  let signalled = false;
  const stop = () => {
    if (signalled) return;
    signalled = true;
    console.log("Shutting down: finishing in-flight requests...");
    server.shutdown().then(
      () => console.log("Stopped."),
      (err) => {
        console.error("Shutdown failed:", err);
        Deno.exit(1);
      },
    );
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

if (import.meta.main) await main();
