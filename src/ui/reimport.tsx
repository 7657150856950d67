/**
 * Re-importing an imported API: a new version of its document uploaded or
 * pasted with the API's settings (filled with what it has now), then what
 * the re-import would change (`PUT /apis/{id}?dryRun=true`: each tool
 * made, rewritten with the fields that change, renamed or left as it is,
 * each tool removed with the gateways that lose it, the API's settings that
 * change, the warnings), then the re-import itself as a job
 * (`?async=true`) whose progress the import pages follow.
 *
 * Like the first import, the document travels from the preview to the
 * re-import inside the preview's form: nothing is kept between the two.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiProblem, Json } from "./client.ts";
import {
  Badge,
  Check,
  Csrf,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  Table,
  valueOf,
} from "./components.tsx";
import type { UiEnv, UiRequest } from "./context.ts";
import { DocumentFields, secretNames } from "./document_fields.tsx";
import { optional, statusOf, text, valuesOf } from "./forms.ts";
import { missing, Page } from "./layout.tsx";

const FIELDS = ["name", "spec", "baseUrl", "secret", "slim", "include", "exclude"];

/** A filter list as the form writes it: values separated by commas or lines. */
const listText = (list: string[] | null | undefined) => (list ?? []).join(", ");
const listOf = (text: string) => text.split(/[,\n]/).map((v) => v.trim()).filter((v) => v);

/** The re-import's body from the form, with the document `spec`. */
function bodyOf(f: FormData, spec: string): Json {
  const body: Json = { name: text(f, "name"), spec: spec === "" ? undefined : spec };
  for (const k of ["baseUrl", "secret"]) if (optional(f, k)) body[k] = optional(f, k);
  for (const k of ["include", "exclude"]) {
    const values = listOf(text(f, k));
    if (values.length > 0) body[k] = values;
  }
  if (text(f, "slim")) body.slim = true;
  return body;
}

async function formView(ui: UiRequest, api: Json, state?: FormState) {
  const secrets = await secretNames(ui);
  const v = (name: string, fallback = "") => valueOf(state, "reimport", name, fallback);
  const e = (name: string) => errorOf(state, "reimport", name);
  return (
    <Page ui={ui} title={`Re-import ${api.name}`} section="/ui/apis">
      <p>
        A new version of the document replaces the API's tools. Tools of operations still in it
        (same operationId, else same method and path) keep their ids and gateway assignments; you
        see every change before anything is stored.
      </p>
      <form
        method="post"
        action={`/ui/apis/${api.id}/reimport/preview`}
        class="stack"
        enctype="multipart/form-data"
      >
        <Csrf token={ui.csrf} />
        <ErrorSummary state={state} form="reimport" fields={FIELDS} />
        <Field
          label="Name"
          name="name"
          value={v("name", api.name)}
          error={e("name")}
          required
        />
        <DocumentFields
          form="reimport"
          state={state}
          fileLabel="Upload the new document"
          secrets={secrets}
          current={{ baseUrl: api.baseUrl ?? "", secret: api.secret ?? "" }}
        />
        <Field
          label="Only these tags or operationIds (optional)"
          name="include"
          value={v("include", listText(api.include))}
          error={e("include")}
          hint="Separated by commas. The API's filters now are filled in."
        />
        <Field
          label="Leave out these tags or operationIds (optional)"
          name="exclude"
          value={v("exclude", listText(api.exclude))}
          error={e("exclude")}
        />
        <Check
          label="Slim the schemas (smaller tools/list, same calls)"
          name="slim"
          checked={state?.form === "reimport" && state.values.slim !== undefined}
        />
        <div class="actions">
          <button type="submit">See what changes</button>
          <a href={`/ui/apis/${api.id}`}>Cancel</a>
        </div>
      </form>
    </Page>
  );
}

/** How one operation's tool changes, in a badge. */
function ChangeBadge({ op }: { op: Json }) {
  if (op.change === "create") return <Badge tone="ok">new</Badge>;
  if (op.change === "unchanged") return <span class="muted">unchanged</span>;
  return <Badge tone="warn">{op.previousName ? "renamed" : "changed"}</Badge>;
}

/** Where a JSON value of the settings table is shown: as text, or "(none)". */
const shown = (v: unknown) =>
  v === null || v === undefined ? "(none)" : Array.isArray(v) ? v.join(", ") : String(v);

