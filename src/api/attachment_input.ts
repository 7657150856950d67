/**
 * Parsing of `POST /gateways/:id/servers` bodies: which server, and how its
 * items are named and filtered.
 *
 * @module
 */
import type { AttachmentSettings } from "../store/attachments.ts";
import { invalid } from "./errors.ts";
import { optionalToolRateLimit } from "./gateway_parts_input.ts";
import { type Body, onlyFields, optionalString, string } from "./validate.ts";

/** Prefixes are short names: what an MCP tool name may hold, ending before `_`. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9.-]{0,31}$/;
const MAX_PATTERNS = 100;

/** A parsed attachment body. */
export interface AttachmentInput extends AttachmentSettings {
  serverId: string;
}

function patterns(body: Body, field: "include" | "exclude"): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PATTERNS) {
    throw invalid(field, `${field} must be a list of 1 to ${MAX_PATTERNS} name patterns`);
  }
  v.forEach((p, i) => {
    if (typeof p !== "string" || p.length === 0 || p.length > 256) {
      throw invalid(`${field}.${i}`, `${field}.${i} must be a name pattern ('*' matches any run)`);
    }
  });
  return [...new Set(v as string[])];
}

/** Reads `{serverId, prefix?, include?, exclude?, toolRateLimit?}`. */
export function parseAttachmentInput(body: Body): AttachmentInput {
  onlyFields(body, ["serverId", "prefix", "include", "exclude", "toolRateLimit"]);
  const input: AttachmentInput = { serverId: string(body, "serverId", { max: 64 }) };
  const prefix = optionalString(body, "prefix", {
    max: 32,
    pattern: PREFIX,
    patternHint: "must be 1-32 letters, digits, '.' or '-', starting with a letter or digit",
  });
  if (prefix !== undefined) input.prefix = prefix;
  const include = patterns(body, "include");
  if (include) input.include = include;
  const exclude = patterns(body, "exclude");
  if (exclude) input.exclude = exclude;
  const toolRateLimit = optionalToolRateLimit(body, "toolRateLimit");
  if (typeof toolRateLimit === "number") input.toolRateLimit = toolRateLimit;
  return input;
}
