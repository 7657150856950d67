/**
 * Forwarding of requests to upstream servers on behalf of downstream
 * callers: picks the connection a request travels on and turns what comes
 * back into either a result, an {@link UpstreamRpcError} (the upstream
 * answered with a JSON-RPC error) or an {@link UpstreamUnavailable} (it could
 * not be reached, did not answer in time, or is being left alone).
 *
 * @module
 */
import type { Supervisor } from "./supervisor.ts";

/** The downstream side of a forwarded request. */
export interface ForwardCaller {
  /** The downstream session (`id` is empty for a one-shot, sessionless request). */
  session: { readonly id: string; onClose(fn: () => void): void };
  /** Aborted when the downstream caller cancels or goes away. */
  signal: AbortSignal;
}

/** The upstream answered the request with a JSON-RPC error: passed on with its code. */
export class UpstreamRpcError extends Error {
  override name = "UpstreamRpcError";
  /** The upstream's error code, message and data, unchanged. */
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
  }
}

/** The upstream could not serve the request; the message names the server. */
export class UpstreamUnavailable extends Error {
  override name = "UpstreamUnavailable";
}

/** Codes the SDK client raises itself, for a timeout or a lost connection. */
const LOCAL_CODES = new Set([-32001, -32000]);

/** Sends requests to upstream servers for downstream callers. */
export class Forwarder {
  /** A forwarder over the connections `supervisor` keeps. */
  constructor(private readonly supervisor: Supervisor) {}

  /** Sends `method` with `params` to server `serverId` for `caller`; resolves with the result. */
  async request(
    serverId: string,
    method: string,
    params: Record<string, unknown>,
    caller: ForwardCaller,
  ): Promise<Record<string, unknown>> {
    const name = this.supervisor.server(serverId)?.name ?? serverId;
    const conn = this.supervisor.shared(serverId);
    if (!conn) {
      const { lastError } = this.supervisor.status(serverId);
      throw new UpstreamUnavailable(
        `server '${name}' is not connected${lastError ? ` (${lastError})` : ""}`,
      );
    }
    try {
      return await conn.request(method, params, caller.signal);
    } catch (err) {
      throw this.#classify(serverId, name, err);
    }
  }

  /** Drops what is held open for server `serverId` (its settings changed, or it is gone). */
  forget(_serverId: string): void {
    // Nothing is held per server yet: every request goes over the supervisor's connection.
  }

  /** Ends what the forwarder holds open. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #classify(serverId: string, name: string, err: unknown): Error {
    const redact = this.supervisor.redactor(serverId);
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    if (typeof e?.code === "number" && !LOCAL_CODES.has(e.code)) {
      // The SDK prefixes "MCP error <code>: " to the upstream's message.
      const message = String(e.message ?? "").replace(/^MCP error -?\d+: /, "");
      return new UpstreamRpcError(e.code, redact(message), e.data);
    }
    const text = err instanceof Error ? err.message : String(err);
    return new UpstreamUnavailable(`server '${name}' failed: ${redact(text)}`);
  }
}