async function previewView(
  ui: UiRequest,
  api: Json,
  plan: Json,
  sent: Record<string, string>,
) {
  const gateways = await ui.api.get("/gateways?limit=1000");
  const names = new Map<string, string>(
    (gateways.ok ? gateways.body.gateways as Json[] : []).map((g) => [g.id, g.name]),
  );
  const gatewayList = (ids: string[]) =>
    ids.length === 0 ? <span class="muted">none</span> : ids.map((id, i) => (
      <>
        {i > 0 ? ", " : ""}
        <a href={`/ui/gateways/${id}`}>{names.get(id) ?? id}</a>
      </>
    ));
  const order = { create: 0, update: 1, unchanged: 2 } as Record<string, number>;
  const ops = [...plan.operations as Json[]].sort((a, b) => order[a.change] - order[b.change]);
  const c = plan.counts;
  return (
    <Page ui={ui} title={`Re-import ${api.name}: what changes`} section="/ui/apis">
      <p>
        {`${c.created} new, ${c.updated} changed, ${c.unchanged} unchanged and ${c.removed} removed tools, from ${plan.title} ${plan.version} (OpenAPI ${plan.specVersion}). Nothing is stored until you re-import.`}
      </p>
      {plan.sameDocument ? <p class="notice ok">This is the document imported last time.</p> : null}
      {plan.settings.length > 0
        ? (
          <section class="panel" aria-labelledby="settings-change">
            <h2 id="settings-change">Settings of the API</h2>
            <Table head={["Setting", "Now", "After"]} caption="Settings that change">
              {(plan.settings as Json[]).map((s) => (
                <tr>
                  <td>{s.field}</td>
                  <td class="diff-before">{shown(s.before)}</td>
                  <td class="diff-after">{shown(s.after)}</td>
                </tr>
              ))}
            </Table>
          </section>
        )
        : null}
      {plan.warnings.length > 0
        ? (
          <section class="notice warn" aria-labelledby="warnings">
            <h2 id="warnings">Warnings</h2>
            <ul>{(plan.warnings as string[]).map((w) => <li>{w}</li>)}</ul>
          </section>
        )
        : null}
      {plan.removed.length > 0
        ? (
          <section class="panel" aria-labelledby="removed">
            <h2 id="removed">{`Removed (${plan.removed.length})`}</h2>
            <p>
              Their operations are gone from the document (or filtered out): the tools are deleted,
              and the gateways below stop serving them.
            </p>
            <Table head={["Tool", "Operation", "Served by"]} caption="Tools removed">
              {(plan.removed as Json[]).map((t) => (
                <tr>
                  <td>
                    <a href={`/ui/tools/${t.id}`}>{t.name}</a>
                  </td>
                  <td>
                    <code>{`${t.method} ${t.path}`}</code>
                  </td>
                  <td>{gatewayList(t.gateways)}</td>
                </tr>
              ))}
            </Table>
          </section>
        )
        : null}
      <section class="panel" aria-labelledby="tools-after">
        <h2 id="tools-after">{`Tools after the re-import (${ops.length})`}</h2>
        <div class="field">
          <label for="change-filter">Filter the tools</label>
          <input id="change-filter" type="search" data-filter="change-table" />
        </div>
        <Table
          id="change-table"
          head={["Change", "Tool", "Operation", "What changes", "Served by"]}
          caption="Tools after the re-import"
        >
          {ops.map((o) => (
            <tr data-row>
              <td>
                <ChangeBadge op={o} />
              </td>
              <td>
                {o.id ? <a href={`/ui/tools/${o.id}`}>{o.name}</a> : o.name}
                {o.previousName ? <br /> : null}
                {o.previousName ? <span class="muted">{`was ${o.previousName}`}</span> : null}
              </td>
              <td>
                <code>{`${o.method} ${o.path}`}</code>
              </td>
              <td>{o.fields.join(", ")}</td>
              <td>{o.id ? gatewayList(o.gateways) : <span class="muted">none yet</span>}</td>
            </tr>
          ))}
        </Table>
      </section>
      <form method="post" action={`/ui/apis/${api.id}/reimport`} class="actions">
        <Csrf token={ui.csrf} />
        {Object.entries(sent).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <button type="submit">Re-import</button>
        <a href={`/ui/apis/${api.id}/reimport`}>Start again</a>
      </form>
    </Page>
  );
}

/** The re-import routes, under an API's path: `/:id/reimport...`. */
export function reimportRoutes(): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  const apiOf = async (c: Context<UiEnv>) => {
    const res = await c.get("ui").api.get(`/apis/${c.req.param("id")}`);
    return res.ok ? res.body : undefined;
  };
  const refused = async (c: Context<UiEnv>, api: Json, error: ApiProblem, status: number) => {
    // A pasted document is shown again; an uploaded one must be chosen again (browsers say so).
    const state = { form: "reimport", values: valuesOf(c.get("form")), error };
    return c.html(await formView(c.get("ui"), api, state), statusOf({ status } as Json));
  };

  app.get("/:id/reimport", async (c) => {
    const api = await apiOf(c);
    return api ? c.html(await formView(c.get("ui"), api)) : missing(c);
  });

  app.post("/:id/reimport/preview", async (c) => {
    const api = await apiOf(c);
    if (!api) return missing(c);
    const f = c.get("form");
    const file = f.get("file");
    const spec = file instanceof File && file.size > 0 ? await file.text() : text(f, "spec");
    const res = await c.get("ui").api.call(
      "PUT",
      `/apis/${api.id}?dryRun=true`,
      bodyOf(f, spec),
    );
    if (!res.ok) return await refused(c, api, res.error!, res.status);
    const { spec: _pasted, ...values } = valuesOf(f);
    return c.html(await previewView(c.get("ui"), api, res.body, { ...values, spec }));
  });

  app.post("/:id/reimport", async (c) => {
    const api = await apiOf(c);
    if (!api) return missing(c);
    const f = c.get("form");
    const res = await c.get("ui").api.call(
      "PUT",
      `/apis/${api.id}?async=true`,
      bodyOf(f, text(f, "spec")),
    );
    if (!res.ok) return await refused(c, api, res.error!, res.status);
    return c.redirect(`/ui/apis/imports/${res.body.id}`, 303);
  });

  return app;
}
