/**
 * The HTTP+SSE transport of MCP 2024-11-05 (what `SSEClientTransport` and
 * older clients speak): `GET .../sse` opens a stream whose first event,
 * `endpoint`, names the URL to POST messages to; every response and
 * notification then travels down the stream as `event: message`.
 *
 * @module
 */
import {
  encodeMessage,
  ErrorCode,
  type JsonRpcMessage,
  type JsonRpcResponse,
} from "../mcp/jsonrpc.ts";
import { exchangeFor, type McpCall, ownerOf } from "./call.ts";
import { type ConnectionLimiter, openConnection } from "./connection_limits.ts";
import { parseAccept } from "./guards.ts";
import { readMessageBody, rpcErrorResponse } from "./responses.ts";
import { SSE_HEADERS, SseStream } from "./sse.ts";

/** The version an SSE session runs at until the client's `initialize` says otherwise. */
const SSE_DEFAULT_VERSION = "2024-11-05";

/** The legacy SSE transport for every gateway. */
export class SseTransport {
  /** Shares the streaming-connection limits with the other long-lived transports. */
  constructor(private readonly limiter: ConnectionLimiter) {}

  /** `GET {gateway}/sse`: opens the stream and its session. */
  open(call: McpCall, messagesPath: string): Response {
    if (call.req.method !== "GET") {
      return rpcErrorResponse(405, ErrorCode.InvalidRequest, "Method not allowed", {
        allow: "GET",
      });
    }
    const accepts = parseAccept(call.req.headers.get("accept"));
    if (!accepts.sse && !accepts.any) {
      return rpcErrorResponse(
        406,
        ErrorCode.InvalidRequest,
        "Not Acceptable: the client must accept text/event-stream",
      );
    }
    const opened = openConnection(call, this.limiter, SSE_DEFAULT_VERSION);
    if (opened instanceof Response) return opened;
    const { session, release } = opened;
    const sessions = call.service.sessions;
    const stream = new SseStream({
      keepAliveMs: call.limits.keepAliveMs,
      maxBufferedBytes: call.limits.maxBufferedBytes,
      // The session lives exactly as long as its stream.
      onClose: () => {
        release();
        sessions.close(session.id);
      },
    });
    session.onClose(() => stream.close());
    session.outbound = (message: JsonRpcMessage | JsonRpcResponse[]) => {
      stream.send({ event: "message", data: encodeMessage(message) });
    };
    const endpoint = new URL(messagesPath, call.req.url);
    endpoint.search = "";
    endpoint.searchParams.set("sessionId", session.id);
    // A client that authenticated with the query form cannot add headers to its POSTs either.
    const queryKey = new URL(call.req.url).searchParams.get("api_key");
    if (queryKey) endpoint.searchParams.set("api_key", queryKey);
    stream.send({ event: "endpoint", data: endpoint.pathname + endpoint.search });
    return new Response(stream.readable, { status: 200, headers: SSE_HEADERS });
  }

  /** `POST {gateway}/messages?sessionId=...`: one client message for an open stream. */
  async post(call: McpCall): Promise<Response> {
    const { req } = call;
    if (req.method !== "POST") {
      return rpcErrorResponse(405, ErrorCode.InvalidRequest, "Method not allowed", {
        allow: "POST",
      });
    }
    const id = new URL(req.url).searchParams.get("sessionId");
    if (!id) {
      return rpcErrorResponse(
        400,
        ErrorCode.InvalidRequest,
        "Bad Request: the sessionId query parameter is required",
      );
    }
    const session = call.service.sessions.get(id, ownerOf(call));
    if (!session || !session.outbound) {
      return rpcErrorResponse(
        404,
        -32001,
        "Session not found: its SSE stream is closed or never existed; open a new one with GET .../sse",
      );
    }
    const body = await readMessageBody(req, call.limits);
    if ("refusal" in body) return body.refusal;
    if ("parseError" in body) {
      // The stream is the reply channel, as for any other answer.
      session.outbound({
        jsonrpc: "2.0",
        id: null,
        error: { code: ErrorCode.ParseError, message: "Parse error: the body is not valid JSON" },
      });
      return new Response("Accepted", { status: 202 });
    }
    const parsed = body.value;
    const send = (m: JsonRpcMessage | JsonRpcResponse[]) => session.outbound?.(m);
    // The call outlives this POST: its answer goes down the stream, and only
    // the stream's end (or notifications/cancelled) stops it.
    const exchange = exchangeFor(call, session, send, false, () => undefined);
    const core = call.service.dispatcher;
    const work = Array.isArray(parsed)
      ? core.handleBatch(
        parsed,
        exchange,
        session.protocolVersion,
        call.limits.maxBatch,
        body.bytes,
      ).then(
        (out) => {
          if ("error" in out) send({ jsonrpc: "2.0", id: null, error: out.error.toJSON() });
          else if (out.responses.length > 0) send(out.responses);
        },
      )
      : core.handle(parsed, exchange, body.bytes).then((o) => {
        if (o.response) send(o.response);
      });
    work.catch((err) => console.error("SSE message handling failed:", err));
    return new Response("Accepted", { status: 202 });
  }
}
