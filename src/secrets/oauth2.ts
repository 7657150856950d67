/**
 * OAuth2 client-credentials tokens (RFC 6749 section 4.4): fetched from the
 * secret's token URL, cached in memory until shortly before they expire,
 * shared by concurrent calls (one request in flight per secret), and fetched
 * anew when asked (an upstream answered 401).
 *
 * Tokens are cached, unlike the vault's stored values, because fetching one is
 * a network round trip that providers rate-limit; a token is also short-lived
 * and scoped by design, so keeping it in memory until expiry is the intended use.
 *
 * @module
 */
import { readCapped } from "../tools/outbound.ts";
import { SecretError } from "../tools/secrets.ts";
import { base64, type OAuth2Value } from "./types.ts";

/** Checks a token URL against the org's outbound policy; returns a refusal message or a client. */
export type TokenUrlCheck = (
  url: URL,
  signal: AbortSignal,
) => Promise<{ ok: true; client?: Deno.HttpClient } | { ok: false; message: string }>;

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions {
  /** Token request timeout in ms (default 15000). */
  timeoutMs?: number;
  /** Lifetime assumed when the provider gives no `expires_in`, in seconds (default 300). */
  defaultLifetimeSeconds?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Entries kept (default 10000); the oldest goes first. */
  maxEntries?: number;
}

interface Entry {
  token: string;
  /** When to stop using it (ms): shortly before the provider's expiry. */
  refreshAt: number;
}

/** A token and the strings that must be redacted with it. */
export interface Token {
  token: string;
  /** The token and the client authentication header value. */
  sensitive: string[];
}

/**
 * The client's HTTP Basic credentials for the token endpoint: id and secret
 * are form-encoded before base64, as RFC 6749 section 2.3.1 requires.
 */
export function clientBasic(v: OAuth2Value): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return base64(`${enc(v.clientId)}:${enc(v.clientSecret)}`);
}

/** How long before the provider's expiry a token is replaced: 10% of its life, at most 30 s. */
export function refreshMargin(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 10);
}

/** Cached client-credentials tokens, keyed by the secret's identity and version. */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  readonly #timeoutMs: number;
  readonly #defaultLifetime: number;
  readonly #now: () => number;
  readonly #max: number;

  /** A cache with `options`. */
  constructor(options: TokenCacheOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#defaultLifetime = options.defaultLifetimeSeconds ?? 300;
    this.#now = options.now ?? Date.now;
    this.#max = options.maxEntries ?? 10_000;
  }

  /**
   * A current access token for `v`. `key` must change whenever the secret's
   * value changes (the vault uses the ciphertext's IV), so a rotated client
   * secret never serves a token obtained with the old one.
   */
  async token(
    key: string,
    name: string,
    v: OAuth2Value,
    check: TokenUrlCheck,
    opts: { fresh?: boolean; signal?: AbortSignal } = {},
  ): Promise<Token> {
    const sensitive = (token: string) => [token, clientBasic(v)];
    if (opts.fresh) this.#entries.delete(key);
    const hit = this.#entries.get(key);
    if (hit && this.#now() < hit.refreshAt) {
      return { token: hit.token, sensitive: sensitive(hit.token) };
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#fetch(name, v, check).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
      pending.then((entry) => this.#store(key, entry), () => {});
    }
    const entry = await abortable(pending, opts.signal);
    return { token: entry.token, sensitive: sensitive(entry.token) };
  }

  /** Forgets every cached token (tests, key rotation). */
  clear(): void {
    this.#entries.clear();
  }

  #store(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, entry);
  }

  async #fetch(name: string, v: OAuth2Value, check: TokenUrlCheck): Promise<Entry> {
    const url = new URL(v.tokenUrl);
    // The fetch runs on its own deadline, not one caller's: other calls may be waiting on it.
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const where = `${url.origin}${url.pathname}`;
    const fail = (why: string) =>
      new SecretError(`could not get an access token for secret '${name}' from ${where}: ${why}`);
    const decision = await check(url, signal).catch(() => undefined);
    if (!decision) throw fail("the token endpoint could not be checked");
    if (!decision.ok) throw fail(decision.message);
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (v.scopes && v.scopes.length > 0) form.set("scope", v.scopes.join(" "));
    if (v.audience) form.set("audience", v.audience);
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Basic ${clientBasic(v)}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form.toString(),
        signal,
        // A token endpoint that redirects is misconfigured; following would re-send credentials.
        redirect: "manual",
        ...(decision.client ? { client: decision.client } : {}),
      });
    } catch {
      throw fail(
        signal.aborted ? "the request timed out" : "the token endpoint could not be reached",
      );
    }
    let body: unknown;
    try {
      const { bytes } = await readCapped(res, 64 * 1024);
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      body = undefined;
    }
    const obj = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
    if (!res.ok) {
      // Only the standard error code: descriptions are free text and may echo what was sent.
      const code = typeof obj.error === "string" && /^[a-z_]{1,64}$/.test(obj.error)
        ? ` (${obj.error})`
        : "";
      throw fail(`HTTP ${res.status}${code}`);
    }
    if (typeof obj.access_token !== "string" || obj.access_token === "") {
      throw fail("the response has no access_token");
    }
    const seconds = typeof obj.expires_in === "number" && obj.expires_in > 0
      ? obj.expires_in
      : typeof obj.expires_in === "string" && /^\d+$/.test(obj.expires_in)
      ? Number(obj.expires_in)
      : this.#defaultLifetime;
    const lifetime = seconds * 1000;
    return { token: obj.access_token, refreshAt: this.#now() + lifetime - refreshMargin(lifetime) };
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (the work itself goes on for others). */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
