/**
 * Reading request bodies with a size cap, never buffering past it.
 *
 * @module
 */

/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** Reads `req`'s body as text, refusing more than `limit` bytes without buffering them. */
export async function readBodyText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new BodyTooLargeError();
  if (!req.body) return "";
  // A declared length within the limit is enforced by the HTTP layer itself, so
  // read it whole: streaming it chunk by chunk costs far more on small bodies.
  if (Number.isInteger(declared)) return await req.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
