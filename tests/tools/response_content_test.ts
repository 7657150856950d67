/**
 * Response presentation, redaction, Retry-After parsing and network error
 * wording, checked without a network.
 */
import assert from "node:assert/strict";
import { retryAfterMs } from "../../src/tools/http_executor.ts";
import { describeNetworkError } from "../../src/tools/outbound.ts";
import {
  httpErrorResult,
  kindOf,
  NO_REDACTION,
  type PresentOptions,
  type ReadResponse,
  redactorFor,
  successResult,
} from "../../src/tools/response_content.ts";

const enc = new TextEncoder();

function response(
  body: string | Uint8Array,
  contentType: string | null,
  status = 200,
  truncated = false,
): ReadResponse {
  const headers = new Headers();
  if (contentType) headers.set("content-type", contentType);
  return {
    status,
    statusText: status === 200 ? "OK" : "Bad Request",
    headers,
    bytes: typeof body === "string" ? enc.encode(body) : body,
    truncated,
  };
}

const opts: PresentOptions = {
  cap: 1024,
  structured: false,
  uri: "https://api.example.com/file",
  redact: NO_REDACTION,
  excerptChars: 500,
};

Deno.test("media types map to content kinds", () => {
  assert.equal(kindOf("application/json"), "json");
  assert.equal(kindOf("application/problem+json"), "json");
  assert.equal(kindOf("text/csv"), "text");
  assert.equal(kindOf("application/xml"), "text");
  assert.equal(kindOf("image/svg+xml"), "text");
  assert.equal(kindOf("image/jpeg"), "image");
  assert.equal(kindOf("audio/mpeg"), "audio");
  assert.equal(kindOf("application/zip"), "binary");
});

Deno.test("text is decoded with its charset", () => {
  const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]);
  const r = successResult(response(latin1, "text/plain; charset=ISO-8859-1"), opts);
  assert.deepEqual(r.content, [{ type: "text", text: "café" }]);
});

Deno.test("untyped bodies are sniffed: JSON-looking, text, or binary", () => {
  const json = successResult(response('  {"a": 1}', null), { ...opts, structured: true });
  assert.deepEqual(json.structuredContent, { a: 1 });
  assert.deepEqual(successResult(response("plain words", null), opts).content, [
    { type: "text", text: "plain words" },
  ]);
  const bin = successResult(response(new Uint8Array([0, 1, 2, 0xff]), null), opts);
  assert.equal(bin.content[0].type, "resource");
});

Deno.test("a cut JSON body is returned as text with the note; an error when structure was promised", () => {
  const r = response('{"items": [1, 2, 3', "application/json", 200, true);
  assert.deepEqual(successResult(r, opts).content, [
    { type: "text", text: '{"items": [1, 2, 3\n\n[truncated: response exceeded 1024 bytes]' },
  ]);
  const structured = successResult(r, { ...opts, structured: true });
  assert.equal(structured.isError, true);
  assert.match(String(structured.content[0].text), /cut at 1024 bytes/);
});

Deno.test("a cut image is not sent as broken data", () => {
  const r = successResult(response(new Uint8Array(10), "image/png", 200, true), opts);
  assert.deepEqual(r.content, [{
    type: "text",
    text: "[truncated: response exceeded 1024 bytes] The image/png content was not returned.",
  }]);
});

Deno.test("an empty 2xx body says so", () => {
  const r = successResult({ ...response("", null), status: 204, statusText: "No Content" }, opts);
  assert.deepEqual(r.content, [{ type: "text", text: "HTTP 204 No Content (empty body)" }]);
});

Deno.test("redaction removes secrets, their URL-encoded forms and a secret cut at the end", () => {
  const redact = redactorFor(["p@ss word", "tok"]);
  assert.equal(
    redact("a p@ss word b p%40ss%20word c tok"),
    "a [REDACTED] b [REDACTED] c [REDACTED]",
  );
  assert.equal(redact("ends with p@ss w", true), "ends with ");
  assert.equal(redactorFor([""]), NO_REDACTION);
  const r = successResult(response('{"echo":"\\u0074ok"}', "application/json"), {
    ...opts,
    structured: true,
    redact,
  });
  assert.deepEqual(r.structuredContent, { echo: "[REDACTED]" });
  assert.ok(!JSON.stringify(r).includes("tok"));
});

Deno.test("error results quote a one-line excerpt; binary bodies are described", () => {
  const r = httpErrorResult(response("line one\n  line two", "text/plain", 400), opts);
  assert.deepEqual(r, {
    content: [{ type: "text", text: "HTTP 400 Bad Request: line one line two" }],
    isError: true,
  });
  const bin = httpErrorResult(response(new Uint8Array(3), "image/png", 400), opts);
  assert.equal(bin.content[0].text, "HTTP 400 Bad Request: (3 bytes of image/png)");
});

Deno.test("Retry-After is read as seconds or an HTTP date", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  assert.equal(retryAfterMs("120", now), 120_000);
  assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:28:05 GMT", now), 5000);
  assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs(null, now), undefined);
});

Deno.test("network errors are worded without the URL Deno puts in them", () => {
  const url = new URL("https://api.example.com/x?key=SECRET");
  const wrap = (msg: string) => new TypeError("fetch failed", { cause: new Error(msg) });
  const dns = describeNetworkError(
    wrap(
      "error sending request for url (https://api.example.com/x?key=SECRET): client error (Connect): dns error: failed to lookup address information: Name or service not known",
    ),
    url,
  );
  assert.deepEqual(dns, {
    cause: "dns",
    message: "DNS lookup failed for 'api.example.com': the host name could not be resolved",
  });
  const refused = describeNetworkError(
    wrap("client error (Connect): tcp connect error: Connection refused (os error 111)"),
    url,
  );
  assert.equal(refused.cause, "refused");
  assert.match(refused.message, /api\.example\.com:443/);
  assert.equal(describeNetworkError(wrap("invalid peer certificate"), url).cause, "tls");
  const other = describeNetworkError(wrap("something odd for url (https://x/?key=SECRET)"), url);
  assert.ok(!other.message.includes("SECRET"));
});

Deno.test("a missing reason phrase (HTTP/2) is filled in", () => {
  const r = httpErrorResult({ ...response("", null, 404), statusText: "" }, opts);
  assert.equal(r.content[0].text, "HTTP 404 Not Found");
});
