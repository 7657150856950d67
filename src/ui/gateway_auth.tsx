/**
 * A gateway's auth methods on its page: each with its order, whether it is
 * required, its validation rules and its configuration, changed in place
 * (`PATCH /gateways/{id}/auth/{methodId}`), removed, or added
 * (`POST /gateways/{id}/auth`); and the form fields read back into the
 * API's bodies. Validation rules are written as lines (one CIDR block, or
 * one `Name: value` header, a line) and sent as the API's lists and maps.
 *
 * @module
 */
import type { ApiProblem, Json } from "./client.ts";
import {
  Check,
  Csrf,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  PostButton,
  Select,
  Table,
  TextArea,
  valueOf,
} from "./components.tsx";
import type { UiRequest } from "./context.ts";
import { jsonField, numberField, text } from "./forms.ts";

const AUTH_TYPES = [
  ["api_key", "API key (gateway keys in a header or the query)"],
  ["bearer", "Bearer (gateway keys, Authorization header only)"],
  ["basic", "Basic (members' email and password)"],
  ["oauth2", "OAuth 2.1 (members sign in)"],
  ["jwt", "JWT from your identity provider"],
  ["none", "None (anyone who can reach it)"],
] as [string, string][];

/** Types whose methods take a configuration. */
const CONFIGURED = new Set(["jwt", "oauth2"]);

const IPS = "validationRules.allowedIpRanges";
const HEADERS = "validationRules.requiredHeaders";
/** The fields of an auth method's forms, as the API names them in its errors. */
const FIELDS = ["type", "configuration", "order", "required", IPS, HEADERS, "validationRules"];

/** The rules of `m` as the form's lines. */
function ruleLines(m: Json | undefined) {
  const rules = m?.validationRules ?? {};
  const headers = Object.entries(rules.requiredHeaders ?? {}).map(([name, value]) =>
    value === true ? name : `${name}: ${value}`
  );
  return { ips: (rules.allowedIpRanges ?? []).join("\n"), headers: headers.join("\n") };
}

