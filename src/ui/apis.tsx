/**
 * The OpenAPI import pages: a document uploaded or pasted, then what it
 * would make (`POST /apis?dryRun=true`: each operation with its tags, the
 * context cost, the warnings) with a box for each tag and each operation,
 * then the import itself as a job (`?async=true`) whose progress the page
 * follows; and the imported APIs with their tools (re-imported by the pages
 * of `reimport.tsx`).
 *
 * The document travels from the preview to the import inside the preview's
 * form: the server keeps nothing between the two steps, so any replica can
 * take either.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { Json } from "./client.ts";
import {
  Badge,
  Check,
  counted,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  PostButton,
  Table,
  valueOf,
  When,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { DocumentFields, secretNames } from "./document_fields.tsx";
import { done, optional, statusOf, text, valuesOf } from "./forms.ts";
import { missing, Page } from "./layout.tsx";
import { reimportRoutes } from "./reimport.tsx";

const IMPORT_FIELDS = ["name", "spec", "baseUrl", "secret", "slim", "include", "exclude"];

async function listView(ui: UiRequest) {
  const res = await ui.api.get("/apis?limit=1000");
  const apis: Json[] = res.ok ? res.body.apis : [];
  return (
    <Page ui={ui} title="OpenAPI import" section="/ui/apis">
      <p class="muted">
        An OpenAPI document (3.0, 3.1 or Swagger 2.0, JSON or YAML) becomes one tool per operation.
        Importing it again later keeps the tools' ids and assignments.
      </p>
      {ui.canWrite
        ? (
          <p>
            <a class="button" href="/ui/apis/import">Import a document</a>
          </p>
        )
        : null}
      {apis.length === 0
        ? <Empty>Nothing imported yet. Upload or paste a document to see the tools it makes.</Empty>
        : (
          <Table head={["API", "Version", ["Tools", "num"], "Imported"]} caption="Imported APIs">
            {apis.map((a) => (
              <tr>
                <td>
                  <a href={`/ui/apis/${a.id}`}>{a.name}</a>
                  <br />
                  <span class="muted">{a.title}</span>
                </td>
                <td>{`${a.version} (${a.specVersion})`}</td>
                <td class="num">{a.toolCount}</td>
                <td>
                  <When at={a.updatedAt} />
                </td>
              </tr>
            ))}
          </Table>
        )}
    </Page>
  );
}

async function importForm(ui: UiRequest, state?: FormState) {
  const secrets = await secretNames(ui);
  const v = (name: string, fallback = "") => valueOf(state, "import", name, fallback);
  const e = (name: string) => errorOf(state, "import", name);
  return (
    <Page ui={ui} title="Import an OpenAPI document" section="/ui/apis">
      <form
        method="post"
        action="/ui/apis/preview"
        class="stack"
        enctype="multipart/form-data"
      >
        <Csrf token={ui.csrf} />
        <ErrorSummary state={state} form="import" fields={IMPORT_FIELDS} />
        <Field
          label="Name"
          name="name"
          value={v("name")}
          error={e("name")}
          hint="What the API is called here, e.g. petstore."
          required
        />
        <DocumentFields
          form="import"
          state={state}
          fileLabel="Upload the document"
          secrets={secrets}
        />
        <Check label="Slim the schemas (smaller tools/list, same calls)" name="slim" />
        <button type="submit">See what it makes</button>
      </form>
    </Page>
  );
}

/** The operations of a preview as the import form carries them. */
interface Operation {
  operationId: string | null;
  tags: string[];
}

