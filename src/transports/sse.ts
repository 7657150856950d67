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

/**
 * The keep-alive beats of open streams, one timer per interval for them all:
 * a timer per stream held about 0.7 KB of heap (measured), and every idle
 * session holds a stream. Ticking at half the interval, an idle stream gets
 * its comment between one and one and a half intervals after its last write.
 */
const beats = new Map<number, { beats: Set<() => void>; timer: ReturnType<typeof setInterval> }>();

function addBeat(ms: number, beat: () => void): void {
  let group = beats.get(ms);
  if (!group) {
    const set = new Set<() => void>();
    group = { beats: set, timer: setInterval(() => set.forEach((b) => b()), Math.max(1, ms / 2)) };
    beats.set(ms, group);
  }
  group.beats.add(beat);
}

function removeBeat(ms: number, beat: () => void): void {
  const group = beats.get(ms);
  if (!group?.beats.delete(beat) || group.beats.size > 0) return;
  // No stream left to keep alive: no timer either (so none outlives a test's streams).
  clearInterval(group.timer);
  beats.delete(ms);
}

/** A writable SSE stream whose `readable` side is the response body. */
export class SseStream {
  /** The response body. */
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #lastWrite = Date.now();
  #beat = () => {
    if (Date.now() - this.#lastWrite >= this.opts.keepAliveMs) this.#write(": keepalive\n\n");
  };

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
    if (opts.keepAliveMs > 0) addBeat(opts.keepAliveMs, this.#beat);
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
    if (this.opts.keepAliveMs > 0) removeBeat(this.opts.keepAliveMs, this.#beat);
    this.opts.onClose?.();
  }
}