/** The rules the form's lines say, or null for none. */
function rulesOf(f: FormData): Json {
  const lines = (name: string) =>
    text(f, name).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const rules: Json = {};
  const ips = lines(IPS);
  if (ips.length > 0) rules.allowedIpRanges = ips;
  const headers = lines(HEADERS);
  if (headers.length > 0) {
    rules.requiredHeaders = Object.fromEntries(headers.map((line) => {
      const colon = line.indexOf(":");
      return colon < 0 ? [line, true] : [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
    }));
  }
  return Object.keys(rules).length > 0 ? rules : null;
}

/**
 * The body of an auth method form: for a new method (`create`) its type
 * and what was filled in, for a change every setting the form shows; or
 * the problem of a configuration that is not JSON.
 */
export function authMethodBody(
  f: FormData,
  create: boolean,
): { body: Json; problem?: undefined } | { problem: ApiProblem } {
  const body: Json = {};
  if (create) body.type = text(f, "type");
  const order = numberField(f, "order");
  if (order !== undefined) body.order = order;
  body.required = f.has("required");
  const rules = rulesOf(f);
  if (rules !== null || !create) body.validationRules = rules;
  if (f.has("configuration")) {
    const config = jsonField(f, "configuration");
    if (config.problem) return { problem: config.problem };
    if (config.value !== undefined || !create) body.configuration = config.value ?? {};
  }
  return { body };
}

/** The settings every method has, filled from `m` (a method being changed) or the state. */
function SettingFields(
  { form, state, m }: { form: string; state?: FormState; m?: Json },
) {
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  const lines = ruleLines(m);
  const id = (name: string) => `${form}-${name.replace(/\W+/g, "-")}`;
  const configured = m ? CONFIGURED.has(m.type) : true;
  const requiredNow = state?.form === form ? state.values.required !== undefined : m?.required;
  return (
    <>
      {configured
        ? (
          <TextArea
            label={m ? "Configuration (JSON)" : "Configuration (JSON, optional)"}
            name="configuration"
            id={id("configuration")}
            value={v("configuration", m ? JSON.stringify(m.configuration, null, 2) : "")}
            error={e("configuration")}
            json="value"
            rows={m ? 6 : 3}
            hint={m
              ? "Replaces the whole configuration; what you leave out takes its default."
              : 'Only jwt needs one, e.g. {"issuer": "https://id.example.com", "audience": "gatehouse", "jwksUrl": "https://id.example.com/jwks"}; oauth2 takes optional lifetimes.'}
          />
        )
        : null}
      <Field
        label="Order (optional)"
        name="order"
        id={id("order")}
        type="number"
        min="0"
        value={v("order", m ? String(m.order) : "")}
        error={e("order")}
        hint="Methods are tried from the lowest order up; the first that accepts the request wins."
      />
      <Check
        label="Required: every request must also pass this method"
        name="required"
        id={id("required")}
        checked={requiredNow}
      />
      <TextArea
        label="Allowed client addresses (optional)"
        name={IPS}
        id={id("ips")}
        value={v(IPS, lines.ips)}
        error={e(IPS)}
        rows={2}
        hint="One CIDR block a line, e.g. 203.0.113.0/24 or 2001:db8::/32; empty: any address."
      />
      <TextArea
        label="Required headers (optional)"
        name={HEADERS}
        id={id("headers")}
        value={v(HEADERS, lines.headers)}
        error={e(HEADERS) ??
          (state?.form === form && state.error?.field === "validationRules"
            ? state.error.message
            : undefined)}
        rows={2}
        hint="One a line: 'Name: value' for an exact value, or the name alone for any value."
      />
    </>
  );
}

/** What a method's table row says of its rules. */
function RulesCell({ m }: { m: Json }) {
  const rules = m.validationRules;
  if (!rules) return <span class="muted">none</span>;
  const parts = [
    ...(rules.allowedIpRanges ? [`from ${rules.allowedIpRanges.join(", ")}`] : []),
    ...Object.entries(rules.requiredHeaders ?? {}).map(([name, value]) =>
      value === true ? `header ${name}` : `header ${name}: ${value}`
    ),
  ];
  return <>{parts.join("; ")}</>;
}

/** The Authentication panel of a gateway's page (`base` is the page's path). */
export function AuthPanel(
  { ui, base, methods, state }: {
    ui: UiRequest;
    base: string;
    methods: Json[];
    state?: FormState;
  },
) {
  const v = (name: string, fallback = "") => valueOf(state, "auth", name, fallback);
  return (
    <section class="panel" aria-labelledby="auth">
      <h2 id="auth">Authentication</h2>
      {methods.length === 0
        ? (
          <p class="notice bad">
            No auth method: the gateway refuses every MCP request until you add one.
          </p>
        )
        : (
          <Table
            head={["Method", "Order", "Required", "Rules", "Configuration", ""]}
            caption="Auth methods"
          >
            {methods.map((m) => (
              <tr>
                <td>{m.type}</td>
                <td>{m.order}</td>
                <td>{m.required ? "yes" : "no"}</td>
                <td>
                  <RulesCell m={m} />
                </td>
                <td>
                  {Object.keys(m.configuration ?? {}).length > 0
                    ? <code>{JSON.stringify(m.configuration)}</code>
                    : <span class="muted">none</span>}
                </td>
                <td>
                  {ui.canWrite
                    ? (
                      <PostButton
                        action={`${base}/auth/${m.id}/delete`}
                        csrf={ui.csrf}
                        label="Remove"
                        danger
                        confirm={`Remove the ${m.type} method?`}
                      />
                    )
                    : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      {ui.canWrite
        ? methods.map((m) => {
          const form = `auth-${m.id}`;
          return (
            <details open={state?.form === form}>
              <summary>{`Change the ${m.type} method`}</summary>
              <form method="post" action={`${base}/auth/${m.id}`} class="stack">
                <Csrf token={ui.csrf} />
                <ErrorSummary state={state} form={form} fields={FIELDS} />
                <SettingFields form={form} state={state} m={m} />
                <button type="submit">{`Save the ${m.type} method`}</button>
              </form>
            </details>
          );
        })
        : null}
      {ui.canWrite
        ? (
          <details open={methods.length === 0 || state?.form === "auth"}>
            <summary>Add an auth method</summary>
            <form method="post" action={`${base}/auth`} class="stack">
              <Csrf token={ui.csrf} />
              <ErrorSummary state={state} form="auth" fields={FIELDS} />
              <Select
                label="Type"
                name="type"
                id="auth-type"
                value={v("type", "api_key")}
                options={AUTH_TYPES}
                error={errorOf(state, "auth", "type")}
              />
              <SettingFields form="auth" state={state} />
              <button type="submit">Add method</button>
            </form>
          </details>
        )
        : null}
    </section>
  );
}
