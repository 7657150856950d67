/**
 * A small OTLP/HTTP receiver for tests: it takes what a Gatehouse child
 * process exports with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` and keeps the
 * spans, flattened to what the assertions read.
 *
 * @module
 */

/** One exported span, as the tests read it. */
export interface ReceivedSpan {
  /** The instrumentation scope: `gatehouse` for Gatehouse's spans, `deno` for Deno's. */
  scope: string;
  name: string;
  /** OTLP's numbering: 2 SERVER, 3 CLIENT. */
  kind: number;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  status: { code?: number; message?: string };
}

/** OTLP span kinds in the JSON encoding. */
export const SERVER = 2;
/** See {@link SERVER}. */
export const CLIENT = 3;

/** A running receiver. */
export interface OtlpReceiver {
  /** The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  /** Every span received so far. */
  spans: ReceivedSpan[];
  /** Resolves with the first span `match` accepts, polling until `timeoutMs`. */
  waitFor(
    match: (s: ReceivedSpan) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<ReceivedSpan>;
  /** Resolves with what `probe` answers once it answers something, polling as {@link waitFor}. */
  until<T>(probe: () => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** An OTLP `AnyValue` as plain JSON. */
function valueOf(v: Json): unknown {
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  if ("boolValue" in v) return v.boolValue;
  if ("arrayValue" in v) return ((v.arrayValue as Json).values as Json[] ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of (list as Json[] | undefined) ?? []) {
    out[a.key as string] = valueOf(a.value as Json);
  }
  return out;
}

/** What `probe` answers once it answers something; fails with `why()` after `timeoutMs`. */
async function poll<T>(
  probe: () => T | undefined,
  timeoutMs = 20_000,
  why: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a receiver on a free loopback port. */
export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as Json;
    if (new URL(req.url).pathname === "/v1/traces") {
      for (const rs of (body.resourceSpans as Json[]) ?? []) {
        for (const ss of (rs.scopeSpans as Json[]) ?? []) {
          for (const s of (ss.spans as Json[]) ?? []) {
            spans.push({
              scope: (ss.scope as Json)?.name as string,
              name: s.name as string,
              kind: s.kind as number,
              traceId: s.traceId as string,
              spanId: s.spanId as string,
              parentSpanId: (s.parentSpanId as string) ?? "",
              attributes: attributesOf(s.attributes),
              links: ((s.links as Json[]) ?? []).map((l) => ({
                traceId: l.traceId as string,
                spanId: l.spanId as string,
              })),
              status: (s.status as Json) ?? {},
            });
          }
        }
      }
    }
    return Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    spans,
    waitFor: (match, what, timeoutMs) =>
      poll(
        () => spans.find(match),
        timeoutMs,
        () => `no span ${what} among:\n${JSON.stringify(spans, null, 1)}`,
      ),
    until: (probe, timeoutMs) => poll(probe, timeoutMs, () => "nothing came"),
    close: () => server.shutdown(),
  };
}
