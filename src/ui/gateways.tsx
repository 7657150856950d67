/**
 * The gateway pages: the list with each gateway's state and requests, the
 * form of `POST /gateways`, and each gateway's page: its MCP URLs and the
 * client configurations the API builds (copy buttons, the right header),
 * its tools (enable switches, rate limits), attached servers (see
 * `gateway_servers.tsx`), auth methods (see `gateway_auth.tsx`) and keys (see `gateway_keys.tsx`; a new key is
 * shown once), and "try it" for each of its tools (see `try_it.tsx`).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { KEY_PLACEHOLDER } from "../api/client_configs.ts";
import type { ApiResult, Json } from "./client.ts";
import { withQuery } from "./client.ts";
import {
  Badge,
  Check,
  CopyBlock,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  LimitFields,
  millis,
  Pager,
  PostButton,
  Select,
  Table,
  TextArea,
  valueOf,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, numberField, rateLimitField, statusOf, text, timeField, valuesOf } from "./forms.ts";
import { authMethodBody, AuthPanel } from "./gateway_auth.tsx";
import { KeysPanel } from "./gateway_keys.tsx";
import { attachmentBody, ServersPanel } from "./gateway_servers.tsx";
import { missing, Page } from "./layout.tsx";
import { tryRoutes } from "./try_it.tsx";

const TRANSPORTS = [
  ["http", "Streamable HTTP"],
  ["sse", "SSE (older clients)"],
  ["websocket", "WebSocket"],
] as [string, string][];
const PAGE_SIZE = 50;

/** The clients shown on a gateway's page, in order: what the API's `clients` holds. */
const CLIENTS: { key: string; label: string; note: string }[] = [
  { key: "claudeCode", label: "Claude Code", note: "Run in a terminal." },
  {
    key: "claudeDesktop",
    label: "Claude Desktop, and other stdio-only clients (mcp-remote)",
    note: "Claude Desktop starts local (stdio) servers only: mcp-remote (Node.js) bridges to " +
      "the gateway. The same entry works in any client that only runs commands.",
  },
  { key: "cursor", label: "Cursor", note: "" },
  { key: "vscode", label: "VS Code", note: "VS Code asks for the credential when it starts." },
  { key: "windsurf", label: "Windsurf", note: "" },
  { key: "inspector", label: "MCP Inspector", note: "Lists the tools from the command line." },
  { key: "python", label: "Python SDK", note: "" },
];

/** The text to paste of one client's configuration. */
function snippet(entry: Json): string {
  if (typeof entry.command === "string") return entry.command;
  if (typeof entry.code === "string") return entry.code;
  return JSON.stringify(entry.config, null, 2);
}

/**
 * What a client needs to connect, in this page's words: where the gateway
 * key comes from, or the API's note for the other methods (it names API
 * routes where the page has a form).
 */
function ConnectNote({ auth }: { auth: Json }) {
  if (auth.method === null) {
    return (
      <>
        The gateway has no auth method yet, so it refuses every MCP request: add one under{" "}
        <a href="#auth">Authentication</a>, then make a key under <a href="#keys">Gateway keys</a>.
      </>
    );
  }
  if (auth.placeholder === KEY_PLACEHOLDER) {
    return (
      <>
        Replace <code>{KEY_PLACEHOLDER}</code> with a key from <a href="#keys">Gateway keys</a>{" "}
        (a key is shown once, when it is made).
      </>
    );
  }
  const note = String(auth.note);
  return <>{`${note.charAt(0).toUpperCase()}${note.slice(1)}.`}</>;
}

/** A gateway's state in one badge: whether it can serve anyone yet. */
function StateBadge({ methods }: { methods: Json[] }) {
  if (methods.length === 0) return <Badge tone="bad">refuses every request: no auth method</Badge>;
  return <Badge tone="ok">{`serving (${methods.map((m) => m.type).join(", ")})`}</Badge>;
}

