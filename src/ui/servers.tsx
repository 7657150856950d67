/**
 * The upstream server pages (federation): the servers with their live
 * state, the form of `POST /servers`, and each server's page: its status,
 * the tools, resources, resource templates and prompts it lists (names and
 * descriptions), its held changes with a readable before-and-after and an
 * approve button (admins), and the stderr of a stdio server.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiResult, Json } from "./client.ts";
import {
  Badge,
  brief,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  itemCounts,
  PostButton,
  Select,
  Table,
  TextArea,
  valueOf,
  When,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, jsonField, numberField, optional, statusOf, text, valuesOf } from "./forms.ts";
import { missing, Page } from "./layout.tsx";

const TRANSPORTS: [string, string][] = [
  ["streamable-http", "Streamable HTTP (a URL)"],
  ["sse", "SSE (a URL, older servers)"],
  ["stdio", "stdio (a command on this host; admins only)"],
];
const SERVER_FIELDS = [
  "name",
  "transport",
  "url",
  "headers",
  "auth",
  "command",
  "args",
  "env",
  "cwd",
  "timeout",
  "onChange",
];

function StateBadge({ state }: { state: string }) {
  const tone = state === "ready" ? "ok" : state === "failed" ? "bad" : "warn";
  return <Badge tone={tone}>{state}</Badge>;
}

async function listView(ui: UiRequest) {
  const res = await ui.api.get("/servers?limit=1000");
  const servers: Json[] = res.ok ? res.body.servers : [];
  return (
    <Page ui={ui} title="Upstream servers" section="/ui/servers">
      <p class="muted">
        MCP servers Gatehouse connects to: their tools, resources and prompts can be served by
        gateways, one by one (assign their tools) or whole (attach the server to a gateway).
      </p>
      {ui.canWrite
        ? (
          <p>
            <a class="button" href="/ui/servers/new">Add a server</a>
          </p>
        )
        : null}
      {servers.length === 0
        ? <Empty>No upstream servers. Add one by its URL, or as a command for stdio servers.</Empty>
        : (
          <Table
            head={["Server", "Transport", "State", "Found", "Held changes", "Last error"]}
            caption="Upstream servers"
          >
            {servers.map((s) => (
              <tr>
                <td>
                  <a href={`/ui/servers/${s.id}`}>{s.name}</a>
                </td>
                <td>{s.transport}</td>
                <td>
                  <StateBadge state={s.status.state} />
                </td>
                <td>
                  {itemCounts(s.status)}
                </td>
                <td>
                  {s.status.pendingChanges > 0
                    ? <Badge tone="warn">{`${s.status.pendingChanges} to approve`}</Badge>
                    : "none"}
                </td>
                <td>{s.status.lastError ?? ""}</td>
              </tr>
            ))}
          </Table>
        )}
    </Page>
  );
}

/** A JSON value as a form's text area holds it: nothing for none. */
const jsonText = (v: unknown) => v === undefined || v === null ? "" : JSON.stringify(v, null, 2);

