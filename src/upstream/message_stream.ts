/**
 * Reads the JSON-RPC messages of an upstream's HTTP response body as they
 * arrive, whatever it is framed as: a Server-Sent Events stream (the
 * `data:` of each event), or JSON (one value, or one per line as some
 * 2026-07-28 servers stream their answers and listen streams).
 *
 * @module
 */

/** Calls `onMessage` with each JSON value `response` carries, in order, until its body ends. */
export async function readMessages(
  response: Response,
  onMessage: (message: unknown) => void,
): Promise<void> {
  if (!response.body) return;
  const sse = (response.headers.get("content-type") ?? "").includes("text/event-stream");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  // JSON lines that did not parse on their own: the parts of one value printed over several lines.
  let unparsed = "";
  let data: string[] = [];
  const line = (text: string) => {
    if (sse) {
      if (text === "") {
        if (data.length > 0) emit(data.join("\n"));
        data = [];
      } else if (text.startsWith("data:")) {
        data.push(text.slice(text.startsWith("data: ") ? 6 : 5));
      }
      return;
    }
    if (text.trim() === "") return;
    const candidate = unparsed ? `${unparsed}\n${text}` : text;
    if (emit(candidate)) unparsed = "";
    else unparsed = candidate;
  };
  const emit = (text: string): boolean => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return false;
    }
    onMessage(value);
    return true;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let at: number;
      while ((at = buffer.search(/\r?\n/)) >= 0) {
        const text = buffer.slice(0, at);
        buffer = buffer.slice(buffer[at] === "\r" ? at + 2 : at + 1);
        line(text);
      }
    }
    if (buffer !== "") line(buffer);
    if (sse && data.length > 0) emit(data.join("\n"));
  } finally {
    reader.releaseLock();
  }
}
