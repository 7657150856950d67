/**
 * What a well-formed answer to a JSON-RPC message is, checked from the
 * outside: JSON-RPC 2.0 (with MCP's by-name params) says which messages get
 * a response and with which id; a response has `result` or `error`, never
 * the internal error -32603; a refusal at the HTTP level is a JSON-RPC error
 * or the management API's `{error: {code, message}}`.
 *
 * @module
 */
import type { Json } from "./json_arbitraries.ts";

/** JSON-RPC's internal error: a fault in the server, never right for bad input. */
export const INTERNAL_ERROR = -32603;
/** JSON-RPC's parse error. */
export const PARSE_ERROR = -32700;

/** What the client sent, as the server could read it. */
export interface Sent {
  /** The parsed message; undefined when the body is not JSON. */
  value?: Json;
  /** The body was not clean UTF-8: a parse error is as right as reading it leniently. */
  lenient?: boolean;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A usable request id: a string or a safe integer. */
function isRequestId(v: unknown): v is string | number {
  return typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v));
}

/** What one message should get: nothing, or a response with `id` (for valid requests exactly). */
type Expected = { answer: false } | { answer: true; id: string | number | null; valid: boolean };

/** JSON-RPC 2.0's rules for one message. */
export function expected(m: Json): Expected {
  const id = isObject(m) && isRequestId(m.id) ? m.id : null;
  if (!isObject(m) || m.jsonrpc !== "2.0") return { answer: true, id, valid: false };
  if ("method" in m) {
    if (typeof m.method !== "string" || m.method === "") return { answer: true, id, valid: false };
    if (m.params !== undefined && !isObject(m.params)) return { answer: true, id, valid: false };
    if (!("id" in m)) return { answer: false };
    return isRequestId(m.id)
      ? { answer: true, id: m.id, valid: true }
      : { answer: true, id: null, valid: false };
  }
  // A response from the client: Gatehouse sent no request, so there is nothing to answer.
  if (("result" in m) !== ("error" in m) && (isRequestId(m.id) || m.id === null)) {
    return { answer: false };
  }
  return { answer: true, id, valid: false };
}

/** True for a notification the server sends (progress, log messages, list changes). */
export function isServerNotification(m: Json): boolean {
  return isObject(m) && typeof m.method === "string" && !("id" in m);
}

/** Problems with `r` as a JSON-RPC response (empty when it is a well-formed one). */
export function responseProblems(r: Json): string[] {
  if (!isObject(r)) return [`not a response object: ${show(r)}`];
  const out: string[] = [];
  if (r.jsonrpc !== "2.0") out.push(`jsonrpc is ${show(r.jsonrpc)}`);
  if (!(isRequestId(r.id) || r.id === null)) out.push(`id is ${show(r.id)}`);
  if (("result" in r) === ("error" in r)) out.push("needs exactly one of result and error");
  if ("result" in r && !isObject(r.result)) out.push(`result is ${show(r.result)}`);
  if ("error" in r) {
    const e = r.error;
    if (!isObject(e) || !Number.isInteger(e.code) || typeof e.message !== "string") {
      out.push(`error is ${show(e)}`);
    } else if (e.code === INTERNAL_ERROR) out.push(`internal error: ${e.message}`);
  }
  return out.map((p) => `${p} in ${show(r)}`);
}

/** Problems with one error answer for the whole input (id null, or `id` when given). */
function wholeErrorProblems(r: Json, ids: (string | number | null)[], code?: number): string[] {
  const out = responseProblems(r);
  if (out.length > 0) return out;
  if (!("error" in r)) return [`expected an error, got ${show(r)}`];
  if (!ids.includes(r.id)) return [`error id ${show(r.id)}, expected one of ${show(ids)}`];
  if (code !== undefined && r.error.code !== code) return [`expected code ${code}: ${show(r)}`];
  return [];
}

/**
 * Problems with `answers` (the JSON-RPC messages that came back, server
 * notifications left out) as the answer to `sent`; empty when well-formed.
 */
export function answerProblems(sent: Sent, answers: Json[]): string[] {
  const { value } = sent;
  if (value === undefined) {
    if (answers.length !== 1) return [`a body that is not JSON got ${show(answers)}`];
    return wholeErrorProblems(answers[0], [null], PARSE_ERROR);
  }
  if (sent.lenient && answers.length === 1 && answers[0]?.error?.code === PARSE_ERROR) {
    return wholeErrorProblems(answers[0], [null], PARSE_ERROR);
  }
  if (!Array.isArray(value)) {
    const e = expected(value);
    if (!e.answer) return answers.length === 0 ? [] : [`nothing was due, got ${show(answers)}`];
    if (answers.length !== 1) return [`one response was due, got ${show(answers)}`];
    const r = answers[0];
    const out = responseProblems(r);
    if (out.length > 0) return out;
    if (e.valid && r.id !== e.id) return [`response id ${show(r.id)} for request id ${show(e.id)}`];
    if (!e.valid) return wholeErrorProblems(r, [null, e.id]);
    return [];
  }
  const due = value.map(expected);
  const owed = due.filter((e) => e.answer).length;
  if (value.length > 0 && owed === 0 && answers.length === 0) return [];
  if (answers.length !== 1) return [`a batch got ${show(answers)}`];
  // The batch as a whole refused (not accepted in this version, empty, too large).
  if (!Array.isArray(answers[0])) return wholeErrorProblems(answers[0], [null]);
  const responses = answers[0] as Json[];
  const out = responses.flatMap(responseProblems);
  if (out.length > 0) return out;
  // Match every response to a message that was owed one.
  const open = due.map((e) => e);
  for (const r of responses) {
    const i = open.findIndex((e) =>
      e.answer && (r.id === e.id || (!e.valid && r.id === null && "error" in r))
    );
    if (i < 0) return [`response ${show(r)} answers no message of the batch`];
    open[i] = { answer: false };
  }
  // A cancellation in the batch may, by the spec, leave its request unanswered.
  const cancels = value.some((m) => isObject(m) && m.method === "notifications/cancelled");
  const unanswered = open.filter((e) => e.answer && (!e.valid || !cancels));
  if (unanswered.length > 0) return [`${unanswered.length} of ${owed} messages got no response`];
  return [];
}

/** True for the management API's error body. */
export function isApiError(body: Json): boolean {
  return isObject(body) && isObject(body.error) && typeof body.error.code === "string" &&
    typeof body.error.message === "string" &&
    (body.error.field === undefined || typeof body.error.field === "string");
}

/** A short rendering of `v` for failure messages. */
export function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 500 ? `${text.slice(0, 500)}... (${text.length} chars)` : text;
}