/** The form of a new server, or of `server`'s settings (filled with them). */
function ServerForm(
  { ui, state, server }: { ui: UiRequest; state?: FormState; server?: Json },
) {
  const form = server ? "edit" : "create";
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  const now = {
    name: server?.name ?? "",
    transport: server?.transport ?? "streamable-http",
    url: server?.url ?? "",
    headers: jsonText(server?.headers),
    command: server?.command ?? "",
    args: (server?.args ?? []).join("\n"),
    env: jsonText(server?.env),
    cwd: server?.cwd ?? "",
    secret: server?.auth?.secret ?? "",
    timeout: server?.timeout === undefined ? "" : String(server.timeout),
    onChange: server?.onChange ?? "hold",
  };
  return (
    <form
      method="post"
      action={server ? `/ui/servers/${server.id}` : "/ui/servers"}
      class="stack"
    >
      <Csrf token={ui.csrf} />
      <ErrorSummary state={state} form={form} fields={SERVER_FIELDS} />
      <Field
        label="Name"
        name="name"
        value={v("name", now.name)}
        error={e("name")}
        hint="Letters, digits, '_', '-' and '.'."
        required
      />
      <Select
        label="Transport"
        name="transport"
        value={v("transport", now.transport)}
        error={e("transport")}
        options={TRANSPORTS}
      />
      <fieldset>
        <legend>HTTP servers</legend>
        <Field label="URL" name="url" type="url" value={v("url", now.url)} error={e("url")} />
        <TextArea
          label="Headers (JSON, optional)"
          name="headers"
          value={v("headers", now.headers)}
          error={e("headers")}
          json="value"
          rows={2}
          hint="Use {{secrets.NAME}} for credentials."
        />
      </fieldset>
      <fieldset>
        <legend>stdio servers</legend>
        <Field
          label="Command"
          name="command"
          value={v("command", now.command)}
          error={e("command")}
        />
        <TextArea
          label="Arguments (one per line)"
          name="args"
          value={v("args", now.args)}
          error={e("args")}
          rows={3}
        />
        <TextArea
          label="Environment (JSON, optional)"
          name="env"
          value={v("env", now.env)}
          error={e("env")}
          json="value"
          rows={2}
        />
        <Field
          label="Working folder (optional)"
          name="cwd"
          value={v("cwd", now.cwd)}
          error={e("cwd")}
        />
      </fieldset>
      <Field
        label="Secret for the server's Authorization (optional)"
        name="auth.secret"
        value={v("auth.secret", now.secret)}
        error={e("auth")}
      />
      <Field
        label="Timeout of a request, ms (optional)"
        name="timeout"
        type="number"
        value={v("timeout", now.timeout)}
        error={e("timeout")}
      />
      <Select
        label="When the server changes a tool or prompt"
        name="onChange"
        value={v("onChange", now.onChange)}
        error={e("onChange")}
        options={[["hold", "hold the change for approval"], ["accept", "serve it at once"]]}
      />
      <button type="submit">{server ? "Save the server" : "Add server"}</button>
    </form>
  );
}

/** A JSON value, readable in a diff cell. */
const shown = (v: unknown) => v === null || v === undefined ? "(none)" : JSON.stringify(v, null, 2);

