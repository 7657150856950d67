/**
 * Structured logs: with `GATEHOUSE_LOG_FORMAT=json` every line the server
 * prints is one JSON object (`time`, `level`, `message`, the `requestId` of
 * the HTTP request it was printed for, the `traceId` and `spanId` it was
 * printed in when tracing is on, and `error` for an Error logged).
 * The `console` methods themselves are replaced at start-up, so every
 * existing `console.error(...)` becomes such a line without changing its
 * caller. Whatever looks like a credential (a Gatehouse key, an
 * `Authorization` value, a secret query parameter) is redacted from every
 * line, messages and stack traces alike.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { activeSpanIds } from "./tracing.ts";

/** The request ids of the HTTP requests being served, by async context. */
const requestIds = new AsyncLocalStorage<string>();

/** Runs `fn` as the handling of HTTP request `id`: lines it logs carry that id. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return requestIds.run(id, fn);
}

/** The level each replaced `console` method logs at. */
const LEVELS = { debug: "debug", info: "info", log: "info", warn: "warn", error: "error" } as const;

/** What a log line holds. */
export interface LogRecord {
  /** ISO 8601, UTC. */
  time: string;
  level: (typeof LEVELS)[keyof typeof LEVELS];
  message: string;
  requestId?: string;
  /** The trace and span the line was logged in, when tracing is on. */
  traceId?: string;
  spanId?: string;
  /** The first Error among what was logged. */
  error?: { name: string; message: string; stack?: string };
}

/**
 * Credentials as they appear in text: Gatehouse's own keys and tokens,
 * `Authorization` scheme values, and query parameters whose name says
 * secret. Each match keeps its label and loses its value.
 */
const SECRETS: [RegExp, string][] = [
  [/\b(gh[a-z])_[A-Za-z0-9_-]{6,}/g, "$1_REDACTED"],
  [/\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 REDACTED"],
  [
    /([?&;][^=&\s"']*(?:key|token|secret|password|passwd|signature|sig|code|auth)[^=&\s"']*=)[^&\s"'#)\]>]+/gi,
    "$1REDACTED",
  ],
];

/** `text` with every credential {@link SECRETS} finds redacted. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out;
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return Deno.inspect(value, { colors: false, depth: 4, compact: true, breakLength: Infinity });
}

/** The JSON line of one `console` call at `level` with `args`. */
export function jsonLine(level: LogRecord["level"], args: unknown[]): string {
  const record: LogRecord = {
    time: new Date().toISOString(),
    level,
    message: redactSecrets(args.map(describe).join(" ")),
  };
  const id = requestIds.getStore();
  if (id !== undefined) record.requestId = id;
  const span = activeSpanIds();
  if (span) Object.assign(record, span);
  const error = args.find((a): a is Error => a instanceof Error);
  if (error) {
    record.error = { name: error.name, message: redactSecrets(error.message) };
    if (error.stack) record.error.stack = redactSecrets(error.stack);
  }
  return JSON.stringify(record);
}

/** Makes every `console` line of this thread (the server's, or a worker's) a JSON object. */
export function installJsonConsole(): void {
  for (
    const [method, level] of Object.entries(LEVELS) as [keyof typeof LEVELS, LogRecord["level"]][]
  ) {
    const print = console[method].bind(console);
    // "%s": the line is printed as it is, never read as a format string.
    console[method] = (...args: unknown[]) => print("%s", jsonLine(level, args));
  }
}

/**
 * Makes every line of the server process a JSON object: its `console`, and
 * errors that nothing caught, which Deno would print as text, logged before
 * the process exits as it would have.
 */
export function installJsonLogs(): void {
  installJsonConsole();
  const fatal = (what: string, reason: unknown) => {
    console.error(`${what}:`, reason);
    Deno.exit(1);
  };
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fatal("uncaught error", e.error);
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fatal("unhandled promise rejection", e.reason);
  });
}
