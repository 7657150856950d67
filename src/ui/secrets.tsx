/**
 * The secrets page: the organization's secrets (metadata only: the API
 * never returns a value), a form to create one with the fields of its
 * type, and for each one a form to rotate its value and a delete button.
 * A value typed into a form is never shown again, not even when the API
 * refuses it.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { ApiResult, Json } from "./client.ts";
import {
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  PostButton,
  Select,
  Table,
  TextArea,
  valueOf,
  When,
} from "./components.tsx";
import type { UiDeps, UiEnv, UiRequest } from "./context.ts";
import { done, jsonField, optional, statusOf, text, valuesOf } from "./forms.ts";
import { Page } from "./layout.tsx";

const TYPES: [string, string][] = [
  ["bearer_token", "Bearer token"],
  ["api_key", "API key (a header or a query parameter)"],
  ["basic_auth", "Basic (username and password)"],
  ["oauth2_client_credentials", "OAuth 2.0 client credentials"],
  ["custom_headers", "Custom headers"],
];

/** The value fields of `type`, named as the API names their parts (`value.key`). */
function ValueFields(
  { type, state, form, prefix }: {
    type: string;
    state?: FormState;
    form: string;
    prefix: string;
  },
) {
  const e = (name: string) => errorOf(state, form, name);
  const id = (name: string) => `${prefix}-${name.replace(".", "-")}`;
  const secret = (label: string, name: string, hint?: string) => (
    <Field
      label={label}
      name={name}
      id={id(name)}
      type="password"
      autocomplete="off"
      error={e(name)}
      hint={hint}
    />
  );
  const plain = (label: string, name: string, hint?: string) => (
    <Field label={label} name={name} id={id(name)} error={e(name)} hint={hint} />
  );
  switch (type) {
    case "api_key":
      return (
        <>
          {secret("Key", "value.key")}
          <Select
            label="Sent in"
            name="value.in"
            id={id("value.in")}
            options={["header", "query"]}
            error={e("value.in")}
          />
          {plain(
            "Header or parameter name",
            "value.name",
            "Default: X-API-Key (api_key in the query).",
          )}
        </>
      );
    case "basic_auth":
      return (
        <>
          {plain("Username", "value.username")}
          {secret("Password", "value.password")}
        </>
      );
    case "oauth2_client_credentials":
      return (
        <>
          {plain("Token URL", "value.tokenUrl")}
          {plain("Client id", "value.clientId")}
          {secret("Client secret", "value.clientSecret")}
          {plain("Scopes (separated by spaces, optional)", "value.scopes")}
          {plain("Audience (optional)", "value.audience")}
        </>
      );
    case "custom_headers":
      return (
        <TextArea
          label="Headers (JSON object of names to values)"
          name="value.headers"
          id={id("value.headers")}
          error={e("value.headers")}
          json="value"
          rows={3}
        />
      );
    default:
      return secret("Token", "value");
  }
}

/** The value of `type` from the form, as the API takes it. */
function valueOfForm(type: string, f: FormData): { value?: unknown; problem?: Json } {
  switch (type) {
    case "api_key": {
      const value: Json = { key: text(f, "value.key"), in: text(f, "value.in") || "header" };
      const name = optional(f, "value.name");
      if (name) value.name = name;
      return { value };
    }
    case "basic_auth":
      return {
        value: { username: text(f, "value.username"), password: text(f, "value.password") },
      };
    case "oauth2_client_credentials": {
      const value: Json = {
        tokenUrl: text(f, "value.tokenUrl"),
        clientId: text(f, "value.clientId"),
        clientSecret: text(f, "value.clientSecret"),
      };
      const scopes = optional(f, "value.scopes");
      if (scopes) value.scopes = scopes.split(/\s+/);
      const audience = optional(f, "value.audience");
      if (audience) value.audience = audience;
      return { value };
    }
    case "custom_headers": {
      const headers = jsonField(f, "value.headers");
      return headers.problem ? { problem: headers.problem } : { value: { headers: headers.value } };
    }
    default:
      return { value: text(f, "value") };
  }
}

/** What a refused form is shown again with: never a value. */
function safeValues(f: FormData): Record<string, string> {
  return Object.fromEntries(
    Object.entries(valuesOf(f)).filter(([k]) => k !== "value" && !k.startsWith("value.")),
  );
}

