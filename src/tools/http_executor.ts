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
  applyAuth,
  BuildError,
  buildRequest,
  type CompiledHttpTool,
  compileHttpTool,
  type RequestPlan,
} from "./http_request.ts";
import { attempt, discard, type HopDecision, readCapped } from "./outbound.ts";
import { Deadline } from "../util/deadline.ts";
import { DEFAULT_OUTBOUND_POLICY, OutboundGuard, type OutboundPolicy } from "./outbound_policy.ts";
import {
  httpErrorResult,
  type PresentOptions,
  type ReadResponse,
  type Redactor,
  redactorFor,
  statusLine,
  successResult,
} from "./response_content.ts";
import {
  type AuthMaterial,
  NO_SECRETS,
  type ResolvedSecret,
  type ResolveOptions,
  SecretError,
  type SecretResolver,
} from "./secrets.ts";
import type { Tool } from "../store/tools.ts";

/** Default cap on the response bytes read per call (1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;

/** An org's outbound policy and its slug (named in the hint of a refusal). */
export interface OrgOutbound {
  policy: OutboundPolicy;
  slug?: string;
}

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
  /**
   * The outbound policy of an org and its slug (named in the hint of a
   * refusal); called on every call, so it should be cached and answer
   * from memory, not with a promise, once read (default: the default policy
   * everywhere).
   */
  outbound?: (orgId: string) => OrgOutbound | Promise<OrgOutbound>;
  /** Destination checks and pinned connections (default: a guard over `Deno.resolveDns`). */
  guard?: OutboundGuard;
}