async function listView(ui: UiRequest, cursor?: string) {
  const res = await ui.api.get(withQuery("/gateways", { limit: String(PAGE_SIZE), cursor }));
  const gateways: Json[] = res.ok ? res.body.gateways : [];
  const details = await Promise.all(gateways.map(async (gw) => {
    const [auth, stats] = await Promise.all([
      ui.api.get(`/gateways/${gw.id}/auth`),
      ui.api.get(`/gateways/${gw.id}/stats`),
    ]);
    return { gw, methods: auth.ok ? auth.body.methods : [], stats: stats.ok ? stats.body : null };
  }));
  const next = res.ok && res.body.nextCursor
    ? withQuery("/ui/gateways", { cursor: res.body.nextCursor })
    : null;
  return (
    <Page ui={ui} title="Gateways" section="/ui/gateways">
      <p class="muted">
        Each gateway is an MCP endpoint: MCP clients connect to its URL, see the tools you assign to
        it, and authenticate as its auth methods say.
      </p>
      {ui.canWrite
        ? (
          <p>
            <a class="button" href="/ui/gateways/new">New gateway</a>
          </p>
        )
        : null}
      {details.length === 0
        ? (
          <Empty>
            No gateways yet. {ui.canWrite
              ? <a href="/ui/gateways/new">Create the first one</a>
              : "A member of the organization can create one."}
            , then add tools and an auth method to it.
          </Empty>
        )
        : (
          <Table
            head={[
              "Gateway",
              "MCP URL",
              "State",
              ["Requests (24 h)", "num"],
              ["Errors", "num"],
              ["p95", "num"],
            ]}
            caption="Gateways"
          >
            {details.map(({ gw, methods, stats }) => (
              <tr>
                <td>
                  <a href={`/ui/gateways/${gw.id}`}>{gw.name}</a>
                  <br />
                  <span class="muted">{gw.configuration.transport}</span>
                </td>
                <td>
                  <code>{gw.urls.http}</code>
                </td>
                <td>
                  <StateBadge methods={methods} />
                </td>
                <td class="num">{stats?.calls ?? 0}</td>
                <td class="num">{stats?.errors ?? 0}</td>
                <td class="num">{millis(stats?.p95Ms)}</td>
              </tr>
            ))}
          </Table>
        )}
      <Pager next={next} />
    </Page>
  );
}

const GATEWAY_FIELDS = [
  "name",
  "endpoint",
  "configuration.transport",
  "configuration.logPayloads",
  "configuration.rateLimits",
  "description",
];
const PER_CALLER = "configuration.rateLimits.perCaller";
const WHOLE = "configuration.rateLimits.gateway";

function GatewayForm(
  { ui, state, gw }: { ui: UiRequest; state?: FormState; gw?: Json },
) {
  const form = gw ? "edit" : "create";
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  return (
    <form method="post" action={gw ? `/ui/gateways/${gw.id}` : "/ui/gateways"} class="stack">
      <Csrf token={ui.csrf} />
      <ErrorSummary state={state} form={form} fields={GATEWAY_FIELDS} />
      <Field label="Name" name="name" value={v("name", gw?.name)} error={e("name")} required />
      {gw ? null : (
        <Field
          label="Endpoint"
          name="endpoint"
          value={v("endpoint")}
          error={e("endpoint")}
          placeholder="/my-tools"
          hint={`The gateway's path under /mcp/${ui.me.organization.slug}: it starts with '/', for example /my-tools.`}
          required
        />
      )}
      <Select
        label="Transport"
        name="configuration.transport"
        value={v("configuration.transport", gw?.configuration.transport ?? "http")}
        error={e("configuration.transport")}
        options={TRANSPORTS}
        hint="What the client configurations use. Every gateway serves all three."
      />
      <TextArea
        label="Description"
        name="description"
        value={v("description", gw?.description)}
        error={e("description")}
        rows={2}
        hint="Shown to MCP clients as the server's instructions."
      />
      <LimitFields
        legend="Rate limit of each caller (optional)"
        name={PER_CALLER}
        form={form}
        state={state}
        limit={gw?.configuration.rateLimits?.perCaller}
        hint="Requests each credential (or address, without one) may make; a key's own limit replaces it."
      />
      <LimitFields
        legend="Rate limit of the whole gateway (optional)"
        name={WHOLE}
        form={form}
        state={state}
        limit={gw?.configuration.rateLimits?.gateway}
        hint="Requests of all callers together."
      />
      <Check
        label="Log tool calls' arguments and results (redacted) in the request log"
        name="configuration.logPayloads"
        id={`${form}-log-payloads`}
        checked={state?.form === form
          ? state.values["configuration.logPayloads"] !== undefined
          : gw?.configuration.logPayloads === true}
      />
      <div class="actions">
        <button type="submit">{gw ? "Save" : "Create gateway"}</button>
        <a href={gw ? `/ui/gateways/${gw.id}` : "/ui/gateways"}>Cancel</a>
      </div>
    </form>
  );
}

