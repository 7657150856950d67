/**
 * Bounds on long-lived connections (SSE streams, WebSockets) per gateway and
 * per credential, so one client cannot exhaust the server.
 *
 * @module
 */
import { ErrorCode } from "../mcp/jsonrpc.ts";
import { type Session, SessionLimitError } from "../mcp/session.ts";
import { type McpCall, ownerOf } from "./call.ts";
import { rpcErrorResponse } from "./responses.ts";

/**
 * Takes a connection slot and opens the session a long-lived connection (SSE
 * stream, WebSocket) lives with, or answers why not: 429 past the connection
 * limits or when the gateway or the credential has no room for another session.
 */
export function openConnection(
  call: McpCall,
  limiter: ConnectionLimiter,
  version: string,
): { session: Session; release: () => void } | Response {
  const release = limiter.acquire(call.target.gateway.id, call.principal.id);
  if (typeof release !== "function") {
    return rpcErrorResponse(
      429,
      ErrorCode.InvalidRequest,
      `Too Many Requests: ${release.refused}`,
      {
        "retry-after": "10",
      },
    );
  }
  try {
    const session = call.service.sessions.create(
      ownerOf(call),
      call.observe.transport,
      version,
      "info",
    );
    return { session, release };
  } catch (err) {
    release();
    if (!(err instanceof SessionLimitError)) throw err;
    return rpcErrorResponse(429, ErrorCode.InvalidRequest, err.message, {
      "retry-after": String(err.retryAfterSeconds),
    });
  }
}

/** Counts open connections and refuses new ones past the limits. */
export class ConnectionLimiter {
  #perGateway = new Map<string, number>();
  #perKey = new Map<string, number>();

  /** Creates a limiter with the given maxima. */
  constructor(private readonly maxPerGateway: number, private readonly maxPerKey: number) {}

  /**
   * Takes a slot for a connection to `gatewayId` by `keyId`. Returns the
   * function that gives it back, or a reason when a limit is reached.
   */
  acquire(gatewayId: string, keyId: string): (() => void) | { refused: string } {
    const g = this.#perGateway.get(gatewayId) ?? 0;
    const k = this.#perKey.get(`${gatewayId}\n${keyId}`) ?? 0;
    if (g >= this.maxPerGateway) {
      return { refused: `this gateway already has ${g} open streaming connections (the limit)` };
    }
    if (k >= this.maxPerKey) {
      return { refused: `this credential already has ${k} open streaming connections (the limit)` };
    }
    const kk = `${gatewayId}\n${keyId}`;
    this.#perGateway.set(gatewayId, g + 1);
    this.#perKey.set(kk, k + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#perGateway, gatewayId);
      decrement(this.#perKey, kk);
    };
  }

  /** Open connections of `gatewayId`. */
  count(gatewayId: string): number {
    return this.#perGateway.get(gatewayId) ?? 0;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