function previewView(
  ui: UiRequest,
  preview: Json,
  sent: { name: string; spec: string; baseUrl?: string; secret?: string; slim: boolean },
) {
  const ops: Json[] = preview.operations;
  const tags = [...new Set(ops.flatMap((o) => o.tags as string[]))].sort();
  const carried: Operation[] = ops.map((o) => ({ operationId: o.operationId, tags: o.tags }));
  const bytes = new Map(
    (preview.contextCost.tools as Json[]).map((t) => [t.name, t.bytes as number]),
  );
  return (
    <Page ui={ui} title={`Import ${preview.title || sent.name}`} section="/ui/apis">
      <p>
        {`${ops.length} operations of ${preview.title} ${preview.version} (OpenAPI ${preview.specVersion}) would become tools, taking ${preview.contextCost.totalBytes} bytes of tools/list. Nothing is stored until you import.`}
      </p>
      {preview.warnings.length > 0
        ? (
          <section class="notice warn" aria-labelledby="warnings">
            <h2 id="warnings">Warnings</h2>
            <ul>{(preview.warnings as string[]).map((w) => <li>{w}</li>)}</ul>
          </section>
        )
        : null}
      <form method="post" action="/ui/apis/import" class="stack wide">
        <Csrf token={ui.csrf} />
        <input type="hidden" name="name" value={sent.name} />
        <input type="hidden" name="spec" value={sent.spec} />
        <input type="hidden" name="baseUrl" value={sent.baseUrl ?? ""} />
        <input type="hidden" name="secret" value={sent.secret ?? ""} />
        <input type="hidden" name="slim" value={sent.slim ? "on" : ""} />
        <input type="hidden" name="operations" value={JSON.stringify(carried)} />
        {tags.length > 0
          ? (
            <fieldset>
              <legend>By tag</legend>
              {tags.map((t) => (
                <span data-tag-box>
                  <label class="check" for={`tag-${t}`}>
                    <input type="checkbox" id={`tag-${t}`} data-tag={t} checked />
                    {`${t} (${ops.filter((o) => o.tags.includes(t)).length})`}
                  </label>
                </span>
              ))}
              <p class="hint">Unticking a tag unticks its operations.</p>
            </fieldset>
          )
          : null}
        <div class="field">
          <label for="op-filter">Filter the operations</label>
          <input id="op-filter" type="search" data-filter="op-table" />
        </div>
        <Table
          id="op-table"
          head={["Import", "Tool", "Operation", "Tags", ["Bytes", "num"]]}
          caption="Operations"
        >
          {ops.map((o, i) => (
            <tr data-row>
              <td>
                <input
                  type="checkbox"
                  name="op"
                  value={String(i)}
                  id={`op-${i}`}
                  aria-label={`Import ${o.name}`}
                  checked
                  data-op-tags={(o.tags as string[]).join(" ")}
                />
              </td>
              <td>
                <label for={`op-${i}`}>{o.name}</label>
                {o.title ? <br /> : null}
                {o.title ? <span class="muted">{o.title}</span> : null}
              </td>
              <td>
                <code>{`${o.method} ${o.path}`}</code>
              </td>
              <td>{(o.tags as string[]).join(", ")}</td>
              <td class="num">{bytes.get(o.name) ?? ""}</td>
            </tr>
          ))}
        </Table>
        <p class="hint">
          Operations without an operationId can be left out only with all of their tags.
        </p>
        <div class="actions">
          <button type="submit">Import the ticked operations</button>
          <a href="/ui/apis/import">Start again</a>
        </div>
      </form>
    </Page>
  );
}

/**
 * The `exclude` filter that leaves out the unticked operations: their
 * operationIds, and each tag none of whose operations is ticked (the only
 * way to leave out an operation without an operationId).
 */
export function excludeFor(ops: Operation[], ticked: ReadonlySet<number>): string[] {
  const out = new Set<string>();
  ops.forEach((o, i) => {
    if (!ticked.has(i) && o.operationId) out.add(o.operationId);
  });
  const tags = new Set(ops.flatMap((o) => o.tags));
  for (const tag of tags) {
    if (ops.every((o, i) => !o.tags.includes(tag) || !ticked.has(i))) out.add(tag);
  }
  return [...out];
}

function jobView(ui: UiRequest, job: Json) {
  const running = job.state === "queued" || job.state === "running";
  const p = job.progress ?? {};
  const result = job.result;
  return (
    <Page ui={ui} title="Import" section="/ui/apis" refresh={running}>
      {running
        ? (
          <section
            class="panel"
            data-poll={`/ui/apis/imports/${job.id}/progress`}
            aria-live="polite"
          >
            <h2>Importing…</h2>
            <progress
              class="progress"
              max={p.operations ?? 1}
              value={p.operations ? p.done : undefined}
              aria-label="Import progress"
            >
            </progress>
            <p data-progress-text>
              {`${job.state}${p.phase ? `: ${p.phase}` : ""}${
                p.operations ? ` (${p.done} of ${p.operations} operations)` : ""
              }`}
            </p>
          </section>
        )
        : job.state === "succeeded"
        ? (
          <section class="panel" aria-labelledby="imported">
            <h2 id="imported">
              <Badge tone="ok">imported</Badge>{" "}
              {`${result.name}: ${counted(result.toolCount, "tool")}`}
            </h2>
            <p>
              {`${result.created} created, ${result.updated} updated, ${result.removed} removed; ${result.contextCost.totalBytes} bytes of tools/list.`}
            </p>
            {result.warnings.length > 0
              ? (
                <div class="notice warn">
                  <h3>Warnings</h3>
                  <ul>{(result.warnings as string[]).map((w) => <li>{w}</li>)}</ul>
                </div>
              )
              : null}
            <p class="actions">
              <a class="button" href={`/ui/apis/${result.id}`}>See its tools</a>
              <a class="button secondary" href="/ui/gateways">Assign them on a gateway</a>
            </p>
          </section>
        )
        : (
          <section class="notice bad" role="alert">
            <h2>The import failed</h2>
            <p>
              {job.error?.message}
              {job.error?.field ? ` (${job.error.field})` : ""}
            </p>
            <p>
              <a href="/ui/apis/import">Try again</a>
            </p>
          </section>
        )}
    </Page>
  );
}

