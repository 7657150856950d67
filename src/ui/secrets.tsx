/** Stub. @module */
import { Hono } from "hono";
import type { UiDeps, UiEnv } from "./context.ts";
import { Page } from "./layout.tsx";
/** Stub. */
export function secretRoutes(_deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", (c) =>
    c.html(
      <Page ui={c.get("ui")} title="secrets" section="/ui/secrets">
        <p>soon</p>
      </Page>,
    ));
  return app;
}
