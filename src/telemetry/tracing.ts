/**
 * Traces of MCP requests, through Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true`; exporter settings from the standard `OTEL_EXPORTER_OTLP_*`
 * variables). Deno already makes a span per HTTP request (`Deno.serve`) and
 * per `fetch`, and puts `traceparent` on every outgoing HTTP request; this
 * module adds what only Gatehouse knows, after the OpenTelemetry semantic
 * conventions for MCP:
 *
 * - a SERVER span per MCP message a client sends (`{mcp.method.name}
 *   {target}`), whose parent is the `traceparent` in the message's
 *   `params._meta` (MCP's own trace context, which outlives any one HTTP
 *   request), else the HTTP request's span (which Deno continues from the
 *   `traceparent` header), else the header the transport saw (a WebSocket's
 *   messages come after its upgrade request ended);
 * - a CLIENT span per request forwarded to an upstream MCP server, whose
 *   context rides in the forwarded request's `params._meta` (stdio has no
 *   headers to carry it).
 *
 * Whether Deno traces is fixed when the process starts, so {@link TRACING} is
 * read once: when it is false every function here is a plain call, with no
 * span or context made.
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { Exchange, Outcome } from "../mcp/dispatcher.ts";
import { isObject } from "../util/json.ts";
import { GATEHOUSE_VERSION } from "../version.ts";

/**
 * True when Deno exports traces: it then registers its tracer provider with
 * `@opentelemetry/api` before any module runs; otherwise the API answers its
 * placeholder provider.
 */
export const TRACING: boolean = !(trace.getTracerProvider() instanceof ProxyTracerProvider);

const tracer = trace.getTracer("gatehouse", GATEHOUSE_VERSION);

/** What a W3C trace context is carried in: `_meta` entries or HTTP headers. */
type Carrier = Record<string, unknown>;

const getter = {
  keys: (c: Carrier) => Object.keys(c),
  get: (c: Carrier, key: string) => typeof c[key] === "string" ? c[key] as string : undefined,
};

/** The remote context `carrier` names, if its `traceparent` is well-formed. */
function remote(carrier: Carrier): Context | undefined {
  if (typeof carrier.traceparent !== "string") return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, carrier, getter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** Methods whose `params.name` names a tool or prompt: the low-cardinality target of a span name. */
const TARGET_ATTRIBUTE: Record<string, string> = {
  "tools/call": "gen_ai.tool.name",
  "prompts/get": "gen_ai.prompt.name",
};

/** Methods whose `params.uri` names a resource. */
const BY_URI = new Set(["resources/read", "resources/subscribe", "resources/unsubscribe"]);

/** The span name and the attributes known before a message of `method` with `params` is handled. */
function describe(method: string, params: Record<string, unknown>): [string, Attributes] {
  const attributes: Attributes = { "mcp.method.name": method };
  let name = method;
  const targetKey = TARGET_ATTRIBUTE[method];
  if (targetKey && typeof params.name === "string") {
    attributes[targetKey] = params.name;
    name = `${method} ${params.name}`;
  }
  if (method === "tools/call") attributes["gen_ai.operation.name"] = "execute_tool";
  if (BY_URI.has(method) && typeof params.uri === "string") {
    attributes["mcp.resource.uri"] = params.uri;
  }
  return [name, attributes];
}

/**
 * Marks `span` failed: `type` is its `error.type` (the JSON-RPC error code,
 * or a class of failure), `message` its status's, `code` the JSON-RPC error
 * code when there is one.
 */
function failed(span: Span, type: string, message: string, code?: number): void {
  span.setAttribute("error.type", type);
  if (code !== undefined) span.setAttribute("rpc.response.status_code", String(code));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The ids of the active span, for log lines; undefined when tracing is off or none is active. */
export function activeSpanIds(): { traceId: string; spanId: string } | undefined {
  if (!TRACING) return undefined;
  const ids = trace.getActiveSpan()?.spanContext();
  return ids && { traceId: ids.traceId, spanId: ids.spanId };
}

/**
 * Handles the MCP message `raw` of exchange `ex` with `handle`, inside a
 * SERVER span for it when tracing is on and `raw` is a request or a
 * notification; the span is the active one meanwhile, so upstream calls
 * made for the message are its children.
 */
export function traceMessage(
  raw: unknown,
  ex: Exchange,
  handle: () => Promise<Outcome>,
): Promise<Outcome> {
  if (!TRACING || !isObject(raw) || typeof raw.method !== "string") return handle();
  const params = isObject(raw.params) ? raw.params : {};
  const [name, attributes] = describe(raw.method, params);
  const hasId = "id" in raw && (typeof raw.id === "string" || typeof raw.id === "number");
  if (hasId) attributes["jsonrpc.request.id"] = String(raw.id);
  attributes["network.transport"] = "tcp";
  attributes["network.protocol.name"] = ex.observe?.transport === "ws" ? "websocket" : "http";
  attributes["gatehouse.gateway.id"] = ex.gateway.id;
  attributes["gatehouse.gateway.name"] = ex.gateway.name;
  if (ex.observe) attributes["gatehouse.transport"] = ex.observe.transport;

  const ambient = context.active();
  const ambientSpan = trace.getSpanContext(ambient);
  const fromMeta = isObject(params._meta) ? remote(params._meta) : undefined;
  let parent: Context;
  const links: Link[] = [];
  if (fromMeta) {
    parent = fromMeta;
    // The transport's context (the HTTP request) is kept as a link, as the conventions ask.
    if (ambientSpan) links.push({ context: ambientSpan });
  } else if (ambientSpan) {
    parent = ambient;
  } else {
    const header = ex.observe?.traceparent;
    parent = (header ? remote({ traceparent: header }) : undefined) ?? ambient;
  }
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, links }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    // `handle` never throws (the dispatcher answers every failure): `finally` only ends the span.
    try {
      const outcome = await handle();
      endServerSpan(span, ex, outcome);
      return outcome;
    } finally {
      span.end();
    }
  });
}

