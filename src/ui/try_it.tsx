/**
 * "Try it": a tool of a gateway run from a form made from its input schema,
 * and its answer shown as MCP gives it. Members and up run it as
 * themselves in one click (`POST /gateways/{id}/call`: the gateway's MCP
 * path as the signed-in member, so its tools, limits and request log apply
 * and the log names them). Anyone may instead present a credential of the
 * gateway, as an MCP client would (see `schema_form.tsx`), which also goes
 * through the gateway's auth methods.
 *
 * @module
 */
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Json } from "./client.ts";
import { withQuery } from "./client.ts";
import { CopyBlock, Csrf, Field } from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { optional, statusOf, text, valuesOf } from "./forms.ts";
import { missing, Page } from "./layout.tsx";
import { ArgumentFields, callTool, readArguments } from "./schema_form.tsx";

/** What a run came to: MCP's answer with its HTTP status, or the API's refusal of the run. */
interface Run {
  status: number;
  answer?: Json;
  refusal?: string;
}

/** What the try page is shown with after a run. */
interface TryState {
  values: Record<string, string>;
  errors: Record<string, string>;
  /** How it ran: as the signed-in member, or with a credential. */
  as: "me" | "credential";
  run?: Run;
}

/** The notice above MCP's answer: who answered what. */
function Verdict({ run }: { run: Run }) {
  if (run.refusal) return <p class="notice bad" role="alert">{run.refusal}</p>;
  if (run.status >= 400) {
    return <p class="notice bad">{`The gateway refused the call (HTTP ${run.status}).`}</p>;
  }
  if (run.answer?.error) {
    return <p class="notice bad">The gateway answered with a JSON-RPC error.</p>;
  }
  if (run.answer?.result?.isError) {
    return <p class="notice bad">The tool answered with an error (isError).</p>;
  }
  return <p class="notice ok">The tool answered.</p>;
}

async function tryView(ui: UiRequest, id: string, toolId: string, state?: TryState) {
  const [gwRes, toolRes, authRes] = await Promise.all([
    ui.api.get(`/gateways/${id}`),
    ui.api.get(`/tools/${toolId}`),
    ui.api.get(`/gateways/${id}/auth`),
  ]);
  if (!gwRes.ok || !toolRes.ok) return null;
  const gw = gwRes.body, tool = toolRes.body;
  const methods: Json[] = authRes.ok ? authRes.body.methods : [];
  const open = methods.some((m) => m.type === "none");
  const run = state?.run;
  return (
    <Page ui={ui} title={`Try ${tool.name}`} section="/ui/gateways">
      <p>
        Calls <code>{tool.name}</code> through <a href={`/ui/gateways/${id}`}>{gw.name}</a>{" "}
        as an MCP client would: a <code>tools/call</code> on{" "}
        <code>{gw.urls.http}</code>, with the gateway's tools, rate limits and request log.
      </p>
      {tool.description ? <p class="muted">{tool.description}</p> : null}
      {/* Not checked by the browser: the arguments may come as JSON instead, and MCP says what is wrong. */}
      <form method="post" action={`/ui/gateways/${id}/try/${toolId}`} class="stack" novalidate>
        <Csrf token={ui.csrf} />
        <ArgumentFields
          schema={tool.inputSchema}
          values={state?.values ?? {}}
          errors={state?.errors ?? {}}
        />
        {ui.canWrite
          ? (
            <div class="field">
              <div class="actions">
                <button type="submit" name="as" value="me" aria-describedby="as-me-hint">
                  Run as you
                </button>
              </div>
              <p class="hint" id="as-me-hint">
                {`As ${ui.me.user.email}, signed in here: no gateway key needed, and the request log names you. The gateway's auth methods are not asked.`}
              </p>
            </div>
          )
          : null}
        <details open={!ui.canWrite || state?.as === "credential"}>
          <summary>
            {ui.canWrite
              ? "Or run it with a credential of the gateway"
              : "Run it with a credential of the gateway"}
          </summary>
          <div class="stack">
            {methods.length === 0
              ? (
                <p class="notice bad">
                  This gateway has no auth method yet: it refuses every call with a credential.
                </p>
              )
              : null}
            <Field
              label={open
                ? "Credential (optional: the gateway takes calls without one)"
                : "Credential"}
              name="credential"
              type="password"
              autocomplete="off"
              hint="What an MCP client of this gateway sends as Authorization: Bearer: a gateway key (ghk_...) for api_key and bearer, a token for jwt or oauth2. It is sent once and not kept."
              error={state?.errors.credential}
            />
            <div>
              <button
                type="submit"
                name="as"
                value="credential"
                class={ui.canWrite ? "secondary" : undefined}
              >
                Run with this credential
              </button>
            </div>
          </div>
        </details>
      </form>
      {run
        ? (
          <section class="panel" aria-labelledby="result">
            <h2 id="result">Result</h2>
            <Verdict run={run} />
            {run.answer
              ? (
                <CopyBlock
                  id="try-result"
                  text={JSON.stringify(run.answer, null, 2)}
                  label="the result"
                />
              )
              : null}
            {ui.isAdmin && !run.refusal
              ? (
                <p>
                  <a href={withQuery("/ui/activity/log", { gatewayId: id, tool: tool.name })}>
                    See the call in the activity log
                  </a>
                </p>
              )
              : null}
          </section>
        )
        : null}
    </Page>
  );
}

