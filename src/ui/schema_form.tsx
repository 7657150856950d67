/**
 * "Try it": a form made from a tool's input schema, the arguments read back
 * from it, and the call made the way an MCP client makes it: a JSON-RPC
 * `tools/call` to the gateway's own MCP endpoint (through the app, in
 * process), with the credential the user gives. So a try goes through the
 * gateway's auth methods, scopes, rate limits and request log exactly like
 * a client's call, and the result shown is what MCP answered.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { Json } from "./client.ts";
import { idOf, Select, TextArea } from "./components.tsx";
import { Field } from "./components.tsx";

/** The prefix of the argument fields' names. */
const ARG = "arg.";

/** How a property is entered. */
type Kind = "enum" | "boolean" | "number" | "integer" | "string" | "json";

function kindOf(schema: Json): Kind {
  if (Array.isArray(schema?.enum) && schema.enum.every((e: unknown) => typeof e === "string")) {
    return "enum";
  }
  const type = Array.isArray(schema?.type)
    ? schema.type.find((t: string) => t !== "null")
    : schema?.type;
  if (type === "boolean" || type === "number" || type === "integer" || type === "string") {
    return type;
  }
  return "json";
}

/** The input schema's properties, in order, with whether each is required. */
function propertiesOf(schema: Json): [string, Json, boolean][] {
  const props = schema?.properties && typeof schema.properties === "object"
    ? schema.properties
    : {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(props).map(([name, s]) => [name, s, required.has(name)]);
}

/** The form fields of `schema`'s arguments, filled with `values` (as posted). */
export function ArgumentFields(
  { schema, values, errors }: {
    schema: Json;
    values: Record<string, string>;
    errors: Record<string, string>;
  },
) {
  const props = propertiesOf(schema);
  return (
    <>
      {props.length === 0
        ? <p class="muted">This tool takes no arguments.</p>
        : props.map(([name, s, required]) => {
          const field = `${ARG}${name}`;
          const label = `${name}${s?.type ? ` (${[s.type].flat().join(" or ")})` : ""}`;
          const common = {
            label,
            name: field,
            value: values[field] ?? "",
            error: errors[field],
            required,
            hint: typeof s?.description === "string" ? s.description : undefined,
          };
          switch (kindOf(s)) {
            case "enum":
              return <Select {...common} options={[["", "(not given)"], ...s.enum]} />;
            case "boolean":
              return <Select {...common} options={[["", "(not given)"], "true", "false"]} />;
            case "number":
            case "integer":
              return (
                <Field {...common} type="number" step={kindOf(s) === "integer" ? "1" : "any"} />
              );
            case "string":
              return <Field {...common} />;
            default:
              return <TextArea {...common} json="value" rows={3} hint="JSON" />;
          }
        })}
      <details>
        <summary>Or write all the arguments as JSON</summary>
        <TextArea
          label="Arguments (JSON object; when given, the fields above are not used)"
          name="argumentsJson"
          value={values.argumentsJson ?? ""}
          error={errors.argumentsJson}
          json="value"
          rows={5}
        />
      </details>
    </>
  );
}

/**
 * The arguments the form holds, typed as the schema says, or the problems
 * by field name.
 */
export function readArguments(
  schema: Json,
  form: FormData,
): { args: Record<string, unknown> } | { errors: Record<string, string> } {
  const raw = String(form.get("argumentsJson") ?? "").trim();
  if (raw) {
    try {
      const args = JSON.parse(raw);
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        return { errors: { argumentsJson: "the arguments must be a JSON object" } };
      }
      return { args };
    } catch (err) {
      return { errors: { argumentsJson: `not valid JSON: ${(err as Error).message}` } };
    }
  }
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [name, s] of propertiesOf(schema)) {
    const field = `${ARG}${name}`;
    const v = String(form.get(field) ?? "");
    if (v.trim() === "") continue;
    switch (kindOf(s)) {
      case "boolean":
        args[name] = v === "true";
        break;
      case "number":
      case "integer": {
        const n = Number(v);
        if (Number.isNaN(n)) errors[field] = `${name} must be a number`;
        else args[name] = n;
        break;
      }
      case "json":
        try {
          args[name] = JSON.parse(v);
        } catch (err) {
          errors[field] = `${name} is not valid JSON: ${(err as Error).message}`;
        }
        break;
      default:
        args[name] = v;
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { args };
}

/** The DOM id of an argument field (for tests and labels). */
export const argumentId = (name: string) => idOf(`${ARG}${name}`);

/**
 * Calls tool `tool` with `args` through the gateway at `path`
 * (`/mcp/{org}{endpoint}`) of `app`, presenting `credential` (none: no
 * header), and answers the JSON-RPC response the gateway gave, or what came
 * instead (an HTTP refusal).
 */
export async function callTool(
  app: Hono,
  c: Context,
  path: string,
  tool: string,
  args: Record<string, unknown>,
  credential: string | undefined,
): Promise<{ status: number; answer: Json }> {
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  });
  if (credential) headers.set("authorization", `Bearer ${credential}`);
  // The gateway checks the Host the client named: the one the browser reached the UI by.
  headers.set("host", c.req.header("host") ?? new URL(c.req.url).host);
  const forwarded = c.req.header("x-forwarded-for");
  if (forwarded) headers.set("x-forwarded-for", forwarded);
  const body = {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: tool, arguments: args },
  };
  const res = await app.fetch(
    new Request(new URL(path, c.req.url), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    }),
    c.env,
  );
  const text = await res.text();
  if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    // The answer is the event whose data is the response to our id.
    for (const line of text.split("\n").reverse()) {
      if (!line.startsWith("data:")) continue;
      try {
        const msg = JSON.parse(line.slice(5));
        if (msg.id === 1) return { status: res.status, answer: msg };
      } catch {
        // Not JSON: a keep-alive or a priming event.
      }
    }
    return { status: res.status, answer: { stream: text } };
  }
  try {
    return { status: res.status, answer: JSON.parse(text) };
  } catch {
    return { status: res.status, answer: { text } };
  }
}
