/**
 * The executor of `type: "http"` tools: fills the tool's request templates,
 * calls the upstream with timeouts, retries and cancellation, and turns
 * whatever comes back (or fails to) into an MCP tool result.
 *
 * Upstream failures are results with `isError: true`, worded so the model can
 * act on them; only a fault in Gatehouse itself throws.
 *
 * @module
 */
import {
  type CallToolResult,
  errorResult,
  type ExecutionContext,
  type ToolExecutor,
} from "./executor.ts";
import {
  BuildError,
  buildRequest,
  type CompiledHttpTool,
  compileHttpTool,
  type RequestPlan,
} from "./http_request.ts";
import { attempt, discard, readCapped } from "./outbound.ts";
import {
  httpErrorResult,
  type PresentOptions,
  type ReadResponse,
  type Redactor,
  redactorFor,
  statusLine,
  successResult,
} from "./response_content.ts";
import { NO_SECRETS, type SecretResolver } from "./secrets.ts";
import type { Tool } from "../store/tools.ts";

/** Default cap on the response bytes read per call (1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;

/** Settings of {@link HttpExecutor}; every field has a default. */
export interface HttpExecutorOptions {
  /** Where `{{secrets.NAME}}` values come from (default: nowhere). */
  secrets?: SecretResolver;
  /** Response bytes read before the rest is cut off with a note (default 1 MiB). */
  maxResponseBytes?: number;
  /** First retry delay in ms before jitter; doubles per retry (default 100). */
  retryBaseMs?: number;
  /** Longest backoff delay in ms (default 2000). */
  maxBackoffMs?: number;
  /** Longest `Retry-After` waited for, in ms; a longer one ends the call (default 10000). */
  maxRetryAfterMs?: number;
  /** Characters of an error body quoted in error results (default 500). */
  errorExcerptChars?: number;
  /** Redirects followed per attempt (default 5). */
  maxRedirects?: number;
  /** Compiled tools kept (default 5000). */
  cacheSize?: number;
}

/** The bytes of an error body read: enough for the excerpt in any encoding. */
const ERROR_BODY_BYTES = 8192;

function cancelled(): CallToolResult {
  return errorResult("the call was cancelled");
}

/** Waits `ms`, or less if `signal` aborts; true when the full wait elapsed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (full: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(full);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The delay a `Retry-After` header asks for, in ms (delta-seconds or an HTTP
 * date); undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Runs `http` tools. */
export class HttpExecutor implements ToolExecutor {
  readonly #secrets: SecretResolver;
  readonly #cap: number;
  readonly #baseMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #excerptChars: number;
  readonly #maxRedirects: number;
  readonly #cacheSize: number;
  /** Compiled tools by id, valid while `updatedAt` matches (an update bumps it). */
  readonly #compiled = new Map<string, { updatedAt: string; tool: CompiledHttpTool }>();

  /** An executor with `options` (defaults suit production). */
  constructor(options: HttpExecutorOptions = {}) {
    this.#secrets = options.secrets ?? NO_SECRETS;
    this.#cap = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#baseMs = options.retryBaseMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.#excerptChars = options.errorExcerptChars ?? 500;
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#cacheSize = options.cacheSize ?? 5000;
  }

  /** The compiled form of `tool`, compiled at most once per version. */
  compiled(tool: Tool): CompiledHttpTool {
    const hit = this.#compiled.get(tool.id);
    if (hit && hit.updatedAt === tool.updatedAt) return hit.tool;
    const compiled = compileHttpTool(tool.executionConfig);
    this.#compiled.delete(tool.id);
    if (this.#compiled.size >= this.#cacheSize) {
      // Oldest first is enough: the cache only saves parsing, a miss is cheap.
      this.#compiled.delete(this.#compiled.keys().next().value!);
    }
    this.#compiled.set(tool.id, { updatedAt: tool.updatedAt, tool: compiled });
    return compiled;
  }

  /** Calls the upstream of `tool` with `args`; upstream failures are `isError` results. */
  async execute(
    tool: Tool,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
  ): Promise<CallToolResult> {
    const t = this.compiled(tool);
    if (ctx.signal.aborted) return cancelled();
    const secrets = await this.#resolveSecrets(tool.orgId, t.secrets);
    if ("error" in secrets) return errorResult(secrets.error);
    const redact = redactorFor(secrets.values.values());
    let plan: RequestPlan;
    try {
      plan = buildRequest(t, args, secrets.values);
    } catch (err) {
      if (err instanceof BuildError) {
        return errorResult(redact(`cannot call ${tool.name}: ${err.message}`));
      }
      throw err;
    }
    ctx.log("debug", redact(`${plan.method} ${plan.logUrl}`));
    const q = plan.logUrl.indexOf("?");
    const present: PresentOptions = {
      cap: this.#cap,
      structured: tool.outputSchema !== undefined,
      uri: q < 0 ? plan.logUrl : plan.logUrl.slice(0, q),
      redact,
      excerptChars: this.#excerptChars,
    };
    return await this.#send(t, plan, present, ctx);
  }