/** The refusal of a try's HTTP answer, named by its field for the form. */
function credentialProblem(status: number, answer: Json): Record<string, string> {
  if (status === 401 || status === 403) {
    return { credential: answer?.error?.message ?? `refused (HTTP ${status})` };
  }
  return {};
}

/** The try routes, under a gateway's path: `/:id/try/:toolId`. */
export function tryRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  app.get("/:id/try/:toolId", async (c) => {
    const page = await tryView(c.get("ui"), c.req.param("id"), c.req.param("toolId"));
    return page ? c.html(page) : missing(c);
  });

  app.post("/:id/try/:toolId", async (c) => {
    const ui = c.get("ui");
    const f = c.get("form");
    const id = c.req.param("id");
    const [gw, tool] = await Promise.all([
      ui.api.get(`/gateways/${id}`),
      ui.api.get(`/tools/${c.req.param("toolId")}`),
    ]);
    if (!gw.ok || !tool.ok) return missing(c);
    // The credential is never shown again: not in the values the form is filled with.
    const { credential: _credential, as: _as, ...values } = valuesOf(f);
    const as = text(f, "as") === "me" ? "me" : "credential";
    const read = readArguments(tool.body.inputSchema, f);
    let state: TryState;
    let status: ContentfulStatusCode = 200;
    if ("errors" in read) state = { values, errors: read.errors, as };
    else if (as === "me") {
      const res = await ui.api.call("POST", `/gateways/${id}/call`, {
        name: tool.body.name,
        arguments: read.args,
      });
      // MCP's answer, whatever it says; else the API refused the run itself (a viewer...).
      const run: Run = res.body?.jsonrpc === "2.0"
        ? { status: res.status, answer: res.body }
        : { status: res.status, refusal: res.error?.message ?? `HTTP ${res.status}` };
      if (run.refusal) status = statusOf(res);
      state = { values, errors: {}, as, run };
    } else {
      const path = `/mcp/${gw.body.org}${gw.body.endpoint}`;
      const result = await callTool(
        deps.app,
        c,
        path,
        tool.body.name,
        read.args,
        optional(f, "credential"),
      );
      state = {
        values,
        errors: credentialProblem(result.status, result.answer),
        as,
        run: result,
      };
    }
    const page = await tryView(ui, id, c.req.param("toolId"), state);
    return page ? c.html(page, status) : missing(c);
  });

  return app;
}