async function detailView(ui: UiRequest, id: string, notice?: string, state?: FormState) {
  const res = await ui.api.get(`/servers/${id}`);
  if (!res.ok) return null;
  const s = res.body;
  const [tools, items, changes, logs] = await Promise.all([
    ui.api.get(`/tools?serverId=${id}&limit=1000`),
    ui.api.get(`/servers/${id}/items`),
    ui.api.get(`/servers/${id}/changes`),
    ui.api.get(`/servers/${id}/logs`),
  ]);
  const found: Json[] = tools.ok ? tools.body.tools : [];
  const listed = items.ok ? items.body : { resources: [], resourceTemplates: [], prompts: [] };
  const held: Json[] = changes.ok ? changes.body.changes : [];
  const lines: string[] = logs.ok ? logs.body.lines : [];
  const mayTouch = ui.canWrite && (s.transport !== "stdio" || ui.isAdmin);
  // Without the settings form (a viewer, a member and a stdio server), its refusal shows here.
  const refusal = notice ?? (mayTouch ? undefined : state?.error?.message);
  return (
    <Page ui={ui} title={s.name} section="/ui/servers">
      {refusal ? <p class="notice bad" role="alert">{refusal}</p> : null}
      <section class="panel" aria-labelledby="status">
        <h2 id="status">Status</h2>
        <p>
          <StateBadge state={s.status.state} /> {s.transport}{" "}
          <code>{s.url ?? [s.command, ...(s.args ?? [])].join(" ")}</code>
        </p>
        <Table head={["", "Now"]} caption="Status">
          <tr>
            <th scope="row">Server</th>
            <td>
              {s.status.serverInfo
                ? `${s.status.serverInfo.name ?? ""} ${s.status.serverInfo.version ?? ""}`
                : "not known yet"}
            </td>
          </tr>
          <tr>
            <th scope="row">Protocol</th>
            <td>{(s.status.protocolVersions ?? []).join(", ") || "–"}</td>
          </tr>
          <tr>
            <th scope="row">Found</th>
            <td>
              {itemCounts(s.status)}
            </td>
          </tr>
          <tr>
            <th scope="row">Listed</th>
            <td>
              <When at={s.status.lastRefreshAt} />
            </td>
          </tr>
          <tr>
            <th scope="row">Restarts</th>
            <td>{s.status.restarts}</td>
          </tr>
          <tr>
            <th scope="row">Last error</th>
            <td>{s.status.lastError ?? "none"}</td>
          </tr>
        </Table>
        {mayTouch
          ? (
            <div class="actions">
              <PostButton
                action={`/ui/servers/${id}/refresh`}
                csrf={ui.csrf}
                label="List again now"
              />
              <PostButton
                action={`/ui/servers/${id}/delete`}
                csrf={ui.csrf}
                label="Delete server"
                danger
                confirm={`Delete ${s.name}? Gateways stop serving its items.`}
              />
            </div>
          )
          : null}
        {mayTouch
          ? (
            <details open={state?.form === "edit"}>
              <summary>Change its settings</summary>
              <ServerForm ui={ui} state={state} server={s} />
            </details>
          )
          : null}
      </section>

      <section class="panel" aria-labelledby="held">
        <h2 id="held">Held changes</h2>
        {held.length === 0
          ? <Empty>No change is waiting: what the server lists is what gateways serve.</Empty>
          : held.map((ch) => (
            <div class="card">
              <h3>
                {`${ch.kind} ${ch.name} `}
                {ch.breaking ? <Badge tone="bad">changes what callers send</Badge> : null}
              </h3>
              <p class="muted">
                Seen <When at={ch.detectedAt} />
              </p>
              <Table head={["Field", "Served now", "Listed now"]} caption={`Changes of ${ch.name}`}>
                {(ch.diff as Json[]).map((d) => (
                  <tr>
                    <td>
                      <code>{d.field}</code>
                    </td>
                    <td class="diff-before">
                      <pre>{shown(d.before)}</pre>
                    </td>
                    <td class="diff-after">
                      <pre>{shown(d.after)}</pre>
                    </td>
                  </tr>
                ))}
              </Table>
              {ui.isAdmin
                ? (
                  <PostButton
                    action={`/ui/servers/${id}/changes/${ch.id}/approve`}
                    csrf={ui.csrf}
                    label="Approve this change"
                  />
                )
                : <p class="hint">An admin or owner approves changes.</p>}
            </div>
          ))}
      </section>

      <section class="panel" aria-labelledby="found">
        <h2 id="found">What it lists</h2>
        <h3 id="found-tools">{`Tools (${found.length})`}</h3>
        {found.length === 0
          ? <Empty>No tools.</Empty>
          : (
            <Table head={["Tool", "Description"]} caption="Its tools">
              {found.map((t) => (
                <tr>
                  <td>
                    <a href={`/ui/tools/${t.id}`}>{t.name}</a>
                    {t.title ? <br /> : null}
                    {t.title ? <span class="muted">{t.title}</span> : null}
                  </td>
                  <td>{brief(t.description)}</td>
                </tr>
              ))}
            </Table>
          )}
        <h3 id="found-resources">{`Resources (${listed.resources.length})`}</h3>
        {listed.resources.length === 0
          ? <Empty>No resources.</Empty>
          : (
            <Table head={["Resource", "URI", "Description"]} caption="Its resources">
              {(listed.resources as Json[]).map((r) => (
                <tr>
                  <td>
                    {r.title ?? r.name ?? ""}
                    {r.mimeType ? <br /> : null}
                    {r.mimeType ? <span class="muted">{r.mimeType}</span> : null}
                  </td>
                  <td>
                    <code>{r.uri}</code>
                  </td>
                  <td>{brief(r.description)}</td>
                </tr>
              ))}
            </Table>
          )}
        {listed.resourceTemplates.length > 0
          ? (
            <>
              <h3 id="found-templates">
                {`Resource templates (${listed.resourceTemplates.length})`}
              </h3>
              <Table head={["Template", "URI template", "Description"]} caption="Its templates">
                {(listed.resourceTemplates as Json[]).map((r) => (
                  <tr>
                    <td>{r.title ?? r.name ?? ""}</td>
                    <td>
                      <code>{r.uriTemplate}</code>
                    </td>
                    <td>{brief(r.description)}</td>
                  </tr>
                ))}
              </Table>
            </>
          )
          : null}
        <h3 id="found-prompts">{`Prompts (${listed.prompts.length})`}</h3>
        {listed.prompts.length === 0
          ? <Empty>No prompts.</Empty>
          : (
            <Table head={["Prompt", "Arguments", "Description"]} caption="Its prompts">
              {(listed.prompts as Json[]).map((p) => (
                <tr>
                  <td>{p.name}</td>
                  <td>
                    {(Array.isArray(p.arguments) ? p.arguments as Json[] : []).map((a) =>
                      `${a.name}${a.required ? " (required)" : ""}`
                    ).join(", ") || <span class="muted">none</span>}
                  </td>
                  <td>{brief(p.description)}</td>
                </tr>
              ))}
            </Table>
          )}
      </section>

      {s.transport === "stdio"
        ? (
          <section class="panel" aria-labelledby="stderr">
            <h2 id="stderr">stderr</h2>
            {lines.length === 0
              ? <Empty>Nothing written to stderr.</Empty>
              : <pre>{lines.join("\n")}</pre>}
            {logs.ok && logs.body.dropped > 0
              ? <p class="hint">{`${logs.body.dropped} earlier lines were dropped.`}</p>
              : null}
          </section>
        )
        : null}
    </Page>
  );
}

