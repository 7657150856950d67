/**
 * MCP over WebSocket at `.../ws`: subprotocol `mcp`, one JSON-RPC message
 * per text frame, a session per socket. Not a spec transport, but the form
 * the MCP TypeScript SDK's `WebSocketClientTransport` speaks.
 *
 * @module
 */
import {
  encodeMessage,
  ErrorCode,
  type JsonRpcMessage,
  type JsonRpcResponse,
} from "../mcp/jsonrpc.ts";
import { exchangeFor, type McpCall } from "./call.ts";
import { type ConnectionLimiter, openConnection } from "./connection_limits.ts";
import { rpcErrorResponse } from "./responses.ts";

/** WebSocket close codes used here (RFC 6455). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  TryAgainLater: 1013,
} as const;

const encoder = new TextEncoder();

/** The WebSocket transport for every gateway. */
export class WebSocketTransport {
  /** Shares the streaming-connection limits with the other long-lived transports. */
  constructor(private readonly limiter: ConnectionLimiter) {}

  /** Upgrades an authenticated request and serves MCP on the socket. */
  upgrade(call: McpCall): Response {
    const { req } = call;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return rpcErrorResponse(
        426,
        ErrorCode.InvalidRequest,
        "Upgrade Required: connect with a WebSocket client",
        { upgrade: "websocket" },
      );
    }
    const opened = openConnection(call, this.limiter, "2025-03-26");
    if (opened instanceof Response) return opened;
    const { session, release } = opened;
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) =>
      p.trim()
    );
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(req, {
        protocol: offered.includes("mcp") ? "mcp" : undefined,
        idleTimeout: call.limits.wsPingSeconds,
      });
    } catch (err) {
      // A malformed handshake (no Sec-WebSocket-Key, ...) must not keep its slot or session.
      release();
      call.service.sessions.close(session.id);
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        `Bad Request: invalid WebSocket upgrade: ${(err as Error).message}`,
      );
    }
    const { socket, response } = upgraded;
    socket.binaryType = "arraybuffer";
    const sessions = call.service.sessions;
    const limits = call.limits;
    const close = (code: number, reason: string) => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
    };
    const outbox = new Outbox(
      socket,
      limits.maxBufferedBytes,
      () => close(CloseCode.PolicyViolation, "send buffer limit exceeded"),
    );
    const send = (message: JsonRpcMessage | JsonRpcResponse[]) => {
      if (socket.readyState === WebSocket.OPEN) outbox.send(encodeMessage(message));
    };
    session.outbound = send;
    session.onClose(() => close(CloseCode.GoingAway, "session ended"));
    // A socket outlives the upgrade request, so calls are tied to the socket, not to it.
    const exchange = exchangeFor(call, session, send, false, () => undefined);
    const core = call.service.dispatcher;

    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        close(CloseCode.UnsupportedData, "binary frames are not accepted; send JSON text");
        return;
      }
      // The limit is in bytes; a UTF-16 length can be a third of the UTF-8 size.
      if (
        event.data.length * 3 > limits.maxBodyBytes &&
        encoder.encode(event.data).byteLength > limits.maxBodyBytes
      ) {
        close(CloseCode.MessageTooBig, `messages are limited to ${limits.maxBodyBytes} bytes`);
        return;
      }
      session.lastActive = Date.now();
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        send({
          jsonrpc: "2.0",
          id: null,
          error: {
            code: ErrorCode.ParseError,
            message: "Parse error: the message is not valid JSON",
          },
        });
        return;
      }
      const work = Array.isArray(parsed)
        ? core.handleBatch(
          parsed,
          exchange,
          session.protocolVersion,
          limits.maxBatch,
          event.data.length,
        ).then(
          (out) => {
            if ("error" in out) send({ jsonrpc: "2.0", id: null, error: out.error.toJSON() });
            else if (out.responses.length > 0) send(out.responses);
          },
        )
        : core.handle(parsed, exchange, event.data.length).then((o) => {
          if (o.response) send(o.response);
        });
      work.catch((err) => console.error("WebSocket message handling failed:", err));
    };
    // Closing the socket ends the session, which cancels its running calls.
    socket.onclose = () => {
      outbox.clear();
      release();
      sessions.close(session.id);
    };
    socket.onerror = () => {};
    return response;
  }
}

/** How often a waiting {@link Outbox} looks whether the socket's buffer drained, in ms. */
const DRAIN_POLL_MS = 5;

/**
 * What is sent down one socket, bounded the way SSE streams are: while the
 * socket holds `cap` unsent bytes, messages wait here, and the peer is
 * dropped only once they too pass `cap`. So a single reply larger than the
 * cap, and the messages right behind it, reach a peer that keeps reading,
 * while one that stops reading costs at most about twice the cap plus one
 * message. (Deno's WebSocket has no drain event, so the buffer is polled
 * while anything waits.)
 */
class Outbox {
  #waiting: string[] = [];
  #waitingBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly cap: number,
    private readonly overflow: () => void,
  ) {}

  /** Sends `text` now, or after what waits before it once the buffer drains. */
  send(text: string): void {
    if (this.#waiting.length === 0 && this.socket.bufferedAmount < this.cap) {
      this.socket.send(text);
      return;
    }
    this.#waiting.push(text);
    // UTF-16 length: a lower bound of the bytes, cheap to take.
    this.#waitingBytes += text.length;
    if (this.#waitingBytes > this.cap) {
      this.clear();
      this.overflow();
      return;
    }
    this.#timer ??= setTimeout(() => this.#drain(), DRAIN_POLL_MS);
  }

  /** Forgets what waits (the socket closed). */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = [];
    this.#waitingBytes = 0;
  }

  #drain(): void {
    this.#timer = undefined;
    if (this.socket.readyState !== WebSocket.OPEN) return this.clear();
    while (this.#waiting.length > 0 && this.socket.bufferedAmount < this.cap) {
      const text = this.#waiting.shift()!;
      this.#waitingBytes -= text.length;
      this.socket.send(text);
    }
    if (this.#waiting.length > 0) this.#timer = setTimeout(() => this.#drain(), DRAIN_POLL_MS);
  }
}
