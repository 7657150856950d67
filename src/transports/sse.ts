/**
 * A server-sent-events response body with keep-alive comments and a bound on
 * what a slow reader can make the server buffer: past the cap the stream is
 * closed instead of growing without end.
 *
 * @module
 */

/** Settings of an {@link SseStream}. */
export interface SseOptions {
  /** Interval of `: keepalive` comments on an idle stream, in ms (0 = none). */
  keepAliveMs: number;
  /** Bytes queued for a reader that does not keep up before the stream is dropped. */
  maxBufferedBytes: number;
  /** Runs once when the stream ends, whoever ended it. */
  onClose?: () => void;
}

/** One SSE event. */
export interface SseEvent {
  event?: string;
  id?: string;
  /** Absent: no `data` line, a block that only sets `retry` (clients dispatch no event). */
  data?: string;
  /** Milliseconds the client waits before it reconnects (the `retry` field). */
  retry?: number;
}

/** The wire text of one event, blank line included. */
export function formatEvent(ev: SseEvent): string {
  let text = "";
  if (ev.event) text += `event: ${ev.event}\n`;
  if (ev.id !== undefined) text += `id: ${ev.id}\n`;
  if (ev.retry !== undefined) text += `retry: ${ev.retry}\n`;
  for (const line of ev.data?.split("\n") ?? []) text += `data: ${line}\n`;
  return text + "\n";
}

const encoder = new TextEncoder();

/** Response headers of an SSE stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** A writable SSE stream whose `readable` side is the response body. */
export class SseStream {
  /** The response body. */
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastWrite = Date.now();

  /** Opens the stream. */
  constructor(private readonly opts: SseOptions) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.#finish(),
      },
      { highWaterMark: opts.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
    if (opts.keepAliveMs > 0) {
      this.#timer = setInterval(() => {
        if (Date.now() - this.#lastWrite >= opts.keepAliveMs) this.#write(": keepalive\n\n");
      }, opts.keepAliveMs);
    }
  }

  /** True once the stream ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one event; false when the stream is closed (or was just closed for overflow). */
  send(ev: SseEvent): boolean {
    return this.#write(formatEvent(ev));
  }

  /** Ends the stream normally. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#controller.close();
    } catch {
      // Already errored or cancelled.
    }
    this.#finish();
  }

  #write(text: string): boolean {
    if (this.#closed) return false;
    const chunk = encoder.encode(text);
    if ((this.#controller.desiredSize ?? 0) <= 0) {
      // The reader left maxBufferedBytes unread: drop the connection rather than buffer
      // without bound. (A single message larger than the cap still goes to a reader that
      // keeps up, so the queue holds at most the cap plus one message.)
      this.#controller.error(new Error("SSE reader too slow; buffer limit exceeded"));
      this.#finish();
      return false;
    }
    this.#controller.enqueue(chunk);
    this.#lastWrite = Date.now();
    return true;
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.opts.onClose?.();
  }
}
