/**
 * The whole HTTP surface of Gatehouse as one Hono app: health, the OpenAPI
 * description, the management API and the MCP endpoints.
 *
 * @module
 */
import { Hono } from "hono";
import { mountApi } from "./api/app.ts";
import { errorBody, handleError } from "./api/errors.ts";
import { openApiDocument } from "./api/openapi.ts";
import type { Config } from "./config.ts";
import type { Store } from "./store/store.ts";

/** What the app is built from. */
export interface AppDeps {
  store: Store;
  config: Config;
}

/** Builds the app. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) =>
    c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404)
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get(
    "/readyz",
    (c) =>
      deps.store.db.healthy()
        ? c.json({ status: "ready", database: "ok" })
        : c.json({ status: "unavailable", database: "unreachable" }, 503),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  mountApi(app, deps);
  return app;
}
