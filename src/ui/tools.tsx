/**
 * The tool pages: the organization's tools with search (`GET /tools?q=`),
 * the form of an `http` tool (create and edit) with JSON editors that check
 * the schemas as you type, and, for each tool, the gateways it can be tried
 * through ("try it" runs it over MCP, see `schema_form.tsx`).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiResult, Json } from "./client.ts";
import { withQuery } from "./client.ts";
import {
  brief,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  Pager,
  PostButton,
  Table,
  TextArea,
  valueOf,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, jsonField, statusOf, text, valuesOf } from "./forms.ts";
import { missing, Page } from "./layout.tsx";

const PAGE_SIZE = 50;
const TOOL_FIELDS = [
  "name",
  "title",
  "description",
  "inputSchema",
  "executionConfig",
  "outputSchema",
  "annotations",
];

/** What a new tool's editors start with: an example to change, not a blank. */
const EXAMPLE_SCHEMA = {
  type: "object",
  properties: { q: { type: "string", description: "What to look for" } },
  required: ["q"],
};
const EXAMPLE_CONFIG = {
  method: "GET",
  url: "https://api.example.com/search",
  queryParams: { q: "{{parameters.q}}" },
};

const pretty = (v: unknown) => v === undefined ? "" : JSON.stringify(v, null, 2);

async function listView(ui: UiRequest, q?: string, cursor?: string) {
  const res = await ui.api.get(withQuery("/tools", { q, limit: String(PAGE_SIZE), cursor }));
  const tools: Json[] = res.ok ? res.body.tools : [];
  const next = res.ok && res.body.nextCursor
    ? withQuery("/ui/tools", { q, cursor: res.body.nextCursor })
    : null;
  return (
    <Page ui={ui} title="Tools" section="/ui/tools">
      <p class="muted">
        Tools are what MCP clients call. An <code>http</code>{" "}
        tool calls a REST operation; tools of upstream servers come with their server. A tool is
        served by the gateways it is assigned to.
      </p>
      <div class="actions">
        <form method="get" action="/ui/tools" class="inline" role="search">
          <label for="tool-search">Search names and descriptions</label>
          <input id="tool-search" type="search" name="q" value={q ?? ""} />
          <button type="submit" class="secondary">Search</button>
        </form>
        {ui.canWrite
          ? (
            <>
              <a class="button" href="/ui/tools/new">New tool</a>
              <a class="button secondary" href="/ui/apis/import">Import an OpenAPI document</a>
            </>
          )
          : null}
      </div>
      {!res.ok ? <p class="notice bad">{res.error?.message}</p> : null}
      {tools.length === 0
        ? (
          <Empty>
            {q
              ? `No tool's name or description contains '${q}'.`
              : "No tools yet. Create one, or import an OpenAPI document to make a tool of each operation."}
          </Empty>
        )
        : (
          <Table head={["Tool", "Type", "Description", "From"]} caption="Tools">
            {tools.map((t) => (
              <tr>
                <td>
                  <a href={`/ui/tools/${t.id}`}>{t.name}</a>
                  {t.title ? <br /> : null}
                  {t.title ? <span class="muted">{t.title}</span> : null}
                </td>
                <td>{t.type}</td>
                <td>{brief(t.description, 140)}</td>
                <td>
                  {t.apiId
                    ? <a href={`/ui/apis/${t.apiId}`}>OpenAPI import</a>
                    : t.serverId
                    ? <a href={`/ui/servers/${t.serverId}`}>server</a>
                    : "made here"}
                </td>
              </tr>
            ))}
          </Table>
        )}
      <Pager next={next} />
    </Page>
  );
}