function serverBody(f: FormData) {
  const transport = text(f, "transport");
  const body: Json = { name: text(f, "name"), transport };
  if (transport === "stdio") {
    body.command = text(f, "command");
    const args = text(f, "args").split("\n").map((a) => a.trim()).filter(Boolean);
    if (args.length > 0) body.args = args;
    const env = jsonField(f, "env");
    if (env.problem) return { problem: env.problem };
    if (env.value !== undefined) body.env = env.value;
    const cwd = optional(f, "cwd");
    if (cwd) body.cwd = cwd;
  } else {
    body.url = text(f, "url");
    const headers = jsonField(f, "headers");
    if (headers.problem) return { problem: headers.problem };
    if (headers.value !== undefined) body.headers = headers.value;
  }
  const secret = optional(f, "auth.secret");
  if (secret) body.auth = { secret };
  const timeout = numberField(f, "timeout");
  if (timeout !== undefined) body.timeout = timeout;
  body.onChange = text(f, "onChange") || "hold";
  return { body };
}

/** The server routes. */
export function serverRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  app.get("/", async (c) => c.html(await listView(c.get("ui"))));

  const newPage = (c: Context<UiEnv>, state?: FormState, res?: ApiResult) =>
    c.html(
      <Page ui={c.get("ui")} title="Add a server" section="/ui/servers">
        <ServerForm ui={c.get("ui")} state={state} />
      </Page>,
      state ? statusOf(res) : 200,
    );
  app.get("/new", (c) => newPage(c));

  app.post("/", async (c) => {
    const f = c.get("form");
    const parsed = serverBody(f);
    if (parsed.problem) {
      return newPage(c, { form: "create", values: valuesOf(f), error: parsed.problem });
    }
    const res = await c.get("ui").api.call("POST", "/servers", parsed.body);
    if (res.ok) {
      return done(c, deps, `Server ${res.body.name} added.`, `/ui/servers/${res.body.id}`);
    }
    return newPage(c, { form: "create", values: valuesOf(f), error: res.error }, res);
  });

  const detail = async (c: Context<UiEnv>, res?: ApiResult, state?: FormState) => {
    const notice = state ? undefined : res?.error?.message;
    const page = await detailView(c.get("ui"), c.req.param("id")!, notice, state);
    return page ? c.html(page, res || state ? statusOf(res) : 200) : missing(c);
  };
  app.get("/:id", (c) => detail(c));

  // Its settings replaced whole by the form's (PUT): the server reconnects with them.
  app.post("/:id", async (c) => {
    const f = c.get("form");
    const parsed = serverBody(f);
    const res = parsed.body
      ? await c.get("ui").api.call("PUT", `/servers/${c.req.param("id")}`, parsed.body)
      : undefined;
    if (res?.ok) return done(c, deps, `Server ${res.body.name} saved: it reconnects.`, c.req.path);
    const error = parsed.problem ?? res?.error;
    return detail(c, res, { form: "edit", values: valuesOf(f), error });
  });

  const after = (c: Context<UiEnv>, res: ApiResult, message: string, to?: string) =>
    res.ok ? done(c, deps, message, to ?? `/ui/servers/${c.req.param("id")}`) : detail(c, res);

  app.post(
    "/:id/refresh",
    async (c) =>
      after(
        c,
        await c.get("ui").api.call("POST", `/servers/${c.req.param("id")}/refresh`),
        "Listed again.",
      ),
  );
  app.post("/:id/delete", async (c) =>
    after(
      c,
      await c.get("ui").api.call("DELETE", `/servers/${c.req.param("id")}`),
      "Server deleted.",
      "/ui/servers",
    ));
  app.post("/:id/changes/:changeId/approve", async (c) =>
    after(
      c,
      await c.get("ui").api.call(
        "POST",
        `/servers/${c.req.param("id")}/changes/${c.req.param("changeId")}/approve`,
      ),
      "Change approved: gateways serve it now.",
    ));

  return app;
}