/** What a new key's answer holds, shown once on the page after it was made. */
interface NewKey {
  name: string;
  key: string;
}

async function detailView(
  ui: UiRequest,
  id: string,
  state?: FormState,
  newKey?: NewKey,
) {
  const res = await ui.api.get(`/gateways/${id}`);
  if (!res.ok) return null;
  const gw = res.body;
  const [tools, servers, auth, keys, allTools, allServers] = await Promise.all([
    ui.api.get(`/gateways/${id}/tools?limit=1000`),
    ui.api.get(`/gateways/${id}/servers`),
    ui.api.get(`/gateways/${id}/auth`),
    ui.api.get(`/gateways/${id}/keys`),
    ui.canWrite ? ui.api.get("/tools?limit=1000") : Promise.resolve(undefined),
    ui.canWrite ? ui.api.get("/servers?limit=1000") : Promise.resolve(undefined),
  ]);
  const assigned: Json[] = tools.ok ? tools.body.tools : [];
  const attached: Json[] = servers.ok ? servers.body.servers : [];
  const methods: Json[] = auth.ok ? auth.body.methods : [];
  const gatewayKeys: Json[] = keys.ok ? keys.body.keys : [];
  const assignedIds = new Set(assigned.map((a) => a.toolId));
  const assignable = (allTools?.ok ? allTools.body.tools as Json[] : []).filter((t) =>
    !assignedIds.has(t.id)
  );
  const attachedIds = new Set(attached.map((a) => a.serverId));
  const attachable = (allServers?.ok ? allServers.body.servers as Json[] : []).filter((s) =>
    !attachedIds.has(s.id)
  );
  const base = `/ui/gateways/${id}`;
  const e = (form: string, name: string) => errorOf(state, form, name);
  const v = (form: string, name: string, fallback = "") => valueOf(state, form, name, fallback);
  return (
    <Page ui={ui} title={gw.name} section="/ui/gateways">
      {
        // A viewer sees no form to show a refusal next to: a forged change's refusal goes here.
        state?.error && !ui.canWrite
          ? <p class="notice bad" role="alert">{state.error.message}</p>
          : null
      }
      <p>
        <StateBadge methods={methods} /> <span class="muted">{gw.description}</span>
      </p>
      {newKey
        ? (
          <section class="panel secret-once" aria-labelledby="new-key">
            <h2 id="new-key">{`Key '${newKey.name}' created`}</h2>
            <p>
              Copy it now: it is shown only this once. MCP clients send it as{" "}
              <code>Authorization: Bearer …</code>.
            </p>
            <CopyBlock id="new-key-value" text={newKey.key} label="the new gateway key" />
          </section>
        )
        : null}

      <section class="panel" aria-labelledby="connect">
        <h2 id="connect">Connect a client</h2>
        <h3>MCP URLs</h3>
        <CopyBlock id="url-http" text={gw.urls.http} label="the Streamable HTTP URL" />
        <CopyBlock id="url-sse" text={gw.urls.sse} label="the SSE URL" />
        <CopyBlock id="url-ws" text={gw.urls.websocket} label="the WebSocket URL" />
        <p class="hint">
          <ConnectNote auth={gw.clients.auth} />
        </p>
        {CLIENTS.map((client) => {
          const entry = gw.clients[client.key];
          if (!entry) return null;
          return (
            <details>
              <summary>
                {client.label}
                {entry.file ? <span class="muted">{` (${entry.file})`}</span> : null}
              </summary>
              {client.note ? <p class="hint">{client.note}</p> : null}
              <CopyBlock
                id={`client-${client.key}`}
                text={snippet(entry)}
                label={`the ${client.label} configuration`}
              />
            </details>
          );
        })}
      </section>

      <section class="panel" aria-labelledby="tools">
        <h2 id="tools">Tools</h2>
        {assigned.length === 0
          ? (
            <Empty>
              No tools yet: MCP clients of this gateway see nothing.{" "}
              {ui.canWrite ? "Assign some below." : ""}
            </Empty>
          )
          : (
            <Table
              head={["Tool", "Enabled", "Rate limit (calls a minute per caller)", ""]}
              caption="Assigned tools"
            >
              {assigned.map((a) => (
                <tr>
                  <td>
                    <a href={`/ui/tools/${a.toolId}`}>{a.name}</a>
                    <br />
                    <span class="muted">{a.tool.title ?? ""}</span>
                  </td>
                  <td>
                    {ui.canWrite
                      ? (
                        <form method="post" action={`${base}/tools/${a.toolId}`} class="inline">
                          <Csrf token={ui.csrf} />
                          <input
                            type="hidden"
                            name="enabled"
                            value={a.enabled ? "false" : "true"}
                          />
                          <button
                            type="submit"
                            class="secondary small"
                            role="switch"
                            aria-checked={a.enabled ? "true" : "false"}
                            aria-label={`${a.name} enabled`}
                          >
                            {a.enabled ? "On" : "Off"}
                          </button>
                        </form>
                      )
                      : a.enabled
                      ? "yes"
                      : "no"}
                  </td>
                  <td>
                    {ui.canWrite
                      ? (
                        <form method="post" action={`${base}/tools/${a.toolId}`} class="inline">
                          <Csrf token={ui.csrf} />
                          <label class="sr" for={`limit-${a.toolId}`}>
                            {`Rate limit of ${a.name}`}
                          </label>
                          <input
                            id={`limit-${a.toolId}`}
                            name="rateLimit"
                            type="number"
                            min="1"
                            value={a.rateLimit === null ? "" : String(a.rateLimit)}
                            placeholder="none"
                          />
                          <button type="submit" class="secondary small">Set</button>
                          {e(`tool-${a.toolId}`, "rateLimit")
                            ? <p class="error">{e(`tool-${a.toolId}`, "rateLimit")}</p>
                            : null}
                        </form>
                      )
                      : a.rateLimit ?? "none"}
                  </td>
                  <td>
                    <div class="actions">
                      <a href={`${base}/try/${a.toolId}`}>Try it</a>
                      {ui.canWrite
                        ? (
                          <PostButton
                            action={`${base}/tools/${a.toolId}/remove`}
                            csrf={ui.csrf}
                            label="Remove"
                            confirm={`Remove ${a.name} from this gateway?`}
                          />
                        )
                        : null}
                    </div>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        {ui.canWrite
          ? (
            <details open={assigned.length === 0 || state?.form === "assign"}>
              <summary>Assign tools</summary>
              {assignable.length === 0
                ? (
                  <p class="muted">
                    Every tool of the organization is assigned.{" "}
                    <a href="/ui/tools/new">Create a tool</a> or{" "}
                    <a href="/ui/apis/import">import an OpenAPI document</a>.
                  </p>
                )
                : (
                  <form method="post" action={`${base}/tools`} class="stack">
                    <Csrf token={ui.csrf} />
                    <ErrorSummary state={state} form="assign" fields={["rateLimit"]} />
                    <div class="field">
                      <label for="assign-filter">Filter the tools</label>
                      <input id="assign-filter" type="search" data-filter="assign-list" />
                    </div>
                    <fieldset id="assign-list" class="op-list" tabindex={0}>
                      <legend>Tools to assign</legend>
                      {assignable.map((t) => (
                        <div data-row>
                          <Check
                            label={`${t.name}${t.title ? ` — ${t.title}` : ""}`}
                            name="toolIds"
                            value={t.id}
                            id={`assign-${t.id}`}
                          />
                        </div>
                      ))}
                    </fieldset>
                    <Field
                      label="Rate limit (calls a minute per caller, optional)"
                      name="rateLimit"
                      type="number"
                      min="1"
                      value={v("assign", "rateLimit")}
                      error={e("assign", "rateLimit")}
                    />
                    <button type="submit">Assign</button>
                  </form>
                )}
            </details>
          )
          : null}
      </section>

      <ServersPanel
        ui={ui}
        base={base}
        attached={attached}
        attachable={attachable}
        state={state}
      />

      <AuthPanel ui={ui} base={base} methods={methods} state={state} />

      <KeysPanel ui={ui} base={base} keys={gatewayKeys} state={state} />

      {ui.canWrite
        ? (
          <section class="panel" aria-labelledby="settings">
            <h2 id="settings">Gateway settings</h2>
            <GatewayForm ui={ui} state={state} gw={gw} />
            <h3>Delete</h3>
            <PostButton
              action={`${base}/delete`}
              csrf={ui.csrf}
              label="Delete this gateway"
              danger
              confirm={`Delete ${gw.name} with its keys, auth methods and tool assignments?`}
            />
          </section>
        )
        : null}
      <p>
        <a href={`/ui/activity?gatewayId=${id}`}>See its usage</a>
      </p>
    </Page>
  );
}

/** The gateway routes. */
export function gatewayRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const notFound = (c: Context<UiEnv>) => missing(c);

  app.get("/", async (c) => c.html(await listView(c.get("ui"), c.req.query("cursor"))));

  app.get("/new", (c) =>
    c.html(
      <Page ui={c.get("ui")} title="New gateway" section="/ui/gateways">
        <GatewayForm ui={c.get("ui")} />
      </Page>,
    ));

  const gatewayBody = (f: FormData, create: boolean) => {
    const limits: Json = {};
    for (const [part, name] of [["perCaller", PER_CALLER], ["gateway", WHOLE]]) {
      const limit = rateLimitField(f, name);
      if (limit) limits[part] = limit;
    }
    const configuration: Json = {
      transport: text(f, "configuration.transport") || "http",
      logPayloads: f.has("configuration.logPayloads"),
    };
    // A change sends null for none: the API merges configuration key by key.
    if (Object.keys(limits).length > 0) configuration.rateLimits = limits;
    else if (!create) configuration.rateLimits = null;
    const body: Json = {
      name: text(f, "name"),
      configuration,
      description: text(f, "description"),
    };
    if (create) {
      body.type = "mcp";
      body.endpoint = text(f, "endpoint");
    }
    return body;
  };

  app.post("/", async (c) => {
    const ui = c.get("ui");
    const f = c.get("form");
    const res = await ui.api.call("POST", "/gateways", gatewayBody(f, true));
    if (res.ok) {
      return done(c, deps, `Gateway ${res.body.name} created.`, `/ui/gateways/${res.body.id}`);
    }
    const state: FormState = { form: "create", values: valuesOf(f), error: res.error };
    return c.html(
      <Page ui={ui} title="New gateway" section="/ui/gateways">
        <GatewayForm ui={ui} state={state} />
      </Page>,
      statusOf(res),
    );
  });

  const detail = async (
    c: Context<UiEnv>,
    state?: FormState,
    res?: ApiResult,
    newKey?: NewKey,
  ) => {
    const page = await detailView(c.get("ui"), c.req.param("id")!, state, newKey);
    if (!page) return notFound(c);
    return c.html(page, res && !res.ok ? statusOf(res) : 200);
  };

  app.get("/:id", (c) => detail(c));

  /** Answers a change made on the gateway's page: back to it, or the form with the refusal. */
  const changed = (
    c: Context<UiEnv>,
    res: ApiResult,
    form: string,
    message: string,
  ) => {
    if (res.ok) return done(c, deps, message, `/ui/gateways/${c.req.param("id")}`);
    return detail(c, { form, values: valuesOf(c.get("form")), error: res.error }, res);
  };

  app.post("/:id", async (c) => {
    const res = await c.get("ui").api.call(
      "PATCH",
      `/gateways/${c.req.param("id")}`,
      gatewayBody(c.get("form"), false),
    );
    return changed(c, res, "edit", "Gateway saved.");
  });

  app.post("/:id/delete", async (c) => {
    const res = await c.get("ui").api.call("DELETE", `/gateways/${c.req.param("id")}`);
    if (res.ok) return done(c, deps, "Gateway deleted.", "/ui/gateways");
    return changed(c, res, "delete", "");
  });

  app.post("/:id/tools", async (c) => {
    const f = c.get("form");
    const toolIds = f.getAll("toolIds").map(String);
    const body: Json = { toolIds };
    const limit = numberField(f, "rateLimit");
    if (limit !== undefined) body.rateLimit = limit;
    if (toolIds.length === 0) {
      return detail(c, {
        form: "assign",
        values: valuesOf(f),
        error: { code: "invalid_request", message: "choose at least one tool" },
      });
    }
    const res = await c.get("ui").api.call("POST", `/gateways/${c.req.param("id")}/tools`, body);
    return changed(c, res, "assign", `${toolIds.length} tool(s) assigned.`);
  });

  app.post("/:id/tools/:toolId", async (c) => {
    const f = c.get("form");
    const body: Json = {};
    if (f.has("enabled")) body.enabled = text(f, "enabled") === "true";
    if (f.has("rateLimit")) body.rateLimit = numberField(f, "rateLimit") ?? null;
    const res = await c.get("ui").api.call(
      "PATCH",
      `/gateways/${c.req.param("id")}/tools/${c.req.param("toolId")}`,
      body,
    );
    const what = body.enabled === undefined
      ? `Rate limit of ${res.body?.name ?? "the tool"} set.`
      : `${res.body?.name ?? "The tool"} turned ${body.enabled ? "on" : "off"}.`;
    return changed(c, res, `tool-${c.req.param("toolId")}`, what);
  });

  app.post("/:id/tools/:toolId/remove", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/gateways/${c.req.param("id")}/tools/${c.req.param("toolId")}`,
    );
    return changed(c, res, "assign", "Tool removed from the gateway.");
  });

  // Attaching an attached server again changes how it is served (the API answers 200).
  app.post("/:id/servers", async (c) => {
    const f = c.get("form");
    const body = attachmentBody(f);
    const id = c.req.param("id");
    const existing = await c.get("ui").api.get(`/gateways/${id}/servers/${body.serverId}`);
    const res = await c.get("ui").api.call("POST", `/gateways/${id}/servers`, body);
    const form = existing.ok ? `attach-${body.serverId}` : "attach";
    const name = res.body?.name ?? "The server";
    return changed(c, res, form, existing.ok ? `${name} is served as set.` : `${name} attached.`);
  });

  app.post("/:id/servers/:serverId/detach", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/gateways/${c.req.param("id")}/servers/${c.req.param("serverId")}`,
    );
    return changed(c, res, "attach", "Server detached.");
  });

  app.post("/:id/auth", async (c) => {
    const f = c.get("form");
    const parsed = authMethodBody(f, true);
    if (parsed.problem) {
      return detail(c, { form: "auth", values: valuesOf(f), error: parsed.problem });
    }
    const res = await c.get("ui").api.call(
      "POST",
      `/gateways/${c.req.param("id")}/auth`,
      parsed.body,
    );
    return changed(c, res, "auth", `The ${parsed.body.type} method is on.`);
  });

  app.post("/:id/auth/:methodId", async (c) => {
    const f = c.get("form");
    const form = `auth-${c.req.param("methodId")}`;
    const parsed = authMethodBody(f, false);
    if (parsed.problem) return detail(c, { form, values: valuesOf(f), error: parsed.problem });
    const res = await c.get("ui").api.call(
      "PATCH",
      `/gateways/${c.req.param("id")}/auth/${c.req.param("methodId")}`,
      parsed.body,
    );
    return changed(c, res, form, `The ${res.body?.type ?? ""} method is saved.`);
  });

  app.post("/:id/auth/:methodId/delete", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/gateways/${c.req.param("id")}/auth/${c.req.param("methodId")}`,
    );
    return changed(c, res, "auth", "Auth method removed.");
  });

  app.post("/:id/keys", async (c) => {
    const f = c.get("form");
    const body: Json = { name: text(f, "name"), scopes: f.getAll("scopes").map(String) };
    const expiresAt = timeField(f, "expiresAt");
    if (expiresAt) body.expiresAt = expiresAt;
    const rateLimit = rateLimitField(f, "rateLimit");
    if (rateLimit !== null) body.rateLimit = rateLimit;
    const res = await c.get("ui").api.call("POST", `/gateways/${c.req.param("id")}/keys`, body);
    if (!res.ok) return changed(c, res, "key", "");
    // Shown on this answer only: never put in a redirect, a cookie or a log.
    c.header("cache-control", "no-store");
    return detail(c, undefined, undefined, { name: res.body.name, key: res.body.key });
  });

  app.post("/:id/keys/:keyId", async (c) => {
    const res = await c.get("ui").api.call(
      "PATCH",
      `/gateways/${c.req.param("id")}/keys/${c.req.param("keyId")}`,
      { rateLimit: rateLimitField(c.get("form"), "rateLimit") },
    );
    const limit = res.body?.rateLimit;
    const what = limit
      ? `${limit.requests} request${limit.requests === 1 ? "" : "s"} per ${limit.windowSeconds} s`
      : "the gateway's rate limit";
    return changed(c, res, `key-${c.req.param("keyId")}`, `Key ${res.body?.name} now has ${what}.`);
  });

  app.post("/:id/keys/:keyId/revoke", async (c) => {
    const res = await c.get("ui").api.call(
      "DELETE",
      `/gateways/${c.req.param("id")}/keys/${c.req.param("keyId")}`,
    );
    return changed(c, res, "key", `Key ${res.body?.name ?? ""} revoked.`);
  });

  app.route("/", tryRoutes(deps));

  return app;
}
