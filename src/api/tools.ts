/**
 * Routes: `/tools` (create, list a page, get, update, delete). A tool of
 * another org answers 404 exactly like a missing one.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { changesBetween } from "../store/audit.ts";
import type { Tool, ToolInput } from "../store/tools.ts";
import { audited, settable, targetOf } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { ApiError, notFound } from "./errors.ts";
import { listQuery, LISTS } from "./lists.ts";
import { presentTool } from "./present.ts";
import { mergeToolInput, parseToolInput } from "./tool_input.ts";

/** The tool routes. */
export function toolRoutes({ store }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const toolOf = async (c: Context<ApiEnv>): Promise<Tool> => {
    const tool = await store.tools.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!tool) throw notFound("tool");
    return tool;
  };
  /** A server's tool follows its server: it is changed there, or through held changes. */
  const local = (tool: Tool): Tool => {
    if (tool.serverId) {
      throw new ApiError(
        409,
        "conflict",
        `tool '${tool.name}' belongs to upstream server ${tool.serverId}: it changes when the ` +
          "server changes it (see /servers/{id}/changes) and goes when the server drops it",
      );
    }
    return tool;
  };
  const updated = (c: Context<ApiEnv>, tool: Tool, input: ToolInput): Promise<Tool> =>
    audited(c, store, async (note) => {
      const before = await store.tools.get(tool.orgId, tool.id);
      const result = await store.tools.update(tool.orgId, tool.id, input);
      if (!before || !result) throw notFound("tool");
      await note({
        action: "tool.update",
        target: targetOf("tool", result),
        changes: changesBetween(settable(before), settable(result)),
      });
      return result;
    });

  app.post("/", async (c) => {
    const input = parseToolInput(await readJson(c));
    const tool = await audited(c, store, async (note) => {
      const tool = await store.tools.create(c.get("principal").org.id, input);
      await note({
        action: "tool.create",
        target: targetOf("tool", tool),
        changes: changesBetween(undefined, settable(tool)),
      });
      return tool;
    });
    return c.json(presentTool(tool), 201);
  });

  // A page of the org's tools by name, narrowed by the filters given (see lists.ts).
  app.get("/", async (c) => {
    const orgId = c.get("principal").org.id;
    const query = listQuery(c, LISTS.tools, [orgId]);
    const page = await store.tools.page(orgId, query.filter, query.page);
    return c.json(query.answer("tools", page.items.map(presentTool), page.next));
  });

  app.get("/:id", async (c) => c.json(presentTool(await toolOf(c))));

  // PATCH changes the fields given (null removes an optional one); PUT replaces the tool.
  app.patch("/:id", async (c) => {
    const tool = local(await toolOf(c));
    const { id: _i, orgId: _o, apiId: _a, createdAt: _c, updatedAt: _u, ...current } = tool;
    return c.json(presentTool(await updated(c, tool, mergeToolInput(current, await readJson(c)))));
  });
  app.put("/:id", async (c) => {
    const tool = local(await toolOf(c));
    return c.json(presentTool(await updated(c, tool, parseToolInput(await readJson(c)))));
  });

  app.delete("/:id", async (c) => {
    const tool = local(await toolOf(c));
    await audited(c, store, async (note) => {
      if (!await store.tools.delete(tool.orgId, tool.id)) throw notFound("tool");
      await note({
        action: "tool.delete",
        target: targetOf("tool", tool),
        changes: changesBetween(settable(tool), undefined),
      });
    });
    return c.body(null, 204);
  });

  return app;
}