async function view(ui: UiRequest, type: string, state?: FormState) {
  const res = await ui.api.get("/secrets");
  const secrets: Json[] = res.ok ? res.body.secrets : [];
  const v = (name: string, fallback = "") => valueOf(state, "create", name, fallback);
  const e = (name: string) => errorOf(state, "create", name);
  return (
    <Page ui={ui} title="Secrets" section="/ui/secrets">
      <p class="muted">
        Credentials tools send to the APIs they call, encrypted at rest. A value goes in and is
        never shown again, to anyone: rotate it to change it.
      </p>
      {secrets.length === 0
        ? <Empty>No secrets yet. Tools name one in their auth, or as {"{{secrets.NAME}}"}.</Empty>
        : (
          <Table head={["Name", "Type", "Description", "Changed", ""]} caption="Secrets">
            {secrets.map((s) => (
              <tr>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>{s.type}</td>
                <td>{s.description}</td>
                <td>
                  <When at={s.updatedAt} />
                </td>
                <td>
                  {ui.canWrite
                    ? (
                      <>
                        <details open={state?.form === `rotate-${s.id}`}>
                          <summary>Rotate</summary>
                          <form method="post" action={`/ui/secrets/${s.id}`} class="stack">
                            <Csrf token={ui.csrf} />
                            <ErrorSummary
                              state={state}
                              form={`rotate-${s.id}`}
                              fields={["value"]}
                            />
                            <ValueFields
                              type={s.type}
                              state={state}
                              form={`rotate-${s.id}`}
                              prefix={`rotate-${s.id}`}
                            />
                            <button type="submit">Save the new value</button>
                          </form>
                        </details>
                        <PostButton
                          action={`/ui/secrets/${s.id}/delete`}
                          csrf={ui.csrf}
                          label="Delete"
                          danger
                          confirm={`Delete ${s.name}? Tools using it will fail.`}
                        />
                      </>
                    )
                    : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      {ui.canWrite
        ? (
          <section class="panel" aria-labelledby="new-secret">
            <h2 id="new-secret">New secret</h2>
            <form method="get" action="/ui/secrets" class="inline">
              <label for="secret-type">Type</label>
              <select id="secret-type" name="type">
                {TYPES.map(([value, label]) => (
                  <option value={value} selected={value === type}>{label}</option>
                ))}
              </select>
              <button type="submit" class="secondary small">Choose</button>
            </form>
            <form method="post" action="/ui/secrets" class="stack">
              <Csrf token={ui.csrf} />
              <input type="hidden" name="type" value={type} />
              <ErrorSummary state={state} form="create" fields={["name", "description", "value"]} />
              <Field
                label="Name"
                name="name"
                value={v("name")}
                error={e("name")}
                hint="Letters, digits and '_', e.g. STRIPE_KEY; tools use it as {{secrets.NAME}}."
                required
              />
              <Field
                label="Description (optional)"
                name="description"
                value={v("description")}
                error={e("description")}
              />
              <ValueFields type={type} state={state} form="create" prefix="new" />
              <button type="submit">Create secret</button>
            </form>
          </section>
        )
        : null}
    </Page>
  );
}

/** The secret routes. */
export function secretRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const typeOf = (t: string | undefined) => TYPES.some(([v]) => v === t) ? t! : "bearer_token";

  app.get("/", async (c) => c.html(await view(c.get("ui"), typeOf(c.req.query("type")))));

  const again = async (c: Context<UiEnv>, type: string, state: FormState, res?: ApiResult) =>
    c.html(await view(c.get("ui"), type, state), statusOf(res));

  app.post("/", async (c) => {
    const f = c.get("form");
    const type = typeOf(text(f, "type"));
    const value = valueOfForm(type, f);
    const state = (error: Json): FormState => ({ form: "create", values: safeValues(f), error });
    if (value.problem) return again(c, type, state(value.problem));
    const body: Json = { name: text(f, "name"), type, value: value.value };
    const description = optional(f, "description");
    if (description) body.description = description;
    const res = await c.get("ui").api.call("POST", "/secrets", body);
    if (res.ok) return done(c, deps, `Secret ${res.body.name} created.`, "/ui/secrets");
    return again(c, type, state(res.error), res);
  });

  app.post("/:id", async (c) => {
    const f = c.get("form");
    const id = c.req.param("id");
    const current = await c.get("ui").api.get(`/secrets/${id}`);
    if (!current.ok) return done(c, deps, "That secret is gone.", "/ui/secrets");
    const value = valueOfForm(current.body.type, f);
    const state = (error: Json): FormState => ({ form: `rotate-${id}`, values: {}, error });
    if (value.problem) return again(c, "bearer_token", state(value.problem));
    const res = await c.get("ui").api.call("PATCH", `/secrets/${id}`, { value: value.value });
    if (res.ok) return done(c, deps, `Secret ${res.body.name} rotated.`, "/ui/secrets");
    return again(c, "bearer_token", state(res.error), res);
  });

  app.post("/:id/delete", async (c) => {
    const res = await c.get("ui").api.call("DELETE", `/secrets/${c.req.param("id")}`);
    return done(
      c,
      deps,
      res.ok ? "Secret deleted." : `Not deleted: ${res.error?.message}`,
      "/ui/secrets",
    );
  });

  return app;
}
