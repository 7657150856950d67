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
export async function readBodyText(
  req: Request,
  limit: number,
  timeoutMs: number,
): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new BodyTooLargeError();
  if (!req.body) return "";
  // A declared length within the limit is enforced by the HTTP layer itself, so
  // read it whole: streaming it chunk by chunk costs far more on small bodies.
  const reader = Number.isInteger(declared) ? undefined : req.body.getReader();
  const reading = reader ? readCapped(reader, limit) : req.text();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([reading, late]);
  } catch (err) {
    if (err instanceof BodyTimeoutError) {
      // A streamed body stops here; a whole one (`text()`) fails once the connection goes.
      reading.catch(() => {});
      reader?.cancel().catch(() => {});
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
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
  return new TextDecoder().decode(all);
}
