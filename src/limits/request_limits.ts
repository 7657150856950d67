/**
 * The rate limits of MCP requests: per caller (a gateway key's own limit,
 * else the gateway's default for each caller), per gateway (all callers
 * together) and per tool assignment (calls per minute per caller). All in
 * memory, per process: the counters live in one {@link RateLimiter}, and
 * each gateway's limits are read from its configuration once, then kept
 * until the store announces a change to that gateway.
 *
 * @module
 */
import type { ChangeFeed } from "../store/changes.ts";
import type { LimitKind } from "../telemetry/requests.ts";
import { isObject } from "../util/json.ts";
import { type Quota, RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";

/** A limit as configured: at most `requests` requests per `windowSeconds` seconds. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/** The limits a gateway's `configuration.rateLimits` sets. */
export interface GatewayRateLimits {
  /** The default limit of each caller whose credential has none of its own. */
  perCaller?: RateLimit;
  /** The ceiling of all callers together. */
  gateway?: RateLimit;
}

/** Most requests one limit may allow per window. */
export const MAX_LIMIT_REQUESTS = 1_000_000_000;
/** Longest window of a limit, in seconds (one day). */
export const MAX_LIMIT_WINDOW_SECONDS = 86_400;

/**
 * `value` as a {@link RateLimit}, or a description of what is wrong with it
 * (for the API's 400s, and so that a stored value that is not one is ignored).
 */
export function rateLimitOf(value: unknown): RateLimit | string {
  if (!isObject(value)) return "must be an object {requests, windowSeconds}";
  for (const k of Object.keys(value)) {
    if (k !== "requests" && k !== "windowSeconds") return `has an unknown field '${k}'`;
  }
  const { requests, windowSeconds } = value;
  if (!Number.isInteger(requests) || (requests as number) < 1) {
    return ".requests must be a whole number of at least 1";
  }
  if ((requests as number) > MAX_LIMIT_REQUESTS) {
    return `.requests must be at most ${MAX_LIMIT_REQUESTS}`;
  }
  if (
    !Number.isInteger(windowSeconds) || (windowSeconds as number) < 1 ||
    (windowSeconds as number) > MAX_LIMIT_WINDOW_SECONDS
  ) {
    return `.windowSeconds must be a whole number from 1 to ${MAX_LIMIT_WINDOW_SECONDS}`;
  }
  return { requests: requests as number, windowSeconds: windowSeconds as number };
}

/**
 * The limits of a gateway's stored configuration; parts that are not valid
 * limits (stored before the API checked them) are ignored.
 */
export function gatewayRateLimitsOf(configuration: Record<string, unknown>): GatewayRateLimits {
  const raw = configuration.rateLimits;
  const limits: GatewayRateLimits = {};
  if (!isObject(raw)) return limits;
  const perCaller = rateLimitOf(raw.perCaller);
  if (typeof perCaller !== "string") limits.perCaller = perCaller;
  const gateway = rateLimitOf(raw.gateway);
  if (typeof gateway !== "string") limits.gateway = gateway;
  return limits;
}

/** Who a request counts against. */
export interface LimitedCaller {
  /** The identity counted: the credential's id, or `address:<ip>` without authentication. */
  limitKey: string;
  /** The credential's own limit (a gateway key's), which replaces the gateway's default. */
  rateLimit?: RateLimit;
}

/** Why a request was refused, and what to tell the client. */
export interface LimitRefusal {
  kind: LimitKind;
  /** Whole seconds until a retry fits (at least 1). */
  retryAfterSeconds: number;
  /** The limit that refused it. */
  limit: RateLimit;
  /**
   * `Retry-After`, `RateLimit` and `RateLimit-Policy` (draft-ietf-httpapi-
   * ratelimit-headers) for HTTP answers.
   */
  headers: Record<string, string>;
}

/** A gateway's limits ready to check. */
interface Compiled {
  perCaller?: Quota & { limit: RateLimit };
  gateway?: Quota & { limit: RateLimit };
  /** Bucket key of the gateway's ceiling, made once. */
  gatewayKey: string;
}

/** Reads a gateway's limits (from its configuration); undefined when the gateway is gone. */
export type LimitsLoader = (gatewayId: string) => Promise<GatewayRateLimits | undefined>;

function quotaOf(limit: RateLimit): Quota & { limit: RateLimit } {
  return { requests: limit.requests, windowMs: limit.windowSeconds * 1000, limit };
}

/** The window of per-tool limits: they count calls per minute. */
const TOOL_WINDOW_MS = 60_000;

/** The limits of every gateway, and the counters. */
export class RequestLimits {
  readonly #limiter: RateLimiter;
  readonly #load: LimitsLoader;
  /** Each gateway's compiled limits; null when it has none (the common case: one lookup). */
  readonly #gateways = new Map<string, Compiled | null>();
  readonly #toolQuotas = new Map<number, Quota>();
  /** Quotas of credentials' own limits, by the limit object their cached principal holds. */
  readonly #keyQuotas = new WeakMap<RateLimit, Quota & { limit: RateLimit }>();
  /** Increments on every change, so limits read before one are not kept after it. */
  #generation = 0;
  readonly #unsubscribe: () => void;
  readonly #unsubscribeResync: () => void;

  /** Limits read through `load`, re-read after `changes` names their gateway. */
  constructor(load: LimitsLoader, changes: ChangeFeed, options: RateLimiterOptions = {}) {
    this.#load = load;
    this.#limiter = new RateLimiter(options);
    this.#unsubscribe = changes.subscribe(({ gatewayIds }) => {
      this.#generation++;
      for (const id of gatewayIds) this.#gateways.delete(id);
    });
    this.#unsubscribeResync = changes.onResync(() => {
      this.#generation++;
      this.#gateways.clear();
    });
  }

  /** Stops listening to the store. */
  dispose(): void {
    this.#unsubscribe();
    this.#unsubscribeResync();
  }

  /**
   * Checks one request of `caller` to `gatewayId` against the caller's limit
   * and the gateway's ceiling and, when both admit it, counts it against
   * both (a request one refuses counts against neither), at `at` (epoch
   * ms; now by default). Undefined when admitted. From memory once the
   * gateway's limits were read: a promise only the first time after a change.
   */
  admit(
    gatewayId: string,
    caller: LimitedCaller,
    at?: number,
  ): LimitRefusal | undefined | Promise<LimitRefusal | undefined> {
    const g = this.#gateways.get(gatewayId);
    if (g === undefined) {
      return this.#compile(gatewayId).then((compiled) =>
        this.#admit(gatewayId, compiled, caller, at)
      );
    }
    return this.#admit(gatewayId, g, caller, at);
  }

  #admit(
    gatewayId: string,
    g: Compiled | null,
    caller: LimitedCaller,
    at: number | undefined,
  ): LimitRefusal | undefined {
    if (g === null && caller.rateLimit === undefined) return undefined;
    const now = at ?? Date.now();
    const limiter = this.#limiter;
    const own = caller.rateLimit ? this.#quotaOf(caller.rateLimit) : g?.perCaller;
    const ceiling = g?.gateway;
    const mine = own && limiter.counter(`${gatewayId}\ncaller\n${caller.limitKey}`, own, now);
    if (mine) {
      const wait = limiter.wait(mine, own, now);
      if (wait > 0) return this.#refusal("caller", own, wait, ceiling);
    }
    if (ceiling) {
      const all = limiter.counter(g!.gatewayKey, ceiling, now);
      const wait = limiter.wait(all, ceiling, now);
      if (wait > 0) return this.#refusal("gateway", ceiling, wait, own);
      limiter.take(all);
    }
    if (mine) limiter.take(mine);
    return undefined;
  }

  /**
   * Checks and counts one call by `limitKey` of tool `toolName` of
   * `gatewayId`, limited to `perMinute` calls a minute per caller. 0 when
   * admitted, else the whole seconds until a retry fits.
   */
  admitTool(
    gatewayId: string,
    toolName: string,
    limitKey: string,
    perMinute: number,
    now = Date.now(),
  ): number {
    let quota = this.#toolQuotas.get(perMinute);
    if (!quota) {
      this.#toolQuotas.set(perMinute, quota = { requests: perMinute, windowMs: TOOL_WINDOW_MS });
    }
    const c = this.#limiter.counter(`${gatewayId}\ntool\n${toolName}\n${limitKey}`, quota, now);
    const wait = this.#limiter.wait(c, quota, now);
    if (wait > 0) return seconds(wait);
    this.#limiter.take(c);
    return 0;
  }

  #quotaOf(limit: RateLimit): Quota & { limit: RateLimit } {
    let quota = this.#keyQuotas.get(limit);
    if (!quota) this.#keyQuotas.set(limit, quota = quotaOf(limit));
    return quota;
  }

  async #compile(gatewayId: string): Promise<Compiled | null> {
    const generation = this.#generation;
    const limits = await this.#load(gatewayId);
    const compiled: Compiled | null = limits && (limits.perCaller || limits.gateway)
      ? {
        ...(limits.perCaller ? { perCaller: quotaOf(limits.perCaller) } : {}),
        ...(limits.gateway ? { gateway: quotaOf(limits.gateway) } : {}),
        gatewayKey: `${gatewayId}\ngateway`,
      }
      : null;
    // A gateway that is gone is not kept: its id never comes back. Nor are limits a change
    // overtook: they may be the old ones.
    if (limits && generation === this.#generation) this.#gateways.set(gatewayId, compiled);
    return compiled;
  }

  #refusal(
    kind: "caller" | "gateway",
    quota: Quota & { limit: RateLimit },
    waitMs: number,
    other: (Quota & { limit: RateLimit }) | undefined,
  ): LimitRefusal {
    const retryAfterSeconds = seconds(waitMs);
    const policies = [`"${kind}";q=${quota.requests};w=${quota.limit.windowSeconds}`];
    if (other) {
      const name = kind === "caller" ? "gateway" : "caller";
      policies.push(`"${name}";q=${other.requests};w=${other.limit.windowSeconds}`);
    }
    return {
      kind,
      retryAfterSeconds,
      limit: quota.limit,
      headers: {
        "retry-after": String(retryAfterSeconds),
        ratelimit: `"${kind}";r=0;t=${retryAfterSeconds}`,
        "ratelimit-policy": policies.join(", "),
      },
    };
  }
}

/** `ms` as whole seconds, rounded up, at least 1 (what `Retry-After` carries). */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
