/**
 * Requests Gatehouse sends to a client on an upstream's behalf (sampling,
 * elicitation, roots), and the bookkeeping that pairs the client's answers
 * with them. Ids are Gatehouse's own, so requests relayed for two upstreams
 * (or two calls) never mix, whatever ids the upstreams used.
 *
 * @module
 */
import {
  ErrorCode,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  notification,
  type RequestId,
  RpcError,
} from "./jsonrpc.ts";

/** The requests a server may send its client, by the client capability each needs. */
export const CLIENT_REQUEST_CAPABILITIES = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
} as const;

/**
 * Hands a message to the client's channel; `false` means no channel can
 * carry it now (a JSON-only POST with no stream open).
 */
export type ClientChannel = (message: JsonRpcRequest | JsonRpcNotification) => boolean | void;

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

/** The requests of one session awaiting the client's answer. */
export class ClientRequests {
  #next = 0;
  readonly #pending = new Map<RequestId, Pending>();

  /** Requests whose ids start with `idPrefix` (a counter follows it). */
  constructor(readonly idPrefix = "gatehouse-") {}

  /** How many requests await an answer. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Sends `method` to the client through `send` and resolves with its
   * result; rejects with an {@link RpcError} carrying the client's error, or
   * when `signal` aborts (the client is then told the request is cancelled).
   */
  ask(
    send: ClientChannel,
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    if (signal.aborted) return Promise.reject(aborted(method, signal));
    const id = `${this.idPrefix}${++this.#next}`;
    return new Promise((resolve, reject) => {
      const settle = () => {
        this.#pending.delete(id);
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        settle();
        send(notification("notifications/cancelled", { requestId: id, reason: "cancelled" }));
        reject(aborted(method, signal));
      };
      this.#pending.set(id, {
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      signal.addEventListener("abort", onAbort, { once: true });
      const delivered = send({ jsonrpc: "2.0", id, method, params });
      if (delivered === false) this.#pending.get(id)?.reject(noStreamFor(method));
    });
  }

  /** Settles the request `response` answers; false when none awaits it. */
  answer(response: JsonRpcResponse): boolean {
    const pending = this.#pending.get(response.id as RequestId);
    if (!pending) return false;
    if ("error" in response && response.error) {
      const { code, message, data } = response.error;
      pending.reject(new RpcError(code, message, data));
    } else {
      const result = (response as { result?: unknown }).result;
      pending.resolve(
        typeof result === "object" && result !== null ? result as Record<string, unknown> : {},
      );
    }
    return true;
  }

  /** Fails every request still waiting (the session ended). */
  closeAll(reason: string): void {
    for (const p of [...this.#pending.values()]) {
      p.reject(new RpcError(ErrorCode.InternalError, reason));
    }
  }
}

/** Why a request `method` could not be sent: nothing carries it to the client. */
export function noStreamFor(method: string): RpcError {
  return new RpcError(
    ErrorCode.InternalError,
    `the client has no open stream to receive ${method} (it accepts only JSON answers ` +
      "and has no GET stream open)",
  );
}

function aborted(method: string, signal: AbortSignal): RpcError {
  const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : "";
  return new RpcError(
    ErrorCode.InternalError,
    `${method} was abandoned before the client answered${why}`,
  );
}
