/**
 * One outbound HTTP attempt: fetch with a per-attempt timeout tied to the
 * caller's cancellation, redirects followed by hand (so credentials never
 * follow a redirect to another origin), failures classified into messages a
 * model can act on, and bodies read incrementally up to a cap.
 *
 * @module
 */
import type { Deadline } from "../util/deadline.ts";
import type { RequestPlan } from "./http_request.ts";

/** What one attempt ended with. */
export type AttemptOutcome =
  | {
    kind: "response";
    response: Response;
    /** The URL that answered (after redirects), with secrets masked. */
    logUrl: string;
  }
  | { kind: "timeout" }
  | { kind: "cancelled" }
  | { kind: "network"; cause: NetworkCause; message: string };

/**
 * Kinds of network failure worth telling apart in messages. `blocked` is the
 * outbound policy refusing a destination before any connection is made.
 */
export type NetworkCause =
  | "dns"
  | "refused"
  | "reset"
  | "tls"
  | "redirect"
  | "blocked"
  | "other";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that carry credentials whatever their value came from. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * `headers` as a record, which fetch takes for less than the `Headers` object
 * itself (it converts that one as a sequence of pairs): 2 to 6 µs less a
 * call in a bare forwarder, measured in turns (`scripts/bench_steps.ts`).
 */
export function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => out[name] = value);
  return out;
}

function hostOf(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/**
 * A network failure as a short message. Deno's messages embed the full URL
 * (with any secret query values), so only the cause is kept and the host is
 * named from the request instead.
 */
export function describeNetworkError(
  err: unknown,
  url: URL,
): { cause: NetworkCause; message: string } {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) {
    parts.push(e.message);
  }
  const text = parts.join(" | ");
  const host = hostOf(url);
  if (
    /dns error|failed to lookup address|name or service not known|nodename nor servname|no such host|name resolution/i
      .test(text)
  ) {
    return {
      cause: "dns",
      message: `DNS lookup failed for '${url.hostname}': the host name could not be resolved`,
    };
  }
  if (/connection refused|ECONNREFUSED/i.test(text)) {
    return {
      cause: "refused",
      message: `connection refused by ${host}: nothing is accepting connections there`,
    };
  }
  if (/certificate|tls|ssl|handshake/i.test(text)) {
    return { cause: "tls", message: `TLS handshake with ${host} failed` };
  }
  if (
    /connection reset|broken pipe|connection closed|unexpected eof|incomplete message/i.test(text)
  ) {
    return { cause: "reset", message: `the connection to ${host} was closed unexpectedly` };
  }
  if (/are blocked/i.test(text)) {
    return { cause: "other", message: `requests to port ${url.port} are not allowed` };
  }
  return { cause: "other", message: `network error reaching ${host}` };
}

/** What {@link AttemptOptions.guard} decides for one hop. */
export type HopDecision =
  | {
    ok: true;
    /** Send through this client (a connection pinned to the checked address). */
    client?: Deno.HttpClient;
  }
  | { ok: false; cause: "blocked" | "dns"; message: string };

/** Options of one attempt. */
export interface AttemptOptions {
  /**
   * The caller's cancellation and this attempt's time limit. It governs the
   * body read too, so the caller disposes of it once the body is read.
   */
  deadline: Deadline;
  maxRedirects: number;
  /**
   * Checks every hop's destination before connecting (the outbound policy).
   * Run per hop, not once, because a redirect can point anywhere.
   */
  guard?: (url: URL, signal: AbortSignal) => Promise<HopDecision>;
}

/**
 * Sends `plan` once (following up to `maxRedirects` redirects). Never throws:
 * every failure becomes an outcome.
 */
export async function attempt(plan: RequestPlan, opts: AttemptOptions): Promise<AttemptOutcome> {
  const { deadline } = opts;
  const signal = deadline.signal;
  const ended = (): AttemptOutcome => ({ kind: deadline.expired ? "timeout" : "cancelled" });
  let url = plan.url;
  let logUrl = plan.logUrl;
  let method = plan.method;
  let body = plan.body;
  let headers = plan.headers;
  let previousHost = url.host;
  for (let hop = 0;; hop++) {
    let client: Deno.HttpClient | undefined;
    if (opts.guard) {
      let decision: HopDecision;
      try {
        decision = await opts.guard(url, signal);
      } catch (err) {
        if (signal.aborted) return ended();
        throw err;
      }
      if (!decision.ok) {
        const message = hop === 0
          ? decision.message
          : `redirect from ${previousHost} refused: ${decision.message}`;
        // A redirect into a refused destination is final, like any other refused redirect.
        return { kind: "network", cause: hop === 0 ? decision.cause : "blocked", message };
      }
      client = decision.client;
    }
    const init: RequestInit & { client?: Deno.HttpClient } = {
      method,
      headers: headerRecord(headers),
      body,
      signal,
      redirect: "manual",
    };
    if (client) init.client = client;
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      if (signal.aborted) return ended();
      return { kind: "network", ...describeNetworkError(err, url) };
    }
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === null) {
      return { kind: "response", response, logUrl };
    }
    await response.body?.cancel().catch(() => {});
    if (hop >= opts.maxRedirects) {
      return {
        kind: "network",
        cause: "redirect",
        message: `more than ${opts.maxRedirects} redirects from ${url.host}`,
      };
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return { kind: "network", cause: "redirect", message: `invalid redirect from ${url.host}` };
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      return {
        kind: "network",
        cause: "redirect",
        message: `redirect from ${url.host} to a non-http(s) URL refused`,
      };
    }
    if (next.origin !== url.origin) {
      // Credentials were configured for the tool's upstream, not wherever it points.
      headers = new Headers(headers);
      for (const h of [...CREDENTIAL_HEADERS, ...plan.secretHeaders]) headers.delete(h);
    }
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === "POST")
    ) {
      // What browsers and every HTTP client do: the follow-up is a GET without a body.
      method = method === "HEAD" ? "HEAD" : "GET";
      body = undefined;
      headers = new Headers(headers);
      headers.delete("content-type");
    }
    // The redirect target is the upstream's choice; it is only logged without its query.
    previousHost = url.host;
    url = next;
    logUrl = `${next.origin}${next.pathname}`;
  }
}

/** A body read up to a cap. */
export interface CappedBody {
  bytes: Uint8Array;
  /** True when the body had more than `cap` bytes (the rest was not read). */
  truncated: boolean;
}

/**
 * Reads at most `cap` bytes of `res`'s body; `truncated` says whether more
 * was there (the rest is cancelled, never buffered).
 */
export async function readCapped(res: Response, cap: number): Promise<CappedBody> {
  if (!res.body) return { bytes: new Uint8Array(0), truncated: false };
  const declared = Number(res.headers.get("content-length") ?? NaN);
  // A declared length within the cap is read whole: much cheaper than a JS reader loop.
  if (Number.isInteger(declared) && declared <= cap) {
    return { bytes: await res.bytes(), truncated: false };
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      const value = next.value;
      if (size + value.byteLength > cap) {
        chunks.push(value.subarray(0, cap - size));
        size = cap;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => {});
    // Releasing a finished reader only builds an error object; skip it then.
    if (!done) reader.releaseLock();
  }
  if (chunks.length === 1) return { bytes: chunks[0], truncated };
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, truncated };
}

/** Discards a body we will not read (so the connection can be reused). */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
