/**
 * Reading request bodies with a size cap, never buffering past it, and a
 * deadline, so a client that sends its body byte by byte (or stops halfway)
 * is answered instead of holding a request open forever. (The connection
 * itself stays until the client ends it: `Deno.serve` waits for the rest of
 * an unread body and gives handlers no way to close a connection.)
 *
 * @module
 */

/** How long a body may take to arrive unless configured otherwise (`GATEHOUSE_BODY_TIMEOUT_SECONDS`). */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** The body did not arrive in time. */
export class BodyTimeoutError extends Error {
  override name = "BodyTimeoutError";
  /** Creates the error for a body that took longer than `timeoutMs`. */
  constructor(readonly timeoutMs: number) {
    super(`the request body did not arrive within ${Math.ceil(timeoutMs / 1000)} s`);
  }
}

/**
 * Reads `req`'s body as text, refusing more than `limit` bytes without
 * buffering them (`BodyTooLargeError`) and bodies still incomplete after
 * `timeoutMs` (`BodyTimeoutError`).
 */
export function readBodyText(
  req: Request,
  limit: number,
  timeoutMs: number,
  declared: number = declaredLength(req),
): Promise<string> {
  return readWithin(
    req,
    limit,
    timeoutMs,
    declared,
    "",
    (r) => r.text(),
    (b) => new TextDecoder().decode(b),
  );
}

/** `req`'s Content-Length, or NaN when it declares none. */
export function declaredLength(req: Request): number {
  const length = req.headers.get("content-length");
  return length === null ? NaN : Number(length);
}

/**
 * Reads `req`'s body as bytes, like {@link readBodyText}: for a body decoded
 * elsewhere (an import's, in a worker it is transferred to without a copy).
 * The bytes own their whole buffer.
 */
export function readBodyBytes(
  req: Request,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array<ArrayBuffer>> {
  return readWithin(
    req,
    limit,
    timeoutMs,
    declaredLength(req),
    new Uint8Array(0),
    (r) => r.bytes(),
    (b) => b,
  );
}

/** The largest declared body read in one piece. */
const WHOLE_BYTES = 1 << 20;

function readWithin<T>(
  req: Request,
  limit: number,
  timeoutMs: number,
  declared: number,
  empty: T,
  whole: (req: Request) => Promise<T>,
  from: (bytes: Uint8Array<ArrayBuffer>) => T,
): Promise<T> {
  if (declared > limit) return Promise.reject(new BodyTooLargeError());
  // A small declared length (the HTTP layer enforces it) is read whole, without touching
  // `req.body` first: streaming it chunk by chunk costs far more, and so does `req.body` (it makes
  // the body a JavaScript stream, which `text()` then reads chunk by chunk). A large one is read
  // through a reader that lets other requests in every megabyte: taken in one piece, an 11 MB
  // body held the thread for 25 ms.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  if (!Number.isInteger(declared) || declared > WHOLE_BYTES) {
    if (!req.body) return Promise.resolve(empty);
    reader = req.body.getReader();
  }
  const reading = reader ? readCapped(reader, limit).then(from) : whole(req);
  return new Promise<T>((resolve, reject) => {
    const deadline: Deadline = {
      until: Date.now() + timeoutMs,
      timeoutMs,
      fail: (err) => {
        // A streamed body stops here; a whole one (`text()`) fails once the connection goes.
        reading.catch(() => {});
        reader?.cancel().catch(() => {});
        reject(err);
      },
    };
    watch(deadline);
    reading.then((value) => {
      waiting.delete(deadline);
      resolve(value);
    }, (err) => {
      waiting.delete(deadline);
      reject(err);
    });
  });
}

/** A body being read: when it must be complete, and how to give up on it. */
interface Deadline {
  until: number;
  timeoutMs: number;
  fail(err: Error): void;
}

/**
 * The bodies being read. One coarse timer checks them all, because a timer
 * of its own per request costs more than the rest of reading a small body.
 */
const waiting = new Set<Deadline>();
const TICK_MS = 100;
let ticker: ReturnType<typeof setInterval> | undefined;

function watch(deadline: Deadline): void {
  waiting.add(deadline);
  if (ticker !== undefined) return;
  const timer = setInterval(() => {
    const now = Date.now();
    for (const d of waiting) {
      if (d.until > now) continue;
      waiting.delete(d);
      d.fail(new BodyTimeoutError(d.timeoutMs));
    }
    if (waiting.size === 0) {
      clearInterval(timer);
      ticker = undefined;
    }
  }, TICK_MS);
  ticker = timer;
  // Waiting bodies must not keep a stopping process alive.
  Deno.unrefTimer(timer);
}

async function readCapped(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let sinceYield = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    sinceYield += value.byteLength;
    // Chunks already received resolve at once, as microtasks: without a turn of the event loop
    // now and then, a large body would be read in one stretch.
    if (sinceYield >= WHOLE_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
}
