/**
 * A bounded ring buffer of text lines: what a stdio server wrote to stderr,
 * kept so `GET /servers/:id/logs` can show it without ever growing without
 * bound (a chatty or hostile process must not exhaust Gatehouse's memory).
 *
 * @module
 */

/** Default bounds: whichever is hit first drops the oldest lines. */
export const LOG_MAX_LINES = 500;
/** Default total size of the kept lines, in UTF-16 code units (about 64 KiB of text). */
export const LOG_MAX_CHARS = 64 * 1024;
/** A longer line is cut to this many characters, so one line cannot fill the buffer. */
const LINE_MAX_CHARS = 4096;

/** The last lines of a stream, bounded by line count and total size. */
export class LogBuffer {
  readonly #lines: string[] = [];
  #chars = 0;
  #partial = "";
  /** Lines dropped to stay within the bounds since the buffer was made. */
  dropped = 0;

  /** A buffer keeping at most `maxLines` lines and `maxChars` characters. */
  constructor(readonly maxLines = LOG_MAX_LINES, readonly maxChars = LOG_MAX_CHARS) {}

  /** Appends decoded text; a trailing piece without a newline waits for the rest of its line. */
  write(text: string): void {
    const pieces = (this.#partial + text).split("\n");
    this.#partial = pieces.pop() ?? "";
    if (this.#partial.length > LINE_MAX_CHARS) {
      this.line(this.#partial);
      this.#partial = "";
    }
    for (const p of pieces) this.line(p);
  }

  /** Appends one whole line (cut to a bounded length). */
  line(text: string): void {
    const line = text.length > LINE_MAX_CHARS ? `${text.slice(0, LINE_MAX_CHARS)}…` : text;
    this.#lines.push(line);
    this.#chars += line.length;
    while (this.#lines.length > this.maxLines || this.#chars > this.maxChars) {
      this.#chars -= this.#lines.shift()!.length;
      this.dropped++;
    }
  }

  /** The kept lines, oldest first. */
  lines(): string[] {
    return this.#partial === "" ? [...this.#lines] : [...this.#lines, this.#partial];
  }
}
