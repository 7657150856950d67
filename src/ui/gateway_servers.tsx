/**
 * The upstream servers a gateway serves whole, on its page: each with its
 * state, what the gateway serves of it and what it withholds, its settings
 * (prefix, the names it includes or leaves out, its tools' rate limit)
 * changed in place by attaching it again, detach buttons, and the form
 * that attaches another (`POST /gateways/{id}/servers`).
 *
 * @module
 */
import type { Json } from "./client.ts";
import {
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
  valueOf,
} from "./components.tsx";
import type { UiRequest } from "./context.ts";
import { numberField, optional, text } from "./forms.ts";

const FIELDS = ["serverId", "prefix", "include", "exclude", "toolRateLimit"];

/** A list of name patterns as the form writes it: separated by commas or lines. */
const patterns = (f: FormData, name: string) =>
  text(f, name).split(/[,\n]/).map((p) => p.trim()).filter((p) => p !== "");

/** The body of an attach form: the server and the settings filled in. */
export function attachmentBody(f: FormData): Json {
  const body: Json = { serverId: text(f, "serverId") };
  const prefix = optional(f, "prefix");
  if (prefix) body.prefix = prefix;
  for (const k of ["include", "exclude"]) {
    const list = patterns(f, k);
    if (list.length > 0) body[k] = list;
  }
  const limit = numberField(f, "toolRateLimit");
  if (limit !== undefined) body.toolRateLimit = limit;
  return body;
}

/** The settings of an attachment (`a`, when it is one being changed). */
function SettingFields({ form, state, a }: { form: string; state?: FormState; a?: Json }) {
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  const id = (name: string) => `${form}-${name}`;
  return (
    <>
      <Field
        label="Prefix (optional)"
        name="prefix"
        id={id("prefix")}
        value={v("prefix", a?.prefix ?? "")}
        error={e("prefix")}
        hint="Served as prefix_name, to keep its names apart from others."
      />
      <Field
        label="Only these tools and prompts (optional)"
        name="include"
        id={id("include")}
        value={v("include", (a?.include ?? []).join(", "))}
        error={e("include")}
        hint="Names as the server lists them, separated by commas; '*' matches any run."
      />
      <Field
        label="Leave out these tools and prompts (optional)"
        name="exclude"
        id={id("exclude")}
        value={v("exclude", (a?.exclude ?? []).join(", "))}
        error={e("exclude")}
      />
      <Field
        label="Rate limit of each of its tools (calls a minute per caller, optional)"
        name="toolRateLimit"
        id={id("limit")}
        type="number"
        min="1"
        value={v("toolRateLimit", a?.toolRateLimit === undefined ? "" : String(a.toolRateLimit))}
        error={e("toolRateLimit")}
      />
    </>
  );
}

/** What a gateway serves of an attached server, and what it withholds (name collisions). */
function Serves({ a }: { a: Json }) {
  const s = a.serves;
  const withheld: Json[] = a.withheld ?? [];
  return (
    <>
      {itemCounts(s)}
      {withheld.length > 0
        ? (
          <>
            <br />
            <span class="error">
              {`Withheld: ${withheld.map((w) => `${w.kind} ${w.name} (${w.reason})`).join("; ")}`}
            </span>
          </>
        )
        : null}
    </>
  );
}

/** The Attached servers panel of a gateway's page (`base` is the page's path). */
export function ServersPanel(
  { ui, base, attached, attachable, state }: {
    ui: UiRequest;
    base: string;
    attached: Json[];
    attachable: Json[];
    state?: FormState;
  },
) {
  return (
    <section class="panel" aria-labelledby="servers">
      <h2 id="servers">Attached servers</h2>
      {attached.length === 0
        ? (
          <Empty>
            No upstream MCP server is attached whole. Attach one to serve all of its tools,
            resources and prompts.
          </Empty>
        )
        : (
          <Table head={["Server", "State", "Serves", "Prefix", ""]} caption="Attached servers">
            {attached.map((a) => (
              <tr>
                <td>
                  <a href={`/ui/servers/${a.serverId}`}>{a.name}</a>
                </td>
                <td>{a.state}</td>
                <td>
                  <Serves a={a} />
                </td>
                <td>{a.prefix ?? ""}</td>
                <td>
                  {ui.canWrite
                    ? (
                      <PostButton
                        action={`${base}/servers/${a.serverId}/detach`}
                        csrf={ui.csrf}
                        label="Detach"
                        confirm={`Detach ${a.name}?`}
                      />
                    )
                    : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      {ui.canWrite
        ? attached.map((a) => {
          const form = `attach-${a.serverId}`;
          return (
            <details open={state?.form === form}>
              <summary>{`Change how ${a.name} is served`}</summary>
              <form method="post" action={`${base}/servers`} class="stack">
                <Csrf token={ui.csrf} />
                <input type="hidden" name="serverId" value={a.serverId} />
                <ErrorSummary state={state} form={form} fields={FIELDS} />
                <SettingFields form={form} state={state} a={a} />
                <button type="submit">{`Save how ${a.name} is served`}</button>
              </form>
            </details>
          );
        })
        : null}
      {ui.canWrite && attachable.length > 0
        ? (
          <details open={state?.form === "attach"}>
            <summary>Attach a server</summary>
            <form method="post" action={`${base}/servers`} class="stack">
              <Csrf token={ui.csrf} />
              <ErrorSummary state={state} form="attach" fields={FIELDS} />
              <Select
                label="Server"
                name="serverId"
                value={valueOf(state, "attach", "serverId")}
                options={attachable.map((s) => [s.id, s.name])}
                error={errorOf(state, "attach", "serverId")}
              />
              <SettingFields form="attach" state={state} />
              <button type="submit">Attach</button>
            </form>
          </details>
        )
        : null}
    </section>
  );
}