  async #resolveSecrets(
    orgId: string,
    names: readonly string[],
  ): Promise<{ values: Map<string, string> } | { error: string }> {
    const values = new Map<string, string>();
    if (names.length === 0) return { values };
    let found: (string | undefined)[];
    try {
      found = await Promise.all(names.map((n) => this.#secrets.resolve(orgId, n)));
    } catch {
      // The resolver's message could quote a value; only the names are safe to report.
      return { error: `the secrets ${names.map((n) => `'${n}'`).join(", ")} could not be read` };
    }
    const missing = names.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      return {
        error: `secret${missing.length > 1 ? "s" : ""} ${
          missing.map((n) => `'${n}'`).join(", ")
        } not configured for this organization; add ${
          missing.length > 1 ? "them" : "it"
        } under /secrets`,
      };
    }
    names.forEach((n, i) => values.set(n, found[i]!));
    return { values };
  }

  #backoff(retry: number): number {
    const ceiling = Math.min(this.#maxBackoffMs, this.#baseMs * 2 ** retry);
    // Half fixed, half random: spreads retries of many callers without ever retrying at once.
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  async #send(
    t: CompiledHttpTool,
    plan: RequestPlan,
    present: PresentOptions,
    ctx: ExecutionContext,
  ): Promise<CallToolResult> {
    const { redact } = present;
    const retries = t.idempotent ? t.retries : 0;
    const target = `${plan.method} ${plan.url.host}`;
    for (let n = 0;; n++) {
      const out = await attempt(plan, {
        timeoutMs: t.timeoutMs,
        signal: ctx.signal,
        maxRedirects: this.#maxRedirects,
      });
      let reason: string;
      let delay: number;
      if (out.kind === "cancelled") return cancelled();
      if (out.kind === "timeout") {
        // Not retried: a deadline the author set is the caller's budget, not per-try slack.
        return errorResult(redact(`${target} timed out after ${t.timeoutMs} ms`));
      }
      if (out.kind === "network") {
        if (n >= retries || out.cause === "redirect") return errorResult(redact(out.message));
        reason = out.message;
        delay = this.#backoff(n);
      } else {
        const res = out.response;
        if (res.status >= 200 && res.status < 300) {
          const read = await this.#read(res, this.#cap, out.timeout, ctx);
          if (typeof read === "string") return this.#readFailure(read, t, target, redact);
          return successResult(read, present);
        }
        const retryable = res.status >= 500 || res.status === 429;
        const asked = retryAfterMs(res.headers.get("retry-after"));
        const tooLong = asked !== undefined && asked > this.#maxRetryAfterMs;
        if (!retryable || n >= retries || tooLong) {
          const note = asked !== undefined && retryable
            ? ` (the upstream asks to retry after ${Math.ceil(asked / 1000)} s)`
            : "";
          const read = await this.#read(res, ERROR_BODY_BYTES, out.timeout, ctx);
          if (read === "cancelled") return cancelled();
          // The status alone still tells the model what happened.
          if (typeof read === "string") {
            return errorResult(statusLine(res.status, res.statusText) + note);
          }
          return httpErrorResult(read, present, note);
        }
        await discard(res);
        reason = statusLine(res.status, res.statusText);
        delay = asked ?? this.#backoff(n);
      }
      ctx.log(
        "warning",
        redact(`${reason} from ${target}; retry ${n + 1} of ${retries} in ${delay} ms`),
      );
      ctx.progress(n + 1, retries + 1, `retrying after ${redact(reason)}`);
      if (!await sleep(delay, ctx.signal)) return cancelled();
    }
  }

  #readFailure(
    why: "cancelled" | "timeout" | "broken",
    t: CompiledHttpTool,
    target: string,
    redact: Redactor,
  ): CallToolResult {
    if (why === "cancelled") return cancelled();
    return errorResult(redact(
      why === "timeout"
        ? `${target} timed out after ${t.timeoutMs} ms while sending the response`
        : `the connection to ${target} broke while sending the response`,
    ));
  }

  /** Reads a body up to `cap`, or says why it could not be read. */
  async #read(
    res: Response,
    cap: number,
    timeout: AbortSignal,
    ctx: ExecutionContext,
  ): Promise<ReadResponse | "cancelled" | "timeout" | "broken"> {
    try {
      const { bytes, truncated } = await readCapped(res.body, cap);
      return {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        bytes,
        truncated,
      };
    } catch {
      if (ctx.signal.aborted) return "cancelled";
      return timeout.aborted ? "timeout" : "broken";
    }
  }
}