/** A call ready to send: its request, how to present the answer, whether a 401 may be retried. */
interface Prepared {
  plan: RequestPlan;
  present: PresentOptions;
  refreshable: boolean;
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
  readonly #outbound: NonNullable<HttpExecutorOptions["outbound"]>;
  readonly #guard: OutboundGuard;
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
    this.#outbound = options.outbound ?? (() => ({ policy: DEFAULT_OUTBOUND_POLICY }));
    this.#guard = options.guard ?? new OutboundGuard();
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
    const call = await this.#prepare(tool, t, args, ctx, false);
    if ("content" in call) return call;
    ctx.log("debug", call.present.redact(`${call.plan.method} ${call.plan.logUrl}`));
    // Only a refreshable credential (an OAuth2 token) is worth a second try after a 401.
    const reauth = call.refreshable ? () => this.#prepare(tool, t, args, ctx, true) : undefined;
    return await this.#send(t, call, tool.orgId, ctx, reauth);
  }

  /** Releases pooled connections (pinned clients); the server calls it when stopping. */
  close(): void {
    this.#guard.close();
  }

  /**
   * Resolves the call's secrets (templates and `auth`) and builds its request;
   * an error result when a secret is missing or the arguments do not fit.
   */
  async #prepare(
    tool: Tool,
    t: CompiledHttpTool,
    args: Record<string, unknown>,
    ctx: ExecutionContext,
    fresh: boolean,
  ): Promise<Prepared | CallToolResult> {
    const options = { signal: ctx.signal, fresh };
    const secrets = await this.#resolveSecrets(tool.orgId, t.secrets, options);
    if ("error" in secrets) return errorResult(secrets.error);
    const sensitive = [...secrets.values.values(), ...secrets.sensitive];
    let auth: AuthMaterial | undefined;
    if (t.auth !== undefined) {
      const got = await this.#authenticate(tool.orgId, t.auth, options);
      if ("error" in got) return errorResult(got.error);
      auth = got.auth;
      sensitive.push(...auth.sensitive);
    }
    if (ctx.signal.aborted) return cancelled();
    const redact = redactorFor(sensitive);
    let plan: RequestPlan;
    try {
      plan = buildRequest(t, args, secrets.values);
      if (auth) plan = applyAuth(plan, auth);
    } catch (err) {
      if (err instanceof BuildError) {
        return errorResult(redact(`cannot call ${tool.name}: ${err.message}`));
      }
      throw err;
    }
    const q = plan.logUrl.indexOf("?");
    const present: PresentOptions = {
      cap: this.#cap,
      structured: tool.outputSchema !== undefined,
      uri: q < 0 ? plan.logUrl : plan.logUrl.slice(0, q),
      redact,
      excerptChars: this.#excerptChars,
    };
    return { plan, present, refreshable: auth?.refreshable ?? false };
  }

  async #resolveSecrets(
    orgId: string,
    names: readonly string[],
    options: ResolveOptions,
  ): Promise<{ values: Map<string, string>; sensitive: string[] } | { error: string }> {
    const values = new Map<string, string>();
    const sensitive: string[] = [];
    if (names.length === 0) return { values, sensitive };
    let found: (string | ResolvedSecret | undefined)[];
    try {
      found = await Promise.all(names.map((n) => this.#secrets.resolve(orgId, n, options)));
    } catch (err) {
      // A SecretError is worded for the model; any other message could quote a value.
      if (err instanceof SecretError) return { error: err.message };
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
    names.forEach((n, i) => {
      const v = found[i]!;
      if (typeof v === "string") values.set(n, v);
      else {
        values.set(n, v.value);
        sensitive.push(...v.sensitive);
      }
    });
    return { values, sensitive };
  }

  async #authenticate(
    orgId: string,
    name: string,
    options: ResolveOptions,
  ): Promise<{ auth: AuthMaterial } | { error: string }> {
    let auth: AuthMaterial | undefined;
    try {
      auth = await this.#secrets.authenticate?.(orgId, name, options);
    } catch (err) {
      if (err instanceof SecretError) return { error: err.message };
      return { error: `the secret '${name}' (executionConfig.auth) could not be read` };
    }
    if (!auth) {
      return {
        error: `secret '${name}' (executionConfig.auth) not configured for this organization; ` +
          "add it under /secrets",
      };
    }
    return { auth };
  }

  /** Checks one hop's destination against the org's policy; pins plain-http names. */
  async #check(orgId: string, url: URL, signal: AbortSignal): Promise<HopDecision> {
    // From memory once the org's policy was read: no await then (every tool call comes here).
    const pending = this.#outbound(orgId);
    const { policy, slug } = pending instanceof Promise ? await pending : pending;
    return await this.#guard.decide(url, policy, signal, slug);
  }

  #backoff(retry: number): number {
    const ceiling = Math.min(this.#maxBackoffMs, this.#baseMs * 2 ** retry);
    // Half fixed, half random: spreads retries of many callers without ever retrying at once.
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  async #send(
    t: CompiledHttpTool,
    call: Prepared,
    orgId: string,
    ctx: ExecutionContext,
    reauth?: () => Promise<Prepared | CallToolResult>,
  ): Promise<CallToolResult> {
    let { plan, present } = call;
    let { redact } = present;
    const retries = t.idempotent ? t.retries : 0;
    const target = `${plan.method} ${plan.url.host}`;
    const guard = (url: URL, signal: AbortSignal) => this.#check(orgId, url, signal);
    for (let n = 0;;) {
      const started = performance.now();
      // The request log keeps the last attempt: its status (none without an answer) and time.
      const report = (status: number | null) =>
        ctx.upstream?.({ status, durationMs: performance.now() - started, target: plan.url.host });
      // A fresh time limit per attempt, let go of once its body is read.
      using deadline = new Deadline(t.timeoutMs, ctx.signal);
      const out = await attempt(plan, { deadline, maxRedirects: this.#maxRedirects, guard });
      let reason: string;
      let delay: number;
      report(out.kind === "response" ? out.response.status : null);
      if (out.kind === "cancelled") return cancelled();
      if (out.kind === "timeout") {
        // Not retried: a deadline the author set is the caller's budget, not per-try slack.
        return errorResult(redact(`${target} timed out after ${t.timeoutMs} ms`));
      }
      if (out.kind === "network") {
        // A refused destination or redirect stays refused however often it is tried.
        if (n >= retries || out.cause === "redirect" || out.cause === "blocked") {
          return errorResult(redact(out.message));
        }
        reason = out.message;
        delay = this.#backoff(n);
      } else {
        const res = out.response;
        if (res.status === 401 && reauth) {
          // The token may have been revoked or expired early: once, with a fresh one.
          await discard(res);
          const next = await reauth();
          reauth = undefined;
          if ("content" in next) return next;
          ({ plan, present } = next);
          ({ redact } = present);
          ctx.log("info", redact(`401 from ${target}; retrying once with a fresh token`));
          continue;
        }
        if (res.status >= 200 && res.status < 300) {
          const read = await this.#read(res, this.#cap, deadline, ctx);
          // Its time includes the body's.
          report(res.status);
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
          const read = await this.#read(res, ERROR_BODY_BYTES, deadline, ctx);
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
      n++;
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
    deadline: Deadline,
    ctx: ExecutionContext,
  ): Promise<ReadResponse | "cancelled" | "timeout" | "broken"> {
    try {
      const { bytes, truncated } = await readCapped(res, cap);
      return {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        bytes,
        truncated,
      };
    } catch {
      if (ctx.signal.aborted) return "cancelled";
      return deadline.expired ? "timeout" : "broken";
    }
  }
}