async function apiView(ui: UiRequest, id: string) {
  const res = await ui.api.get(`/apis/${id}`);
  if (!res.ok) return null;
  const api = res.body;
  return (
    <Page ui={ui} title={api.name} section="/ui/apis">
      <p>
        {`${api.title} ${api.version} (${api.specVersion}), imported `}
        <When at={api.updatedAt} />
        {api.baseUrl ? ` · calls ${api.baseUrl}` : ""}
        {api.secret ? ` · with secret ${api.secret}` : ""}
      </p>
      <Table head={["Tool", "Operation"]} caption="Its tools">
        {(api.tools as Json[]).map((t) => (
          <tr>
            <td>
              <a href={`/ui/tools/${t.id}`}>{t.name}</a>
            </td>
            <td>
              <code>{`${t.method} ${t.path}`}</code>
            </td>
          </tr>
        ))}
      </Table>
      {ui.canWrite
        ? (
          <p class="actions">
            <a class="button" href={`/ui/apis/${id}/reimport`}>Re-import a new version</a>
            <PostButton
              action={`/ui/apis/${id}/delete`}
              csrf={ui.csrf}
              label="Delete this API and its tools"
              danger
              confirm={`Delete ${api.name} and its ${counted(api.tools.length, "tool")}?`}
            />
          </p>
        )
        : null}
    </Page>
  );
}

/** The OpenAPI import routes. */
export function apiPages(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  app.get("/", async (c) => c.html(await listView(c.get("ui"))));
  app.get("/import", async (c) => c.html(await importForm(c.get("ui"))));

  const refused = async (c: Context<UiEnv>, error: Json, status = 400) => {
    const { spec: _spec, ...values } = valuesOf(c.get("form"));
    // A pasted document is shown again; an uploaded one must be chosen again (browsers say so).
    const state = {
      form: "import",
      values: { ...values, spec: text(c.get("form"), "spec") },
      error,
    };
    return c.html(await importForm(c.get("ui"), state), statusOf({ status } as Json));
  };

  app.post("/preview", async (c) => {
    const f = c.get("form");
    const file = f.get("file");
    const spec = file instanceof File && file.size > 0 ? await file.text() : text(f, "spec");
    const sent = {
      name: text(f, "name"),
      spec,
      baseUrl: optional(f, "baseUrl"),
      secret: optional(f, "secret"),
      slim: f.has("slim") && text(f, "slim") !== "",
    };
    const res = await c.get("ui").api.call("POST", "/apis?dryRun=true", {
      name: sent.name,
      spec: spec === "" ? undefined : spec,
      ...(sent.baseUrl ? { baseUrl: sent.baseUrl } : {}),
      ...(sent.secret ? { secret: sent.secret } : {}),
      ...(sent.slim ? { slim: true } : {}),
    });
    if (!res.ok) return refused(c, res.error, res.status);
    return c.html(previewView(c.get("ui"), res.body, sent));
  });

  app.post("/import", async (c) => {
    const f = c.get("form");
    let ops: Operation[] = [];
    try {
      ops = JSON.parse(text(f, "operations"));
    } catch {
      return refused(c, { code: "invalid_request", message: "the preview's form was damaged" });
    }
    const ticked = new Set(f.getAll("op").map(Number));
    const body: Json = { name: text(f, "name"), spec: text(f, "spec") };
    for (const k of ["baseUrl", "secret"]) if (optional(f, k)) body[k] = optional(f, k);
    if (text(f, "slim")) body.slim = true;
    if (ticked.size === 0) {
      return refused(c, { code: "invalid_request", message: "tick at least one operation" });
    }
    if (ticked.size < ops.length) body.exclude = excludeFor(ops, ticked);
    const res = await c.get("ui").api.call("POST", "/apis?async=true", body);
    if (!res.ok) return refused(c, res.error, res.status);
    return c.redirect(`/ui/apis/imports/${res.body.id}`, 303);
  });

  app.get("/imports/:id", async (c) => {
    const res = await c.get("ui").api.get(`/apis/imports/${c.req.param("id")}`);
    if (!res.ok) return missing(c);
    return c.html(jobView(c.get("ui"), res.body));
  });

  // What the page's script polls: the job's state and progress, nothing else.
  app.get("/imports/:id/progress", async (c) => {
    const res = await c.get("ui").api.get(`/apis/imports/${c.req.param("id")}`);
    if (!res.ok) return c.json({ error: res.error }, statusOf(res));
    return c.json({ state: res.body.state, progress: res.body.progress });
  });

  app.route("/", reimportRoutes());

  app.get("/:id", async (c) => {
    const page = await apiView(c.get("ui"), c.req.param("id"));
    return page ? c.html(page) : missing(c);
  });

  app.post("/:id/delete", async (c) => {
    const res = await c.get("ui").api.call("DELETE", `/apis/${c.req.param("id")}`);
    if (res.ok) return done(c, deps, "API and its tools deleted.", "/ui/apis");
    return done(c, deps, `Not deleted: ${res.error?.message}`, `/ui/apis/${c.req.param("id")}`);
  });

  return app;
}