function ToolForm({ ui, state, tool }: { ui: UiRequest; state?: FormState; tool?: Json }) {
  const form = tool ? "edit" : "create";
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  return (
    <form method="post" action={tool ? `/ui/tools/${tool.id}` : "/ui/tools"} class="stack">
      <Csrf token={ui.csrf} />
      <ErrorSummary state={state} form={form} fields={TOOL_FIELDS} />
      <Field
        label="Name"
        name="name"
        value={v("name", tool?.name)}
        error={e("name")}
        hint="What models call it: letters, digits, '_', '-' and '.', up to 128."
        required
      />
      <Field label="Title" name="title" value={v("title", tool?.title)} error={e("title")} />
      <TextArea
        label="Description"
        name="description"
        value={v("description", tool?.description)}
        error={e("description")}
        rows={3}
        hint="What it does, for the model: when to use it and what it returns."
      />
      <TextArea
        label="Input schema (JSON Schema of the arguments)"
        name="inputSchema"
        value={v("inputSchema", pretty(tool?.inputSchema ?? EXAMPLE_SCHEMA))}
        error={e("inputSchema")}
        json="schema"
        rows={10}
        hint="An object schema: each property is an argument, usable as {{parameters.NAME}} below."
      />
      <TextArea
        label="Execution (the HTTP request the tool makes)"
        name="executionConfig"
        value={v("executionConfig", pretty(tool?.executionConfig ?? EXAMPLE_CONFIG))}
        error={e("executionConfig")}
        json="value"
        rows={10}
        hint={
          <>
            <code>method</code>, <code>url</code>, <code>headers</code>, <code>queryParams</code>
            {" "}
            and <code>body</code> take {"{{parameters.NAME}}"} and {"{{secrets.NAME}}"};{" "}
            <code>
              auth
            </code>: {'{"secret": "NAME"}'} sends a secret as its type says.
          </>
        }
      />
      <details
        open={state?.form === form && /outputSchema|annotations/.test(state.error?.field ?? "")}
      >
        <summary>Output schema and annotations (optional)</summary>
        <TextArea
          label="Output schema (JSON)"
          name="outputSchema"
          value={v("outputSchema", pretty(tool?.outputSchema))}
          error={e("outputSchema")}
          json="schema"
          rows={4}
        />
        <TextArea
          label="Annotations (JSON)"
          name="annotations"
          value={v("annotations", pretty(tool?.annotations))}
          error={e("annotations")}
          json="value"
          rows={3}
          hint='e.g. {"readOnlyHint": true}'
        />
      </details>
      <div class="actions">
        <button type="submit">{tool ? "Save tool" : "Create tool"}</button>
        <a href={tool ? `/ui/tools/${tool.id}` : "/ui/tools"}>Cancel</a>
      </div>
    </form>
  );
}

/** The gateways (of the first hundred) that have tool `id` assigned, and whether it is on. */
async function gatewaysServing(ui: UiRequest, id: string) {
  const gateways = await ui.api.get("/gateways?limit=100");
  if (!gateways.ok) return [];
  const found = await Promise.all((gateways.body.gateways as Json[]).map(async (gw) => {
    const tools = await ui.api.get(`/gateways/${gw.id}/tools?limit=1000`);
    const a = tools.ok ? (tools.body.tools as Json[]).find((t) => t.toolId === id) : undefined;
    return a ? { gw, enabled: a.enabled as boolean } : undefined;
  }));
  return found.filter((x) => x !== undefined);
}

