/**
 * Calls of stateless (2026-07-28) clients that wait for the client's input:
 * when an upstream asks the client something during such a call (sampling,
 * elicitation, roots), the call is parked here, the client gets
 * `resultType: "input_required"` with the questions and a `requestState`,
 * and its retry with `inputResponses` answers them and resumes the same
 * upstream call. The client holds no session: `requestState` is the handle,
 * sealed (AES-GCM) and bound to the gateway, the caller and an expiry, so a
 * tampered, foreign or stale one is refused.
 *
 * @module
 */
import type { ClientChannel } from "./client_requests.ts";
import { ErrorCode, RpcError } from "./jsonrpc.ts";

/** A question for the client, as `inputRequests` carries it. */
export interface InputRequest {
  method: string;
  params: Record<string, unknown>;
}

interface Ask {
  request: InputRequest;
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

/** What a parked call has come to. */
export type Turn =
  | { done: Record<string, unknown> | undefined }
  | { failed: unknown }
  | { asks: Record<string, InputRequest> };

/** One call waiting for its client. */
export class ParkedCall {
  /** Random, and only ever inside a sealed `requestState`. */
  readonly id = crypto.randomUUID();
  /** Where the call's progress and log messages go: the client's latest request. */
  emit: ClientChannel = () => false;
  readonly #asks = new Map<string, Ask>();
  #next = 0;
  #outcome?: Turn;
  #wake?: () => void;
  #timer?: ReturnType<typeof setTimeout>;

  /** A call of `owner` whose work stops when `controller` aborts. */
  constructor(readonly owner: string, readonly controller: AbortController) {}

  /** Follows the call's work: its end is the call's last turn. */
  attach(work: Promise<Record<string, unknown> | undefined>): void {
    work.then(
      (done) => this.#settle({ done }),
      (failed) => this.#settle({ failed }),
    );
  }

  /**
   * Adds a question for the client, under `key` when given and free (an
   * upstream's own name for it); resolves with its answer on a later retry.
   */
  ask(
    method: string,
    params: Record<string, unknown>,
    key?: string,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let name = key;
      if (name === undefined || name.length > 200 || this.#asks.has(name)) {
        do name = `input-${++this.#next}`; while (this.#asks.has(name));
      }
      this.#asks.set(name, { request: { method, params }, resolve, reject });
      this.#wake?.();
    });
  }

  /**
   * Answers the questions `responses` has keys for; the others stay
   * pending and are asked again. A key that was not asked is ignored.
   */
  answer(responses: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(responses)) {
      const ask = this.#asks.get(key);
      if (!ask) continue;
      this.#asks.delete(key);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        ask.resolve(value as Record<string, unknown>);
      } else {ask.reject(
          new RpcError(ErrorCode.InvalidParams, `inputResponses.${key} is not a result`),
        );}
    }
  }

  /**
   * Waits until the work ends or questions are pending (a moment is left for
   * the work to ask several at once), and says which.
   */
  async turn(): Promise<Turn> {
    while (!this.#outcome && this.#asks.size === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    // Questions asked together go out together.
    if (!this.#outcome) await new Promise((r) => setTimeout(r, 0));
    if (this.#outcome) return this.#outcome;
    const asks: Record<string, InputRequest> = {};
    for (const [key, ask] of this.#asks) asks[key] = ask.request;
    return { asks };
  }

  /** Stops waiting after `ms`: the work is aborted and pending questions fail. */
  expireAfter(ms: number, onExpired: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.end("the client did not come back with its input in time");
      onExpired();
    }, ms);
  }

  /** Ends the call: aborts its work and fails what it still waits for. */
  end(reason: string): void {
    clearTimeout(this.#timer);
    this.controller.abort(new Error(reason));
    for (const ask of this.#asks.values()) {
      ask.reject(new RpcError(ErrorCode.InternalError, reason));
    }
    this.#asks.clear();
  }

  #settle(outcome: Turn): void {
    this.#outcome ??= outcome;
    this.#wake?.();
  }
}

/** How long a parked call waits for its client's retry. */
export const PARK_TTL_MS = 5 * 60_000;
/** Parked calls kept at most; past it, new ones are refused rather than memory grown. */
export const MAX_PARKED = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** The error for a `requestState` that cannot be used, whatever the reason (no oracle). */
function badState(): RpcError {
  return new RpcError(
    ErrorCode.InvalidParams,
    "Invalid params: requestState is not one this gateway issued to this caller, or it expired; " +
      "send the request again without it",
  );
}

/** Every parked call of this process, and the key that seals their handles. */
export class ParkedCalls {
  readonly #calls = new Map<string, ParkedCall>();
  readonly #key: Promise<CryptoKey>;

  /** A registry whose calls wait `ttlMs` for their client at most. */
  constructor(private readonly ttlMs = PARK_TTL_MS) {
    this.#key = crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]) as Promise<CryptoKey>;
  }

  /** Parks a new call of `owner` (a gateway and a caller) whose work `controller` stops. */
  park(owner: string, controller: AbortController): ParkedCall {
    if (this.#calls.size >= MAX_PARKED) {
      throw new RpcError(
        ErrorCode.InternalError,
        "too many calls are waiting for their clients' input; try again later",
      );
    }
    const call = new ParkedCall(owner, controller);
    this.#calls.set(call.id, call);
    call.expireAfter(this.ttlMs, () => this.#calls.delete(call.id));
    return call;
  }

  /** The sealed handle of `call` for its client, valid until the call would expire. */
  async seal(call: ParkedCall): Promise<string> {
    call.expireAfter(this.ttlMs, () => this.#calls.delete(call.id));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const body = encoder.encode(
      JSON.stringify({ id: call.id, owner: call.owner, exp: Date.now() + this.ttlMs }),
    );
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await this.#key, body),
    );
    return `${b64url(iv)}.${b64url(sealed)}`;
  }

  /** The call `state` seals, if it is intact, unexpired, of `owner` and still parked. */
  async open(state: unknown, owner: string): Promise<ParkedCall> {
    if (typeof state !== "string" || state.length > 4096) throw badState();
    const [ivText, bodyText] = state.split(".");
    const iv = fromB64url(ivText ?? "");
    const body = fromB64url(bodyText ?? "");
    if (!iv || !body || iv.length !== 12) throw badState();
    let claims: { id?: unknown; owner?: unknown; exp?: unknown };
    try {
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, await this.#key, body);
      claims = JSON.parse(decoder.decode(plain));
    } catch {
      throw badState();
    }
    const call = typeof claims.id === "string" ? this.#calls.get(claims.id) : undefined;
    if (
      !call || claims.owner !== owner || call.owner !== owner || typeof claims.exp !== "number" ||
      claims.exp < Date.now()
    ) throw badState();
    return call;
  }

  /** Forgets `call` (it finished). */
  finish(call: ParkedCall): void {
    this.#calls.delete(call.id);
    call.end("finished");
  }

  /** Ends every parked call (Gatehouse is stopping). */
  close(): void {
    for (const call of this.#calls.values()) call.end("Gatehouse is stopping");
    this.#calls.clear();
  }
}