/** What only the end of a message tells its span: the session, the version, how it ended. */
function endServerSpan(span: Span, ex: Exchange, outcome: Outcome): void {
  // Read now: an initialize opens its session while it is handled.
  if (ex.session.id) span.setAttribute("mcp.session.id", ex.session.id);
  if (ex.session.protocolVersion) {
    span.setAttribute("mcp.protocol.version", ex.session.protocolVersion);
  }
  const response = outcome.response;
  if (response && "error" in response) {
    failed(span, String(response.error.code), response.error.message, response.error.code);
  } else if (response && isObject(response.result) && response.result.isError === true) {
    failed(span, "tool_error", "the tool reported an error");
  } else if (outcome.cancelled) {
    failed(span, "cancelled", "the client cancelled the request");
  }
}

/**
 * Sends request `method` with `params` to upstream server `serverId` through
 * `send`, inside a CLIENT span for it when tracing is on; the span's context
 * is put in the params' `_meta` (`traceparent`, `tracestate`), where the
 * upstream finds it whatever its transport.
 */
export function traceUpstream<T>(
  serverId: string,
  method: string,
  params: Record<string, unknown>,
  send: (params: Record<string, unknown>) => Promise<T>,
): Promise<T> {
  if (!TRACING) return send(params);
  const [name, attributes] = describe(method, params);
  attributes["gatehouse.upstream.server.id"] = serverId;
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  const active = trace.setSpan(context.active(), span);
  const meta: Record<string, unknown> = isObject(params._meta) ? { ...params._meta } : {};
  // The caller's own context, if it sent one through, is replaced by this call's.
  delete meta.traceparent;
  delete meta.tracestate;
  propagation.inject(active, meta);
  return context.with(active, async () => {
    try {
      const result = await send({ ...params, _meta: meta });
      if (isObject(result) && result.isError === true) {
        failed(span, "tool_error", "the tool reported an error");
      }
      return result;
    } catch (err) {
      const code = isObject(err) && typeof err.code === "number" ? err.code : undefined;
      failed(span, code === undefined ? "_OTHER" : String(code), String(err), code);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Replaces every query value in the attributes of the active span (Deno's
 * span of the HTTP request to `url`) with `REDACTED`: a client may send its
 * gateway key as `api_key` in the query, and Deno records the URL whole.
 */
export function redactRequestSpan(url: string): void {
  const q = url.indexOf("?");
  if (q < 0) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  const query = url.slice(q + 1).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    return eq < 0 ? pair : `${pair.slice(0, eq)}=REDACTED`;
  }).join("&");
  span.setAttribute("url.query", query);
  span.setAttribute("url.full", `${url.slice(0, q)}?${query}`);
}
