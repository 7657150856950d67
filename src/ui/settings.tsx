/** Stub. @module */
import { Hono } from "hono";
import type { UiDeps, UiEnv } from "./context.ts";
import { Page } from "./layout.tsx";
/** Stub. */
export function settingsRoutes(_deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", (c) =>
    c.html(
      <Page ui={c.get("ui")} title="settings" section="/ui/settings">
        <p>soon</p>
      </Page>,
    ));
  return app;
}
/** Stub. */
export function accessKeyRoutes(_deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get("/", (c) =>
    c.html(
      <Page ui={c.get("ui")} title="keys" section="/ui/keys">
        <p>soon</p>
      </Page>,
    ));
  return app;
}