async function detailView(ui: UiRequest, id: string, state?: FormState) {
  const res = await ui.api.get(`/tools/${id}`);
  if (!res.ok) return null;
  const tool = res.body;
  const serving = await gatewaysServing(ui, id);
  const local = !tool.serverId;
  return (
    <Page ui={ui} title={tool.name} section="/ui/tools">
      {tool.description ? <p>{tool.description}</p> : null}
      <section class="panel" aria-labelledby="try">
        <h2 id="try">Try it</h2>
        {serving.length === 0
          ? (
            <Empty>
              No gateway serves this tool yet: assign it to one (on the gateway's page), then try it
              here.
            </Empty>
          )
          : (
            <ul>
              {serving.map(({ gw, enabled }) => (
                <li>
                  <a href={`/ui/gateways/${gw.id}/try/${id}`}>{`Try it through ${gw.name}`}</a>
                  {enabled ? "" : " (turned off there)"}
                </li>
              ))}
            </ul>
          )}
      </section>
      {tool.apiId
        ? (
          <p class="notice warn">
            This tool was made by an{" "}
            <a href={`/ui/apis/${tool.apiId}`}>OpenAPI import</a>: you may change it here, and the
            next re-import of that document writes it over.
          </p>
        )
        : null}
      {!local
        ? (
          <p class="notice warn">
            This tool belongs to{" "}
            <a href={`/ui/servers/${tool.serverId}`}>an upstream server</a>: it changes when the
            server changes it.
          </p>
        )
        : null}
      {local && ui.canWrite
        ? (
          <section class="panel" aria-labelledby="edit">
            <h2 id="edit">Edit</h2>
            <ToolForm ui={ui} state={state} tool={tool} />
            <h3>Delete</h3>
            <PostButton
              action={`/ui/tools/${id}/delete`}
              csrf={ui.csrf}
              label="Delete this tool"
              danger
              confirm={`Delete ${tool.name}? Gateways stop serving it.`}
            />
          </section>
        )
        : (
          <section class="panel" aria-labelledby="definition">
            <h2 id="definition">Definition</h2>
            <h3>Input schema</h3>
            <pre>{pretty(tool.inputSchema)}</pre>
            {tool.executionConfig
              ? (
                <>
                  <h3>Execution</h3>
                  <pre>{pretty(tool.executionConfig)}</pre>
                </>
              )
              : null}
          </section>
        )}
    </Page>
  );
}

/** A tool body from the form, or the first JSON field that does not parse. */
function toolBody(f: FormData) {
  const body: Json = { name: text(f, "name"), type: "http", description: text(f, "description") };
  const title = text(f, "title").trim();
  if (title) body.title = title;
  for (const field of ["inputSchema", "executionConfig", "outputSchema", "annotations"]) {
    const parsed = jsonField(f, field);
    if (parsed.problem) return { problem: parsed.problem };
    if (parsed.value !== undefined) body[field] = parsed.value;
  }
  return { body };
}

/** The tool routes. */
export function toolRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  app.get(
    "/",
    async (c) => c.html(await listView(c.get("ui"), c.req.query("q"), c.req.query("cursor"))),
  );

  const newPage = (c: Context<UiEnv>, state?: FormState, res?: ApiResult) =>
    c.html(
      <Page ui={c.get("ui")} title="New tool" section="/ui/tools">
        <ToolForm ui={c.get("ui")} state={state} />
      </Page>,
      state ? statusOf(res) : 200,
    );

  app.get("/new", (c) => newPage(c));

  app.post("/", async (c) => {
    const f = c.get("form");
    const parsed = toolBody(f);
    if (parsed.problem) {
      return newPage(c, { form: "create", values: valuesOf(f), error: parsed.problem });
    }
    const res = await c.get("ui").api.call("POST", "/tools", parsed.body);
    if (res.ok) return done(c, deps, `Tool ${res.body.name} created.`, `/ui/tools/${res.body.id}`);
    return newPage(c, { form: "create", values: valuesOf(f), error: res.error }, res);
  });

  app.get("/:id", async (c) => {
    const page = await detailView(c.get("ui"), c.req.param("id"));
    return page ? c.html(page) : missing(c);
  });

  app.post("/:id", async (c) => {
    const f = c.get("form");
    const id = c.req.param("id");
    const parsed = toolBody(f);
    const res = parsed.body
      ? await c.get("ui").api.call("PUT", `/tools/${id}`, parsed.body)
      : undefined;
    if (res?.ok) return done(c, deps, `Tool ${res.body.name} saved.`, `/ui/tools/${id}`);
    const error = parsed.problem ?? res?.error;
    const page = await detailView(c.get("ui"), id, { form: "edit", values: valuesOf(f), error });
    return page ? c.html(page, statusOf(res)) : missing(c);
  });

  app.post("/:id/delete", async (c) => {
    const res = await c.get("ui").api.call("DELETE", `/tools/${c.req.param("id")}`);
    if (res.ok) return done(c, deps, "Tool deleted.", "/ui/tools");
    const page = await detailView(c.get("ui"), c.req.param("id"), {
      form: "edit",
      values: {},
      error: res.error,
    });
    return page ? c.html(page, statusOf(res)) : missing(c);
  });

  return app;
}
