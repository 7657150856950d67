/**
 * A REST API on loopback for tools to call: `GET /echo?q=` answers
 * `{"echoed": q}`. It keeps every `q` it was asked, in order, so a test can
 * tell which calls reached it and which were refused before.
 *
 * @module
 */

/** A running echo API. */
export interface EchoApi {
  url: string;
  /** The `q` of every request, oldest first. */
  seen: string[];
  close(): Promise<void>;
}

/** Starts the echo API on a free loopback port. */
export function startEchoApi(): EchoApi {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const q = new URL(req.url).searchParams.get("q");
    seen.push(q ?? "");
    return Response.json({ echoed: q });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

/** The body of an `http` tool `name` that asks the echo API at `url` for its one argument `q`. */
export function echoTool(url: string, name = "echo") {
  return {
    name,
    description: "Echoes q.",
    inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
    type: "http",
    executionConfig: { method: "GET", url: `${url}/echo`, queryParams: { q: "{{parameters.q}}" } },
  };
}
