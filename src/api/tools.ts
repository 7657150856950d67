/**
 * Routes: `/tools` (create, list, get, update, delete).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Tool } from "../store/tools.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { notFound } from "./errors.ts";
import { presentTool } from "./present.ts";
import { mergeToolInput, parseToolInput } from "./tool_input.ts";

/** The tool routes. */
export function toolRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const toolOf = (c: Context<ApiEnv>): Tool => {
    const tool = store.tools.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!tool) throw notFound("tool");
    return tool;
  };

  app.post("/", async (c) => {
    const input = parseToolInput(await readJson(c));
    return c.json(presentTool(store.tools.create(c.get("principal").org.id, input)), 201);
  });

  app.get(
    "/",
    (c) => c.json({ tools: store.tools.list(c.get("principal").org.id).map(presentTool) }),
  );

  app.get("/:id", (c) => c.json(presentTool(toolOf(c))));

  const update = async (c: Context<ApiEnv>) => {
    const { id, orgId, createdAt: _c, updatedAt: _u, ...current } = toolOf(c);
    const input = mergeToolInput(current, await readJson(c));
    const updated = store.tools.update(orgId, id, input);
    if (!updated) throw notFound("tool");
    return c.json(presentTool(updated));
  };
  app.patch("/:id", update);
  app.put("/:id", update);

  app.delete("/:id", (c) => {
    if (!store.tools.delete(c.get("principal").org.id, c.req.param("id"))) throw notFound("tool");
    return c.body(null, 204);
  });

  return app;
}
