/**
 * Parsing of gateway bodies: the seed's `POST /gateways` shape plus
 * `description`.
 *
 * @module
 */
import type { GatewayConfiguration, GatewayInput } from "../store/gateways.ts";
import { invalid } from "./errors.ts";
import { optionalRateLimit } from "./gateway_parts_input.ts";
import {
  type Body,
  isObject,
  object,
  oneOf,
  onlyFields,
  optionalString,
  string,
} from "./validate.ts";

/** The transports a gateway's configuration can name (its `clients` snippets follow it). */
export const TRANSPORTS = ["http", "sse", "websocket"] as const;

const SEGMENT = "[A-Za-z0-9_~-][A-Za-z0-9._~-]*";
/** Endpoints: `/` then URL-safe segments, e.g. `/my-tools` or `/team/tools`. */
export const ENDPOINT = new RegExp(`^(/${SEGMENT})+$`);
/** Path segments the MCP routes use under an endpoint; an endpoint may not end with one. */
const RESERVED_LAST = new Set(["sse", "ws", "messages", "message"]);
/** The authorization server's endpoints under a gateway (src/oauth/routes.ts). */
const OAUTH_SUFFIX = /\/oauth\/(authorize|token|register|revoke)$/;

/** Checks an endpoint and returns it, or throws a 400 naming `endpoint`. */
export function parseEndpoint(value: unknown): string {
  if (typeof value !== "string") {
    throw invalid(
      "endpoint",
      value === undefined ? "endpoint is required" : "endpoint must be a string",
    );
  }
  if (value.length > 200) throw invalid("endpoint", "endpoint must be at most 200 characters");
  if (!ENDPOINT.test(value)) {
    throw invalid(
      "endpoint",
      "endpoint must start with '/' and contain only letters, digits and - _ . ~ between slashes (e.g. '/my-tools')",
    );
  }
  const last = value.slice(value.lastIndexOf("/") + 1);
  if (RESERVED_LAST.has(last)) {
    throw invalid(
      "endpoint",
      `endpoint may not end with '/${last}': that path is an MCP transport's`,
    );
  }
  const oauth = OAUTH_SUFFIX.exec(value);
  if (oauth) {
    throw invalid(
      "endpoint",
      `endpoint may not end with '${oauth[0]}': that path is a gateway's OAuth endpoint`,
    );
  }
  return value;
}

function parseConfiguration(body: Body): GatewayConfiguration {
  const config = object(body, "configuration");
  const transport = oneOf(config, "transport", TRANSPORTS, "configuration.transport");
  // Opting in stores tool calls' arguments and results in the request log: only a real boolean.
  if (config.logPayloads !== undefined && typeof config.logPayloads !== "boolean") {
    throw invalid("configuration.logPayloads", "configuration.logPayloads must be true or false");
  }
  const parsed: GatewayConfiguration = { ...config, transport };
  // null removes them (a PATCH merges configuration key by key, so absence keeps them).
  if (config.rateLimits === null) delete parsed.rateLimits;
  else if (config.rateLimits !== undefined) {
    parsed.rateLimits = parseRateLimits(config.rateLimits);
  }
  return parsed;
}

/** `configuration.rateLimits`: `perCaller` and `gateway`, each optional (null: none). */
function parseRateLimits(value: unknown): Record<string, unknown> {
  const path = "configuration.rateLimits";
  if (!isObject(value)) {
    throw invalid(path, `${path} must be an object {perCaller?, gateway?}`);
  }
  onlyFields(value, ["perCaller", "gateway"], `${path}.`);
  const limits: Record<string, unknown> = {};
  for (const part of ["perCaller", "gateway"]) {
    const limit = optionalRateLimit(value[part], `${path}.${part}`);
    if (limit) limits[part] = limit;
  }
  return limits;
}

const FIELDS = ["name", "type", "endpoint", "configuration", "description"];

/** A full gateway body (create, and replace with `PUT`). */
export function parseGatewayInput(body: Body): GatewayInput {
  onlyFields(body, FIELDS);
  return {
    name: string(body, "name", { max: 200 }),
    type: oneOf(body, "type", ["mcp"] as const),
    endpoint: parseEndpoint(body.endpoint),
    configuration: parseConfiguration(body),
    description: optionalString(body, "description", { min: 0, max: 2000 }) ?? "",
  };
}

/**
 * A partial gateway body (`PATCH`) applied over `current`. `configuration`
 * is merged key by key, so `{"configuration": {"transport": "sse"}}` keeps
 * any other configuration keys.
 */
export function mergeGatewayInput(current: GatewayInput, body: Body): GatewayInput {
  onlyFields(body, FIELDS);
  const patch = body.configuration;
  // Checked here because spreading a string, list or null below would
  // silently turn a bad value into "no change".
  if (patch !== undefined && !isObject(patch)) {
    throw invalid("configuration", "configuration must be a JSON object");
  }
  return parseGatewayInput({
    name: current.name,
    type: current.type,
    endpoint: current.endpoint,
    description: current.description,
    ...body,
    configuration: { ...current.configuration, ...patch },
  });
}
