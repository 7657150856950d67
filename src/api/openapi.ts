/**
 * The OpenAPI 3.1 description of the management API, served at
 * `/openapi.json`. `tests/api/openapi_test.ts` keeps it true: every route of
 * the app is described here and every path here is a route, and real
 * responses validate against the schemas below. Patterns come from the same
 * constants the validators use, so the two cannot drift apart.
 *
 * @module
 */
import { MAX_LIMIT_REQUESTS, MAX_LIMIT_WINDOW_SECONDS } from "../limits/request_limits.ts";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../oauth/password.ts";
import { DEFAULT_API_KEY_HEADER, SECRET_TYPES } from "../secrets/types.ts";
import { ROLES } from "../store/orgs.ts";
import { HTTP_METHODS, SECRET_NAME, TOOL_NAME, TOOL_TYPES } from "../tools/definition.ts";
import {
  BODY_ENCODINGS,
  BODY_FIELD_STYLES,
  MAX_PARAMETERS,
  PARAMETER_LOCATIONS,
  PARAMETER_STYLES,
} from "../tools/http_parameters.ts";
import { DEFAULT_OUTBOUND_POLICY, OUTBOUND_SETTINGS } from "../tools/outbound_policy.ts";
import { MAX_FILTER_VALUES } from "./apis.ts";
import { DEFAULT_CONTEXT_LIMITS, MAX_CONTEXT_LIMIT } from "../openapi/context_cost.ts";
import { SLIM_PROSE_DEPTH } from "../openapi/slim.ts";
import { JOB_TTL_MS, MAX_PENDING_PER_ORG } from "./import_jobs.ts";
import { MAX_BODY_DEPTH } from "./body.ts";
import { ENDPOINT, TRANSPORTS } from "./gateway_input.ts";
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_SCOPES_CLAIM,
  JWT_ALGORITHMS,
  MAX_CLOCK_SKEW_SECONDS,
  MIN_HMAC_SECRET_BYTES,
} from "../auth/jwt_config.ts";
import {
  ACCESS_TOKEN_TTL_BOUNDS,
  AUTH_METHOD_TYPES,
  MAX_HEADER_VALUE,
  MAX_IP_RANGES,
  MAX_ORDER,
  MAX_REQUIRED_HEADERS,
  REFRESH_TOKEN_TTL_BOUNDS,
} from "./auth_method_input.ts";
import { GATEWAY_SCOPES, MAX_ASSIGN } from "./gateway_parts_input.ts";
import {
  ACTOR_TYPES,
  AUDIT_ACTIONS,
  MAX_VALUE_CHARS,
  REDACTED,
  TARGET_TYPES,
} from "../store/audit.ts";
import {
  AUDIT_FILTERS,
  DEFAULT_LIMIT,
  LISTED_TOOL_TYPES,
  LOG_FILTERS,
  MAX_FILTER_LENGTH,
  MAX_LIMIT,
  TOOL_FILTERS,
} from "./lists.ts";
import { ORG_SLUG } from "./orgs.ts";
import { LOG_FORMATS } from "./logs.ts";
import { MAX_SERIES_STEPS, STATS_INTERVALS } from "./stats.ts";
import { MAX_PAYLOAD_CHARS, REQUEST_STATUSES } from "../telemetry/requests.ts";

/** A JSON Schema or OpenAPI object, kept loose on purpose: this module only builds JSON. */
type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json): Json => ({ "application/json": { schema } });
const str = (description?: string, extra: Json = {}): Json =>
  description ? { type: "string", description, ...extra } : { type: "string", ...extra };
const time = (description: string): Json => ({ type: "string", format: "date-time", description });
const nullableTime = (description: string): Json => ({
  type: ["string", "null"],
  format: "date-time",
  description,
});
const list = (items: Json): Json => ({ type: "array", items });
/** An object with exactly these properties (extra ones would be undocumented, so refused). */
const obj = (properties: Record<string, Json>, required = Object.keys(properties)): Json => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});
/** `{ <key>: [items] }`, the shape of every list response. */
const listOf = (key: string, item: string): Json => obj({ [key]: list(ref(item)) });
/** `{ <key>: [items], nextCursor }`, the shape of a paged list's response. */
const pageOf = (key: string, item: string, order: string): Json =>
  obj({
    [key]: { ...list(ref(item)), description: `At most \`limit\` items, ${order}.` },
    nextCursor: {
      type: ["string", "null"],
      description: "Pass as `cursor` (with the same filters) for the next page; null on the " +
        "last page.",
    },
  });
/** A free-form JSON object (schemas, configuration). */
const anyObject = (description: string): Json => ({ type: "object", description });
/** `base` plus the raw credential, which only the create response carries. */
const withKey = (base: Json, description: string): Json => ({
  ...base,
  properties: { ...(base.properties as Json), key: str(description) },
  required: [...(base.required as string[]), "key"],
});

const accessKey = obj({
  id: str("Key id."),
  name: str(),
  prefix: str("The first characters of the key, to recognise it; never enough to use it."),
  userId: str("The member the key acts as."),
  createdAt: time("When the key was issued."),
  expiresAt: nullableTime("When the key stops working; null for never."),
  revokedAt: nullableTime("When the key was revoked; null while it is not."),
});

/** `{requests, windowSeconds}`: a rate limit (see the README's "Rate limits"). */
const rateLimit = (description: string): Json => ({
  ...obj({
    requests: {
      type: "integer",
      minimum: 1,
      maximum: MAX_LIMIT_REQUESTS,
      description: "Requests allowed per window.",
    },
    windowSeconds: {
      type: "integer",
      minimum: 1,
      maximum: MAX_LIMIT_WINDOW_SECONDS,
      description: "The sliding window, in seconds.",
    },
  }),
  description,
});
const nullableRateLimit = (description: string): Json => ({
  oneOf: [rateLimit(description), { type: "null" }],
  description,
});
const KEY_RATE_LIMIT = "The key's own limit, which replaces the gateway's " +
  "`configuration.rateLimits.perCaller` for its requests; null: none of its own.";
const TOOL_RATE_LIMIT = {
  type: ["integer", "null"],
  minimum: 1,
  maximum: MAX_LIMIT_REQUESTS,
  description: "Calls a minute each caller may make of the tool through this gateway; a call " +
    "over it gets an `isError` result saying when to retry. null: unlimited.",
};

const gatewayKey = obj({
  id: str("Key id."),
  name: str(),
  prefix: str("The first characters of the key, to recognise it; never enough to use it."),
  gatewayId: str(),
  scopes: list({ enum: [...GATEWAY_SCOPES] }),
  createdAt: time("When the key was issued."),
  expiresAt: nullableTime("When the key stops working; null for never."),
  revokedAt: nullableTime("When the key was revoked; null while it is not."),
  rateLimit: nullableRateLimit(KEY_RATE_LIMIT),
});

const httpExecutionConfig = (forResponse: boolean): Json => ({
  type: "object",
  description: "How an `http` tool calls its upstream. Strings may hold `{{parameters.NAME}}` " +
    "(a property of inputSchema) and `{{secrets.NAME}}` templates.",
  properties: {
    method: forResponse
      ? { enum: [...HTTP_METHODS] }
      : str(`One of ${HTTP_METHODS.join(", ")} (any case).`),
    url: str("Absolute http(s) URL; templates allowed."),
    headers: { type: "object", additionalProperties: { type: "string" } },
    queryParams: { type: "object", additionalProperties: { type: "string" } },
    body: { description: "Any JSON value, sent as the request body; templates allowed." },
    timeout: { type: "integer", minimum: 1, maximum: 300_000, description: "Milliseconds." },
    retries: { type: "integer", minimum: 0, maximum: 5 },
    auth: obj({
      secret: str(
        "Name of the secret that authenticates every request (api_key: its " +
          "header or query parameter; bearer_token and oauth2_client_credentials: " +
          "`Authorization: Bearer`; basic_auth: `Authorization: Basic`; custom_headers: its " +
          "headers). An OAuth2 token is fetched and cached; an upstream 401 is retried once " +
          "with a fresh one.",
        { pattern: SECRET_NAME.source },
      ),
    }),
    parameters: {
      type: "array",
      maxItems: MAX_PARAMETERS,
      description: "Query, header and cookie parameters serialised by OpenAPI rules (OpenAPI " +
        "imports write these). Each takes the argument `arg` (default: `name`) and is left " +
        "out when it is absent or null. Path parameters are `{{parameters.NAME}}` in the url.",
      items: obj({
        name: str("The name on the wire.", { minLength: 1, maxLength: 256 }),
        in: { enum: [...PARAMETER_LOCATIONS] },
        arg: str("The argument (inputSchema property) holding the value."),
        style: {
          enum: [...new Set(Object.values(PARAMETER_STYLES).flat())],
          description: "query: form (default; lists as repeated keys, or comma-joined with " +
            "explode false), spaceDelimited, pipeDelimited, tabDelimited, deepObject " +
            "(`a[b]=c`, lists as `a[0]=c`); header: simple (default), spaceDelimited, " +
            "pipeDelimited, tabDelimited; cookie: form.",
        },
        explode: { type: "boolean", description: "Default: true for form style, else false." },
        json: { type: "boolean", description: "Send the value as JSON text." },
      }, ["name", "in"]),
    },
    bodyEncoding: {
      enum: [...BODY_ENCODINGS],
      description: "How the rendered body is sent: json, form " +
        "(application/x-www-form-urlencoded; lists repeat their key), multipart " +
        "(multipart/form-data) or base64 (the body is base64 text, sent as the bytes it " +
        "decodes to). Without it, a string body is sent as is and anything else as JSON.",
    },
    bodyFiles: {
      type: "array",
      items: { type: "string", minLength: 1 },
      description: "Multipart members sent as file parts: `{content, filename?, contentType?}` " +
        "with base64 content, or a string whose text is the content.",
    },
    bodyFields: {
      type: "object",
      maxProperties: MAX_PARAMETERS,
      description: "How form and multipart members are serialised (OpenAPI's Encoding " +
        "Object). With it, form members follow OpenAPI's defaults (style form, explode: an " +
        "object's members become keys of their own); without it, objects go as JSON text. " +
        "`contentType` is a multipart part's type; a JSON type sends the member as JSON text.",
      additionalProperties: {
        type: "object",
        properties: {
          style: { enum: [...BODY_FIELD_STYLES] },
          explode: { type: "boolean" },
          contentType: str("One media type, like image/png.", { maxLength: 256 }),
        },
        additionalProperties: false,
      },
    },
  },
  required: forResponse ? ["method", "url", "timeout", "retries"] : ["method", "url"],
  additionalProperties: false,
});

const tool = obj({
  id: str("Tool id."),
  name: str("MCP tool name.", { pattern: TOOL_NAME.source }),
  title: str(),
  description: str(),
  inputSchema: anyObject("JSON Schema of the arguments; its type is always object."),
  outputSchema: anyObject("JSON Schema of structured results."),
  annotations: anyObject("MCP tool annotations (readOnlyHint, destructiveHint, ...)."),
  type: {
    enum: [...TOOL_TYPES, "mcp"],
    description: "`mcp`: a tool of an upstream MCP server, listed by it (read-only here).",
  },
  serverId: str("`mcp` tools: the upstream server that lists the tool."),
  apiId: str(
    "Tools of an OpenAPI import: the imported API (`/apis/{id}`); a re-import rewrites them.",
  ),
  executionConfig: {
    anyOf: [
      httpExecutionConfig(true),
      obj({
        extra: anyObject("`mcp` tools: the upstream's other tool fields (icons, _meta, ...)."),
      }),
    ],
  },
  createdAt: time("When the tool was created."),
  updatedAt: time("When the tool last changed."),
}, [
  "id",
  "name",
  "description",
  "inputSchema",
  "type",
  "executionConfig",
  "createdAt",
  "updatedAt",
]);

const toolFields = (partial: boolean): Record<string, Json> => {
  const nullable = (s: Json): Json => partial ? { ...s, type: [s.type, "null"] } : s;
  return {
    name: str("MCP tool name: 1-128 letters, digits, '_', '-', '.'.", {
      pattern: TOOL_NAME.source,
    }),
    title: nullable(str("Display name.", { minLength: 1, maxLength: 200 })),
    description: nullable(str("What the tool does, for the model.", { maxLength: 10_000 })),
    inputSchema: nullable({
      type: "object",
      description: 'JSON Schema with `type: "object"`; checked when saved. ' +
        'Defaults to `{"type": "object", "properties": {}}`.',
    }),
    outputSchema: nullable({ type: "object", description: 'JSON Schema with `type: "object"`.' }),
    annotations: nullable({ type: "object", description: "MCP tool annotations." }),
    type: { enum: [...TOOL_TYPES] },
    executionConfig: httpExecutionConfig(false),
  };
};

const gatewayConfiguration = (partial: boolean): Json => ({
  type: "object",
  properties: {
    transport: {
      enum: [...TRANSPORTS],
      description:
        "The transport the `clients` configurations use (WebSocket gateways get Streamable " +
        "HTTP ones); every transport is served.",
    },
    logPayloads: {
      type: "boolean",
      description: "true: the request log keeps each tools/call's arguments and result " +
        `(credentials redacted, values over ${MAX_PAYLOAD_CHARS} characters of JSON shown as ` +
        "their size). Off by default: rows then hold no payload.",
    },
    rateLimits: {
      ...obj({
        perCaller: rateLimit(
          "The default limit of each caller (gateway key, OAuth grant, JWT subject, member " +
            "signed in with Basic, or client address for `none`); a key's own `rateLimit` " +
            "replaces it.",
        ),
        gateway: rateLimit("The ceiling of all callers of the gateway together."),
      }, []),
      type: ["object", "null"],
      description: "Rate limits of the gateway's MCP requests, in memory per process; a " +
        "request over one gets HTTP 429 (or, in a session stream, JSON-RPC error -32029). " +
        "Sent as null, removes them.",
    },
  },
  required: partial ? [] : ["transport"],
});

const gatewayFields: Record<string, Json> = {
  name: str("Display name.", { minLength: 1, maxLength: 200 }),
  type: { const: "mcp" },
  endpoint: str(
    "Path of the gateway under `/mcp/{org}`: starts with '/', URL-safe segments, unique in " +
      "the org; may not end with /sse, /ws, /message or /messages.",
    { pattern: ENDPOINT.source, maxLength: 200 },
  ),
  configuration: gatewayConfiguration(false),
  description: { type: ["string", "null"], maxLength: 2000 },
};

const nullableStr = (description: string): Json => ({ type: ["string", "null"], description });

/** What usage statistics say of a gateway, and of each tool. */
const USAGE_FIGURES: Record<string, Json> = {
  calls: { type: "integer", description: "Requests (a tool's: its tools/call requests)." },
  errors: { type: "integer", description: "Those that did not end ok." },
  errorRate: { type: "number", minimum: 0, maximum: 1 },
  p50Ms: {
    type: ["number", "null"],
    description: "Estimated from a histogram whose buckets grow by √2; null without calls.",
  },
  p95Ms: { type: ["number", "null"], description: "Estimated as p50Ms is." },
  lastCalledAt: nullableTime("When the last one arrived; null without calls."),
};
const configFile = (file: string, config: Json): Json =>
  obj({ file: { const: file, description: "Where the configuration goes." }, config });
/** `{<server name>: server}`, the map every JSON client configuration keeps its servers in. */
const serverMap = (server: Json): Json => ({
  type: "object",
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: server,
});
const headersField: Json = {
  type: "object",
  description: "The credential's header, with the placeholder; absent when none is sent.",
  additionalProperties: { type: "string" },
};

/** Ready-to-paste client configurations; see src/api/client_configs.ts. */
const gatewayClients = obj({
  transport: {
    enum: ["http", "sse"],
    description: "The transport the configurations use: `sse` for SSE gateways, else " +
      "Streamable HTTP (these clients do not speak WebSocket).",
  },
  url: str("The gateway URL the configurations use (`urls.http` or `urls.sse`).", {
    format: "uri",
  }),
  auth: obj({
    method: nullableStr("The auth method the configurations are written for; null: none yet."),
    header: nullableStr(
      "The header line the configurations send, e.g. `Authorization: Bearer <gateway key>`; " +
        "null when the client sends none (oauth2 sign-in, none).",
    ),
    placeholder: nullableStr("The part of `header` to replace, e.g. `<gateway key>`."),
    note: str("What to put in place of the placeholder, or how the client signs in."),
  }),
  claudeCode: obj({ command: str("`claude mcp add --transport http|sse NAME URL --header ...`.") }),
  claudeDesktop: configFile(
    "claude_desktop_config.json",
    obj({
      mcpServers: serverMap(obj({
        command: { const: "npx" },
        args: list(str(undefined)),
        env: { type: "object", additionalProperties: { type: "string" } },
      }, ["command", "args"])),
    }),
  ),
  cursor: configFile(
    "~/.cursor/mcp.json",
    obj({
      mcpServers: serverMap(
        obj({ url: str(undefined, { format: "uri" }), headers: headersField }, ["url"]),
      ),
    }),
  ),
  vscode: configFile(
    ".vscode/mcp.json",
    obj({
      inputs: list(obj({
        type: { const: "promptString" },
        id: str(),
        description: str(),
        password: { const: true },
      })),
      servers: serverMap(obj({
        type: { enum: ["http", "sse"] },
        url: str(undefined, { format: "uri" }),
        headers: headersField,
      }, ["type", "url"])),
    }, ["servers"]),
  ),
  windsurf: configFile(
    "~/.codeium/windsurf/mcp_config.json",
    obj({
      mcpServers: serverMap(
        obj({ serverUrl: str(undefined, { format: "uri" }), headers: headersField }, ["serverUrl"]),
      ),
    }),
  ),
  inspector: obj({
    command: str("`npx -y @modelcontextprotocol/inspector --cli URL ...` (Node 22 or later)."),
  }),
  python: obj({ code: str("A Python SDK 2.x script that lists the tools.") }),
});

const gateway = obj({
  id: str("Gateway id."),
  name: str(),
  description: str(),
  type: { const: "mcp" },
  endpoint: str("e.g. `/my-tools`.", { pattern: ENDPOINT.source }),
  configuration: { ...gatewayConfiguration(false), additionalProperties: true },
  org: str("Slug of the gateway's organization."),
  urls: obj({
    http: str("Streamable HTTP: `{base}/mcp/{org}{endpoint}`.", { format: "uri" }),
    sse: str("SSE: the HTTP URL + `/sse`.", { format: "uri" }),
    websocket: str("WebSocket: `ws(s)://.../mcp/{org}{endpoint}/ws`.", { format: "uri" }),
  }),
  clients: gatewayClients,
  createdAt: time("When the gateway was created."),
  updatedAt: time("When the gateway last changed."),
});

const credentialText = (description: string): Json =>
  str(description, { minLength: 1, maxLength: 16_384 });

/** The value shape of each secret type, as `POST /secrets` takes it. */
const SECRET_VALUES: Record<typeof SECRET_TYPES[number], Json> = {
  api_key: {
    description: `The key as a string (sent in the \`${DEFAULT_API_KEY_HEADER}\` header), or ` +
      "where to send it: `in` header (default) or query, `name` of the header or query " +
      `parameter (default \`${DEFAULT_API_KEY_HEADER}\`, or \`api_key\` in the query).`,
    oneOf: [
      credentialText("The key."),
      obj({
        key: credentialText("The key."),
        in: { enum: ["header", "query"] },
        name: str("Header or query parameter name.", { minLength: 1, maxLength: 256 }),
      }, ["key"]),
    ],
  },
  bearer_token: credentialText("The token, sent as `Authorization: Bearer <token>`."),
  basic_auth: obj({
    username: credentialText("No ':' allowed (RFC 7617)."),
    password: credentialText("The password."),
  }),
  oauth2_client_credentials: obj({
    tokenUrl: str("Token endpoint: https (http only to a loopback address).", {
      format: "uri",
      maxLength: 2048,
    }),
    clientId: credentialText("Client id, sent with the secret as HTTP Basic to the endpoint."),
    clientSecret: credentialText("Client secret."),
    scopes: { type: "array", items: { type: "string", minLength: 1 }, maxItems: 100 },
    audience: str("Sent as the `audience` form parameter (Auth0 and others).", {
      minLength: 1,
      maxLength: 2048,
    }),
  }, ["tokenUrl", "clientId", "clientSecret"]),
  custom_headers: obj({
    headers: {
      type: "object",
      description: "Header names and values, sent as they are (only through " +
        "`executionConfig.auth`).",
      additionalProperties: credentialText("Header value."),
      minProperties: 1,
      maxProperties: 50,
    },
  }),
};

const secretName = str(
  "Letters, digits and '_', not starting with a digit; used as `{{secrets.NAME}}`.",
  { pattern: SECRET_NAME.source, maxLength: 128 },
);

const scopeList = (description: string, minItems = 0): Json => ({
  type: "array",
  items: { enum: [...GATEWAY_SCOPES] },
  minItems,
  description,
});

/** `configuration` of an `oauth2` auth method (the gateway's own authorization server). */
const oauth2Configuration: Json = obj({
  accessTokenTtlSeconds: {
    type: "integer",
    minimum: ACCESS_TOKEN_TTL_BOUNDS[0],
    maximum: ACCESS_TOKEN_TTL_BOUNDS[1],
    description: "Lifetime of access tokens. Default 3600.",
  },
  refreshTokenTtlSeconds: {
    type: "integer",
    minimum: REFRESH_TOKEN_TTL_BOUNDS[0],
    maximum: REFRESH_TOKEN_TTL_BOUNDS[1],
    description: "Lifetime of refresh tokens; not shorter than accessTokenTtlSeconds. " +
      "Default 30 days.",
  },
  scopes: scopeList("Scopes the gateway's authorization server may grant. Default both.", 1),
}, []);

/** `configuration` of a `jwt` auth method (tokens of an external identity provider). */
const jwtConfiguration: Json = {
  ...obj({
    issuer: str("The `iss` every token must carry exactly.", { minLength: 1, maxLength: 1000 }),
    audience: {
      description: "The `aud` value(s) accepted: a token must name at least one.",
      oneOf: [
        str(undefined, { minLength: 1, maxLength: 1000 }),
        {
          type: "array",
          items: str(undefined, { minLength: 1, maxLength: 1000 }),
          minItems: 1,
          maxItems: 20,
        },
      ],
    },
    jwksUrl: str(
      "The identity provider's JWKS (https; fetched with a timeout, cached, and refetched when " +
        "a token names an unknown `kid`, at most once per cooldown). http is accepted only for " +
        "loopback hosts on a server run with GATEHOUSE_JWT_ALLOW_INSECURE_JWKS=1.",
      { format: "uri", maxLength: 2048 },
    ),
    publicKeyPem: str(
      "An RSA, EC (P-256/384/521) or Ed25519 public key, PEM (`-----BEGIN PUBLIC KEY-----`).",
      { minLength: 1, maxLength: 16_384 },
    ),
    hs256Secret: str(
      "The NAME of an api_key or bearer_token secret of the organization (never the secret " +
        `itself) whose value, at least ${MIN_HMAC_SECRET_BYTES} bytes, is the HMAC key.`,
      { pattern: SECRET_NAME.source, maxLength: 128 },
    ),
    algorithms: {
      type: "array",
      items: { enum: [...JWT_ALGORITHMS] },
      minItems: 1,
      description: "The only algorithms tokens may use (`none` never). Default: RS256 and " +
        "PS256 for an RSA key, the curve's ES algorithm for an EC key, EdDSA for Ed25519, " +
        "every asymmetric algorithm for a JWKS, HS256 for a secret. Must suit the key: HMAC " +
        "algorithms only with hs256Secret.",
    },
    scopesClaim: str(
      `The claim holding the token's scopes or roles: a space-separated string or a list. ` +
        `Default \`${DEFAULT_SCOPES_CLAIM}\`. A dotted name reaches into objects ` +
        "(`realm_access.roles`) unless a claim has that exact name.",
      { minLength: 1, maxLength: 200 },
    ),
    scopeMap: {
      type: "object",
      description: "Claim value -> Gatehouse scopes it grants. Claim values that are " +
        "Gatehouse scope names grant themselves; all other values grant nothing.",
      additionalProperties: scopeList("Scopes granted by this claim value."),
      maxProperties: 200,
    },
    defaultScopes: scopeList("Scopes every valid token gets. Default none."),
    clockSkewSeconds: {
      type: "integer",
      minimum: 0,
      maximum: MAX_CLOCK_SKEW_SECONDS,
      description: "Leeway on `exp` and `nbf`, in seconds. Default " +
        `${DEFAULT_CLOCK_SKEW_SECONDS}.`,
    },
  }, ["issuer", "audience"]),
  description: "Exactly one of jwksUrl, publicKeyPem and hs256Secret. Tokens must be signed, " +
    "unexpired (`exp` required), already valid (`nbf`), from `issuer`, for `audience`, and " +
    "carry `sub`; the principal is `jwt:<iss>:<sub>`. Tokens are accepted only in the " +
    "`Authorization: Bearer` header (on the WebSocket path also as a `bearer.<token>` " +
    "subprotocol or the `api_key` query parameter).",
  oneOf: [
    { required: ["jwksUrl"] },
    { required: ["publicKeyPem"] },
    { required: ["hs256Secret"] },
  ],
};

/** `validationRules` of an auth method: extra conditions a request must meet for it. */
const validationRules: Json = {
  ...obj({
    allowedIpRanges: {
      type: "array",
      items: str(
        "A CIDR block, IPv4 or IPv6 (`203.0.113.0/24`, `2001:db8::/32`); an address " +
          "alone is that one address.",
      ),
      minItems: 1,
      maxItems: MAX_IP_RANGES,
      description: "The client address must be in one of these. The address is the " +
        "connection's peer, or the nearest X-Forwarded-For entry that is not a proxy listed " +
        "in GATEHOUSE_TRUSTED_PROXIES when the peer is one.",
    },
    requiredHeaders: {
      type: "object",
      minProperties: 1,
      maxProperties: MAX_REQUIRED_HEADERS,
      description: "Header name (stored lower-case) -> the exact value it must have, or " +
        "`true` for present with any value. Headers that carry credentials (Authorization, " +
        "Cookie, X-API-Key) are refused: the value is shown to every member.",
      additionalProperties: {
        oneOf: [{ const: true }, str(undefined, { maxLength: MAX_HEADER_VALUE })],
      },
    },
  }, []),
  type: ["object", "null"],
  description: "Conditions besides the credential; a request that breaks them is refused by " +
    "this method. Null: none.",
};

/** Fields every auth method has besides its type and configuration. */
const authMethodFields = (create: boolean): Record<string, Json> => ({
  order: {
    type: "integer",
    minimum: 0,
    maximum: MAX_ORDER,
    description: "Methods are tried by ascending order (ties: the older first)." +
      (create ? " Default: after the gateway's existing methods." : ""),
  },
  required: {
    type: "boolean",
    description: "When true, every request must be accepted by this method too, whichever " +
      "method (the first accepting one in order) names the caller." +
      (create ? " Default false." : ""),
  },
  validationRules,
});
const secretDescription = str("What the secret is for.", { maxLength: 2000 });

const outboundSettings = (partial: boolean): Json => {
  const setting = (what: string, k: typeof OUTBOUND_SETTINGS[number]): Json => ({
    type: "boolean",
    description: `${what} Default ${DEFAULT_OUTBOUND_POLICY[k]}.`,
  });
  const properties = {
    allowPrivateNetworks: setting(
      "Tools may reach 10/8, 172.16/12, 192.168/16, 100.64/10 and fc00::/7.",
      "allowPrivateNetworks",
    ),
    allowLoopback: setting("Tools may reach 127/8, ::1 and this machine.", "allowLoopback"),
    allowLinkLocal: setting(
      "Tools may reach 169.254/16, fe80::/10 and cloud-metadata endpoints " +
        "(169.254.169.254, fd00:ec2::254, 100.100.100.200, metadata.google.internal).",
      "allowLinkLocal",
    ),
  };
  return obj(properties, partial ? [] : [...OUTBOUND_SETTINGS]);
};

const nullableString = (description: string): Json => ({ type: ["string", "null"], description });
const filterList = (description: string): Json => ({
  type: "array",
  items: { type: "string", minLength: 1, maxLength: 500 },
  maxItems: MAX_FILTER_VALUES,
  description,
});

const apiFields: Record<string, Json> = {
  id: str("API id."),
  name: str("Unique in the organization."),
  title: str("`info.title` of the document."),
  version: str("`info.version` of the document."),
  specVersion: str("The OpenAPI (or Swagger) version the document was written in."),
  baseUrl: nullableString("The server URL override, if one was given."),
  secret: nullableString("The secret that authenticates the API's calls, if any."),
  include: { ...filterList("The include filter of the last import."), type: ["array", "null"] },
  exclude: { ...filterList("The exclude filter of the last import."), type: ["array", "null"] },
  specHash: str("SHA-256 (hex) of the document as last imported."),
  toolCount: { type: "integer", minimum: 0 },
  createdAt: time("When the API was first imported."),
  updatedAt: time("When the API was last imported."),
};

/** An operation of a dry run's document. */
const previewOperation: Record<string, Json> = {
  name: str(
    "The tool name the operation asks for; one taken in the organization gets a suffix when " +
      "stored.",
  ),
  operationId: nullableString("The operation's operationId, if it has one."),
  method: str("HTTP method, upper case."),
  path: str("The path as the document writes it."),
  title: nullableString("The operation's summary, the tool's title."),
  tags: list(str("A tag of the operation (include and exclude take tags).")),
};

const bytes = (description: string): Json => ({ type: "integer", minimum: 0, description });
const contextLimit = (description: string, fallback: number): Json => ({
  type: "integer",
  minimum: 1,
  maximum: MAX_CONTEXT_LIMIT,
  description: `${description} Default ${fallback}.`,
});

const contextLimits = (partial: boolean): Json =>
  obj({
    toolBytes: contextLimit(
      "Warn about each tool whose tools/list entry takes more bytes than this.",
      DEFAULT_CONTEXT_LIMITS.toolBytes,
    ),
    listBytes: contextLimit(
      "Warn when the import's tools take more bytes of tools/list than this together.",
      DEFAULT_CONTEXT_LIMITS.listBytes,
    ),
  }, partial ? [] : undefined);

const contextCost = obj({
  totalBytes: bytes(
    "Bytes of all the import's tools as tools/list lists them (JSON, UTF-8: name, title, " +
      "description, inputSchema, outputSchema, annotations), summed.",
  ),
  limits: contextLimits(false),
  tools: list(obj({
    name: str("Tool name."),
    bytes: bytes("Bytes of the tool's tools/list entry."),
    bytesBeforeSlim: bytes("Bytes of its entry without slim (slimmed imports only)."),
  }, ["name", "bytes"])),
  savedBytes: bytes("Bytes slim took off the tools' entries in all (slimmed imports only)."),
}, ["totalBytes", "limits", "tools"]);

const apiTool = obj({
  id: str("Tool id (a normal tool: see /tools)."),
  name: str("Tool name.", { pattern: TOOL_NAME.source }),
  operationId: nullableString("The operation's operationId, if it has one."),
  method: { enum: [...HTTP_METHODS] },
  path: str("The operation's path template."),
});

const org = obj({
  id: str("Organization id."),
  name: str(),
  slug: str("Used in MCP URLs and in X-Organization.", { pattern: ORG_SLUG.source }),
  createdAt: time("When the organization was created."),
  settings: obj({ outbound: outboundSettings(false) }),
  role: { enum: [...ROLES], description: "The caller's role in it." },
});

const invitation = obj({
  id: str("Invitation id."),
  email: str("Who is invited (lower-cased)."),
  role: { enum: [...ROLES] },
  invitedBy: { type: ["string", "null"], description: "The inviting member's user id." },
  createdAt: time("When the invitation was made."),
  expiresAt: time("When it stops working."),
  status: { enum: ["invited", "expired"] },
});

/** The settable fields of an upstream server. */
const serverFields: Record<string, Json> = {
  name: str("Unique in the organization: 1-64 letters, digits, '_', '-' and '.'.", {
    pattern: "^[A-Za-z0-9_.-]{1,64}$",
  }),
  transport: { enum: ["streamable-http", "sse", "stdio"] },
  url: str("HTTP transports: the server's endpoint (http or https; the outbound policy applies)."),
  headers: {
    type: "object",
    additionalProperties: { type: "string" },
    description: "HTTP transports: headers sent on every request; values may use " +
      "`{{secrets.NAME}}`.",
  },
  auth: obj({ secret: str("A vault secret of any type, applied to every upstream request.") }),
  command: str("stdio: the command Gatehouse runs (on its host, with its permissions)."),
  args: { type: "array", items: { type: "string" }, description: "stdio: its arguments." },
  env: {
    type: "object",
    additionalProperties: { type: "string" },
    description: "stdio: its environment (besides PATH, HOME and the locale, nothing of " +
      "Gatehouse's own is passed); values may use `{{secrets.NAME}}`.",
  },
  cwd: str("stdio: its working folder (absolute)."),
  timeout: {
    type: "integer",
    minimum: 1,
    maximum: 300000,
    description: "Milliseconds one upstream request may take (default 30000).",
  },
  onChange: {
    enum: ["hold", "accept"],
    description: "When the server changes a tool or prompt already seen: `hold` (default) " +
      "keeps serving the old definition (withholding the item when its inputSchema or " +
      "arguments changed) until an admin approves the change at /servers/{id}/changes; " +
      "`accept` takes it at once.",
  },
  isolation: {
    enum: ["shared", "per-session"],
    description: "stdio: one process for every caller (default), or one per MCP session.",
  },
};

const withheldItem = obj({
  gatewayId: str("The gateway that withholds it."),
  kind: { enum: ["tool", "prompt", "resource", "template"] },
  name: str("The name (or URI) it would be served under."),
  reason: str("Why: the name is taken by another item, or a change awaits approval."),
});

const SCHEMAS: Record<string, Json> = {
  Error: obj({ error: ref("ErrorDetail") }),
  ErrorDetail: obj({
    code: str(
      "Machine-readable: invalid_request, unauthorized, forbidden, not_found, conflict, " +
        "request_timeout, payload_too_large, unsupported_media_type, import_limit_exceeded, " +
        "too_many_requests, too_many_imports, import_failed, internal_error, unavailable.",
    ),
    message: str("What went wrong, for people."),
    field: str("The request field at fault (dotted path), when one is."),
  }, ["code", "message"]),
  OpenApiDocument: {
    type: "object",
    properties: { openapi: { const: "3.1.0" }, paths: { type: "object" } },
    required: ["openapi", "info", "paths", "components"],
  },
  Health: {
    type: "object",
    properties: { status: str(), database: str() },
    required: ["status"],
  },
  Org: org,
  OrgUpdate: obj({
    settings: obj({ outbound: outboundSettings(true) }, []),
  }),
  OrgList: listOf("orgs", "Org"),
  OrgCreated: {
    ...org,
    properties: {
      ...(org.properties as Json),
      accessKey: {
        ...ref("AccessKeyWithValue"),
        description: "A key of the creator acting in the new organization, shown once.",
      },
    },
    required: [...(org.required as string[]), "accessKey"],
  },
  OrgCreate: obj({
    name: str("Display name.", { minLength: 1, maxLength: 200 }),
    slug: str("Lower-case letters, digits and inner hyphens.", {
      pattern: ORG_SLUG.source,
      maxLength: 63,
    }),
  }),
  Member: obj({
    userId: str(),
    email: str(),
    name: str(),
    role: { enum: [...ROLES] },
    createdAt: time("When the user joined the organization."),
  }),
  MemberList: listOf("members", "Member"),
  MemberCreate: obj({
    email: str("The person to invite (an existing account or a new one).", { maxLength: 320 }),
    role: { enum: [...ROLES], description: "The role they get on accepting." },
    expiresAt: time("When the invitation stops working; default in 7 days, at most 30."),
  }, ["email", "role"]),
  Invitation: invitation,
  InvitationWithToken: {
    ...invitation,
    properties: {
      ...(invitation.properties as Json),
      token: str(
        "The one-time invitation token (`ghi_...`), shown in this response only. Hand it to " +
          "the person; they accept with POST /invitations/accept.",
      ),
    },
    required: [...(invitation.required as string[]), "token"],
  },
  InvitationList: listOf("invitations", "Invitation"),
  InvitationAccept: obj({
    token: str("The invitation token."),
    password: str(
      "For a new account: the password to create it with. For an existing account: its " +
        "password, unless one of its access keys is sent as Authorization: Bearer.",
      { minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
    ),
    name: str("Display name of a new account; defaults to the email's local part.", {
      maxLength: 200,
    }),
  }, ["token"]),
  Joined: obj({
    organization: ref("Org"),
    member: ref("Member"),
    accessKey: ref("AccessKeyWithValue"),
  }),
  Login: obj({
    email: str(undefined, { maxLength: 320 }),
    password: str(undefined, { maxLength: MAX_PASSWORD_LENGTH }),
    organization: str("Slug of the organization the key will act in."),
    name: str("What the key is for.", { maxLength: 200 }),
    expiresAt: time("When the key stops working; default in 30 days."),
  }, ["email", "password", "organization"]),
  LoggedIn: obj({ organization: ref("Org"), accessKey: ref("AccessKeyWithValue") }),
  PasswordSet: obj({
    password: str("The new password.", {
      minLength: MIN_PASSWORD_LENGTH,
      maxLength: MAX_PASSWORD_LENGTH,
    }),
    currentPassword: str("The current password; required once the account has one.", {
      maxLength: MAX_PASSWORD_LENGTH,
    }),
  }, ["password"]),
  MemberUpdate: obj({ role: { enum: [...ROLES] } }),
  Me: obj({
    user: obj({ id: str(), email: str(), name: str() }),
    organization: { ...ref("Org"), description: "The organization the access key acts in." },
    role: { enum: [...ROLES], description: "The caller's role there." },
    accessKey: { ...ref("AccessKey"), description: "The access key of this request." },
    hasPassword: {
      type: "boolean",
      description: "Whether the account has a password (POST /login needs one).",
    },
  }),
  AccessKey: accessKey,
  AccessKeyWithValue: withKey(accessKey, "The access key itself. Shown in this response only."),
  AccessKeyList: listOf("keys", "AccessKey"),
  AccessKeyCreate: obj({
    name: str("What the key is for.", { minLength: 1, maxLength: 200 }),
    expiresAt: nullableTime("A future time after which the key stops working."),
  }, ["name"]),
  Gateway: gateway,
  GatewayList: pageOf("gateways", "Gateway", "oldest first"),
  GatewayCreate: obj(gatewayFields, ["name", "type", "endpoint", "configuration"]),
  GatewayUpdate: obj(
    { ...gatewayFields, configuration: gatewayConfiguration(true) },
    [],
  ),
  Tool: tool,
  ToolList: pageOf("tools", "Tool", "by name (then id)"),
  ToolCreate: obj(toolFields(false), ["name", "type", "executionConfig"]),
  ToolUpdate: obj(toolFields(true), []),
  Assignment: obj({
    toolId: str(),
    name: str("The tool's name."),
    enabled: { type: "boolean", description: "Whether the gateway's MCP clients see the tool." },
    rateLimit: TOOL_RATE_LIMIT,
    assignedAt: time("When the tool was assigned."),
    tool: ref("Tool"),
  }),
  AssignmentList: pageOf("tools", "Assignment", "by tool name (then tool id)"),
  Assignments: listOf("tools", "Assignment"),
  AssignTools: {
    description: "One tool (`toolId`) or many (`toolIds`, all or none: if any id is unknown " +
      "in the organization nothing is assigned). Tools already assigned take the new " +
      "`enabled`, and the new `rateLimit` when one is given.",
    oneOf: [
      obj({
        toolId: str(undefined, { minLength: 1 }),
        enabled: { type: "boolean" },
        rateLimit: TOOL_RATE_LIMIT,
      }, ["toolId"]),
      obj({
        toolIds: {
          type: "array",
          items: { type: "string", minLength: 1 },
          minItems: 1,
          maxItems: MAX_ASSIGN,
        },
        enabled: { type: "boolean" },
        rateLimit: TOOL_RATE_LIMIT,
      }, ["toolIds"]),
    ],
  },
  AssignmentUpdate: {
    ...obj({ enabled: { type: "boolean" }, rateLimit: TOOL_RATE_LIMIT }, []),
    minProperties: 1,
  },
  GatewayKey: gatewayKey,
  GatewayKeyWithValue: withKey(gatewayKey, "The gateway key itself. Shown in this response only."),
  GatewayKeyList: listOf("keys", "GatewayKey"),
  GatewayKeyCreate: obj({
    name: str("What the key is for.", { minLength: 1, maxLength: 200 }),
    scopes: {
      type: "array",
      items: { enum: [...GATEWAY_SCOPES] },
      minItems: 1,
      description: "Defaults to all scopes.",
    },
    expiresAt: nullableTime("A future time after which the key stops working."),
    rateLimit: nullableRateLimit(KEY_RATE_LIMIT),
  }, ["name"]),
  GatewayKeyUpdate: obj({ rateLimit: nullableRateLimit(KEY_RATE_LIMIT) }),
  MemberToolCall: obj({
    name: str("The tool's name as the gateway serves it (with an attachment's prefix).", {
      maxLength: 1024,
    }),
    arguments: anyObject("The tool's arguments, as `tools/call` takes them."),
  }, ["name"]),
  McpAnswer: {
    type: "object",
    description: "The JSON-RPC response MCP gives the call, as it gives it: `result` (with " +
      "`isError` when the tool failed) or `error` (an unknown or turned-off tool, bad " +
      "arguments, a rate limit).",
    properties: {
      jsonrpc: { const: "2.0" },
      id: { type: ["integer", "string", "null"] },
      result: anyObject("The tool's result: content, structuredContent, isError."),
      error: {
        type: "object",
        properties: {
          code: { type: "integer" },
          message: { type: "string" },
          data: {},
        },
        required: ["code", "message"],
      },
    },
    required: ["jsonrpc", "id"],
  },
  AuthMethod: obj({
    id: str(),
    gatewayId: str(),
    type: { enum: [...AUTH_METHOD_TYPES] },
    configuration: anyObject(
      "Settings of the method, with defaults filled in for jwt (none for api_key, bearer, " +
        "basic and none).",
    ),
    ...authMethodFields(false),
    createdAt: time("When the method was added."),
    updatedAt: time("When the method last changed."),
  }),
  AuthMethodList: listOf("methods", "AuthMethod"),
  Secret: obj({
    id: str("Secret id."),
    name: secretName,
    type: { enum: [...SECRET_TYPES] },
    description: str(),
    createdAt: time("When the secret was created."),
    updatedAt: time("When the secret (or its value) last changed."),
  }),
  SecretList: listOf("secrets", "Secret"),
  Server: obj({
    id: str("Server id."),
    ...serverFields,
    status: ref("ServerStatus"),
    createdAt: time("When the server was added."),
    updatedAt: time("When its settings last changed."),
  }, ["id", "name", "transport", "status", "createdAt", "updatedAt"]),
  ServerList: pageOf("servers", "Server", "by name"),
  ServerCreate: obj(serverFields, ["name", "transport"]),
  ServerUpdate: obj(
    Object.fromEntries(
      Object.entries(serverFields).map(([k, v]) => [
        k,
        k === "name" || k === "transport"
          ? v
          : Array.isArray(v.enum)
          ? { ...v, enum: [...v.enum, null] }
          : { ...v, type: [v.type as string, "null"] },
      ]),
    ),
    [],
  ),
  ServerStatus: obj({
    state: {
      enum: ["connecting", "ready", "degraded", "failed"],
      description: "`connecting`: first attempt under way. `ready`: initialized and listed. " +
        "`degraded`: was ready, the connection or process was lost, reconnecting with backoff. " +
        "`failed`: cannot connect (retried with backoff, capped at 30 s).",
    },
    protocolVersion: {
      type: ["string", "null"],
      description: "The negotiated MCP version (the session-era one, for a server speaking both).",
    },
    protocolVersions: {
      type: "array",
      items: { type: "string" },
      description: "Every version Gatehouse speaks with the server: a Streamable HTTP server " +
        "that also answers `server/discover` is asked in 2026-07-28 for 2026-07-28 clients " +
        "(and lists to them what it lists in that era), in its session version for the others.",
    },
    serverInfo: { type: ["object", "null"], description: "The upstream's serverInfo." },
    capabilities: { type: ["object", "null"], description: "The upstream's capabilities." },
    tools: { type: ["integer", "null"], description: "How many tools it lists (every page)." },
    resources: { type: ["integer", "null"], description: "How many resources it lists." },
    prompts: { type: ["integer", "null"], description: "How many prompts it lists." },
    lastRefreshAt: nullableTime("When the lists were last read."),
    lastError: {
      type: ["string", "null"],
      description: "The last failure, with secret values redacted; kept after a recovery.",
    },
    restarts: { type: "integer", description: "Reconnections (process restarts) so far." },
    withheld: list(withheldItem),
    pendingChanges: { type: "integer", description: "Held changes awaiting approval." },
    breaker: obj({
      state: {
        enum: ["closed", "open", "half-open"],
        description: "`open` after 5 failed calls in a row: calls fail at once until " +
          "`openUntil`, then one trial call decides (cool-down 1 s, doubling to 30 s).",
      },
      openUntil: nullableTime("When an open breaker lets a trial call through."),
      failures: { type: "integer", description: "Failed calls in a row." },
    }),
    sessions: {
      type: "integer",
      description: "Upstream sessions held for downstream MCP sessions (stateful servers).",
    },
  }),
  ServerChange: obj({
    id: str("Change id."),
    kind: { enum: ["tool", "prompt"] },
    name: str("The server's name for the item."),
    breaking: {
      type: "boolean",
      description: "True when what callers send changed (inputSchema, arguments): the item " +
        "is withheld until approved. Otherwise the old definition is still served.",
    },
    detectedAt: time("When the server started listing the new definition."),
    diff: list(obj({
      field: str("A field of the definition (description, inputSchema, annotations...)."),
      before: { description: "Its value as served now (null: absent)." },
      after: { description: "Its value as the server lists it now (null: absent)." },
    })),
    current: anyObject("The definition served now."),
    proposed: anyObject("The definition the server lists now."),
  }),
  ServerChangeList: listOf("changes", "ServerChange"),
  ServerChangeApproval: obj({ approved: ref("ServerChange"), server: ref("Server") }),
  Attachment: obj({
    serverId: str(),
    name: str("The server's name."),
    transport: { enum: ["streamable-http", "sse", "stdio"] },
    prefix: str("Tools and prompts are served as `{prefix}_{name}`."),
    include: list(str()),
    exclude: list(str()),
    toolRateLimit: {
      type: "integer",
      minimum: 1,
      description: "Calls a minute each caller may make of each of the server's tools.",
    },
    attachedAt: time("When the server was attached."),
    state: { enum: ["connecting", "ready", "degraded", "failed"] },
    serves: obj({
      tools: { type: "integer" },
      prompts: { type: "integer" },
      resources: { type: "integer" },
      resourceTemplates: { type: "integer" },
    }),
    withheld: list(obj({ kind: str(), name: str(), reason: str() })),
  }, ["serverId", "name", "transport", "attachedAt", "state", "serves", "withheld"]),
  AttachmentList: listOf("servers", "Attachment"),
  AttachServer: obj({
    serverId: str("An upstream server of the organization."),
    prefix: str("1-32 letters, digits, '.' or '-': tools and prompts become `{prefix}_{name}`.", {
      pattern: "^[A-Za-z0-9][A-Za-z0-9.-]{0,31}$",
    }),
    include: {
      type: "array",
      items: { type: "string" },
      description: "Serve only tools and prompts whose server names match one of these " +
        "patterns (`*` matches any run of characters).",
    },
    exclude: {
      type: "array",
      items: { type: "string" },
      description: "Serve no tool or prompt whose server name matches one of these patterns.",
    },
    toolRateLimit: {
      ...TOOL_RATE_LIMIT,
      description: "Calls a minute each caller may make of each of the server's tools through " +
        "this gateway; a call over it gets an `isError` result saying when to retry. Absent or " +
        "null: unlimited. Attaching again replaces it.",
    },
  }, ["serverId"]),
  ServerItems: obj({
    id: str("Server id."),
    resources: list(anyObject("A resource as the server lists it: uri, name, description...")),
    resourceTemplates: list(
      anyObject("A resource template as the server lists it: uriTemplate, name..."),
    ),
    prompts: list(
      anyObject("A prompt as served: name, description, arguments (a held change is not)."),
    ),
  }),
  ServerLogs: obj({
    id: str("Server id."),
    lines: list(str()),
    dropped: { type: "integer", description: "Older lines dropped to stay within the bound." },
  }),
  SecretCreate: {
    description: "A secret: its value's shape depends on its type. The value is encrypted " +
      "(AES-256-GCM) and never returned.",
    oneOf: SECRET_TYPES.map((type) =>
      obj({
        name: secretName,
        type: { const: type },
        value: SECRET_VALUES[type],
        description: secretDescription,
      }, ["name", "type", "value"])
    ),
  },
  SecretUpdate: obj({
    name: secretName,
    description: { ...secretDescription, type: ["string", "null"] },
    type: { enum: [...SECRET_TYPES], description: "Changing it needs a new value." },
    value: {
      description: "Replaces the whole value (shape as for the secret's type).",
      anyOf: Object.values(SECRET_VALUES),
    },
  }, []),
  AuthMethodCreate: {
    description: "`api_key`: clients send a gateway key (Authorization: Bearer, X-API-Key or " +
      "the api_key query parameter). `bearer`: a gateway key as `Authorization: Bearer` only " +
      "(on the WebSocket path also as a `bearer.<key>` subprotocol entry). `basic`: a " +
      "member's email and password as `Authorization: Basic` (viewers may only list tools). " +
      "`oauth2`: tokens of the gateway's own OAuth 2.1 authorization server. `jwt`: tokens " +
      "of your identity provider (several jwt methods serve several providers). `none`: " +
      "anyone may call. Methods are tried by `order`; the first that accepts names the " +
      "caller, and every `required` method must accept too. A gateway with no method refuses " +
      "every MCP request.",
    oneOf: [
      obj({
        type: { enum: ["api_key", "bearer", "basic", "none"] },
        configuration: { type: "object", maxProperties: 0 },
        ...authMethodFields(true),
      }, ["type"]),
      obj({
        type: { const: "oauth2" },
        configuration: oauth2Configuration,
        ...authMethodFields(true),
      }, ["type"]),
      obj({
        type: { const: "jwt" },
        configuration: jwtConfiguration,
        ...authMethodFields(true),
      }, ["type", "configuration"]),
    ],
  },
  AuthMethodUpdate: obj({
    type: { enum: [...AUTH_METHOD_TYPES], description: "If given, the method's own type." },
    configuration: anyObject(
      "Replaces the whole configuration, checked as for a new method of this type.",
    ),
    ...authMethodFields(false),
  }, []),
  Api: obj(apiFields),
  ApiList: pageOf("apis", "Api", "by name"),
  ApiTool: apiTool,
  ApiDetail: obj({ ...apiFields, tools: list(ref("ApiTool")) }),
  ApiImportResult: obj({
    ...apiFields,
    tools: list(ref("ApiTool")),
    created: { type: "integer", minimum: 0, description: "Tools created." },
    updated: {
      type: "integer",
      minimum: 0,
      description: "Tools updated in place (re-import): same id, gateway assignments kept.",
    },
    removed: {
      type: "integer",
      minimum: 0,
      description: "Tools removed with their assignments (operations no longer in the document).",
    },
    contextCost: {
      ...contextCost,
      description: "What the tools cost a model's context: each tool's bytes in tools/list, by " +
        "name, and their total.",
    },
    warnings: list(
      str(
        "Operations skipped, filter values that matched nothing, tools over " +
          "limits.toolBytes (largest first), an import over limits.listBytes, and what slim saved.",
      ),
    ),
  }),
  ImportPreview: obj({
    dryRun: { const: true },
    name: apiFields.name,
    title: apiFields.title,
    version: apiFields.version,
    specVersion: apiFields.specVersion,
    operations: {
      ...list(obj(previewOperation)),
      description: "Each operation the import would make a tool of, after include and exclude.",
    },
    contextCost: {
      ...contextCost,
      description: "What the tools would cost a model's context, as an import reports it.",
    },
    warnings: list(str("What the import would warn about.")),
  }),
  ReimportAnswer: {
    description: "The re-import's result; with `dryRun=true`, what it would change (nothing " +
      "is stored).",
    oneOf: [ref("ApiImportResult"), ref("ReimportPreview")],
  },
  ReimportPreview: obj({
    dryRun: { const: true },
    id: apiFields.id,
    name: apiFields.name,
    title: apiFields.title,
    version: apiFields.version,
    specVersion: apiFields.specVersion,
    sameDocument: {
      type: "boolean",
      description: "True when the document is the one last imported (same SHA-256).",
    },
    settings: list(obj({
      field: {
        enum: [
          "name",
          "title",
          "version",
          "specVersion",
          "baseUrl",
          "secret",
          "include",
          "exclude",
        ],
      },
      before: { description: "The API's value now (null: none)." },
      after: { description: "Its value after the re-import (null: none)." },
    })),
    operations: {
      ...list(obj({
        ...previewOperation,
        name: str("The name the tool would have (a kept tool keeps its name when it can)."),
        change: {
          enum: ["create", "update", "unchanged"],
          description: "create: a new tool; update: a kept tool (same id and assignments) " +
            "whose definition or name changes; unchanged: a kept tool left as it is.",
        },
        id: nullableString("The kept tool's id; null for a new one."),
        previousName: nullableString("The kept tool's name now, when the re-import renames it."),
        fields: list({
          enum: [
            "title",
            "description",
            "inputSchema",
            "outputSchema",
            "annotations",
            "type",
            "executionConfig",
          ],
          description: "A field of the kept tool the re-import rewrites (hand edits included).",
        }),
        gateways: list(str("A gateway the kept tool is assigned to.")),
      })),
      description: "Each operation the re-import would make or keep a tool of, after include " +
        "and exclude.",
    },
    removed: {
      ...list(obj({
        ...(apiTool.properties as Record<string, Json>),
        gateways: list(str("A gateway it is assigned to now: the assignment goes with it.")),
      })),
      description: "The API's tools whose operations are gone (or filtered out): removed.",
    },
    counts: obj({
      created: { type: "integer", minimum: 0 },
      updated: { type: "integer", minimum: 0 },
      unchanged: { type: "integer", minimum: 0 },
      removed: { type: "integer", minimum: 0 },
    }),
    contextCost: {
      ...contextCost,
      description: "What the tools would cost a model's context after the re-import.",
    },
    warnings: list(str("What the re-import would warn about.")),
  }),
  ImportJob: obj({
    id: str("The job's id."),
    state: {
      enum: ["queued", "running", "succeeded", "failed"],
      description: "queued: waiting for a free import worker; running; then succeeded or failed.",
    },
    progress: obj({
      phase: {
        enum: ["parsing", "resolving", "converting", "storing", null],
        description: "parsing the body and pre-checking the document, resolving it " +
          "(validation, upgrade to 3.1, references), converting operations, storing the " +
          "tools; null while queued.",
      },
      operations: {
        type: ["integer", "null"],
        minimum: 0,
        description: "Operations to convert (after include and exclude); null until known.",
      },
      done: { type: "integer", minimum: 0, description: "Operations converted so far." },
    }),
    status: {
      type: "integer",
      description: "Once finished: the status the import would have answered synchronously " +
        "(201 or 200, or the error's).",
    },
    result: {
      ...ref("ApiImportResult"),
      description: "Once succeeded: what the synchronous import answers.",
    },
    error: {
      ...ref("ErrorDetail"),
      description: "Once failed: the error the synchronous import would have answered.",
    },
    createdAt: time("When the import was asked for."),
    finishedAt: nullableTime("When it ended; null until then."),
    expiresAt: nullableTime(
      `When the job is forgotten (${JOB_TTL_MS / 60_000} minutes after it ended); null until then.`,
    ),
  }, ["id", "state", "progress", "createdAt", "finishedAt", "expiresAt"]),
  ApiImport: obj({
    name: str("Unique in the organization.", { minLength: 1, maxLength: 200 }),
    spec: {
      type: ["object", "string"],
      description: "The document: OpenAPI 3.0, 3.1 or Swagger 2.0 (converted), as an object or " +
        "as JSON or YAML text. Only references inside the document resolve.",
    },
    baseUrl: str(
      "Replaces every server URL of the document; operation paths are appended to it. " +
        "Needed when the document names no absolute server.",
      { format: "uri", maxLength: 2000 },
    ),
    secret: str(
      "A secret of the organization that authenticates every call " +
        "(set as each tool's executionConfig.auth).",
      { pattern: SECRET_NAME.source },
    ),
    include: filterList("Import only operations with one of these operationIds or tags."),
    exclude: filterList("Leave out operations with one of these operationIds or tags."),
    slim: {
      type: "boolean",
      description: "Slim the input schemas: examples removed, descriptions and titles removed " +
        `below depth ${SLIM_PROSE_DEPTH} (an argument is depth 1, its properties depth 2), $defs ` +
        "used once written in place, unused ones dropped. Validation and the requests sent stay " +
        "the same. Default false.",
    },
    limits: {
      ...contextLimits(true),
      description: "The sizes the import warns over (bytes of tools/list).",
    },
  }, ["name", "spec"]),
  AuditEvent: obj({
    id: str("Event id."),
    at: time("When the change was made."),
    actor: obj({
      type: {
        enum: [...ACTOR_TYPES],
        description: "access_key: a request made with that key, acting as its holder; user: a " +
          "person signing in or joining with their password; system: Gatehouse itself " +
          "(first-run setup, GATEHOUSE_ADMIN_KEY).",
      },
      id: nullableStr(
        "The access key's or user's id; null for the system, and for a failed " +
          "sign-in as an email that is no member's.",
      ),
      userId: nullableStr("The person behind the actor; null for the system."),
      name: str("The person's email, or `system`."),
    }),
    action: { enum: [...AUDIT_ACTIONS] },
    target: obj({
      type: { enum: [...TARGET_TYPES] },
      id: nullableStr("Null only for a failed sign-in as an email that is no member's."),
      name: str("Its name (an org's slug, a person's email) at the time."),
    }),
    changes: {
      type: "object",
      description: "The fields the change touched, each with its value before (`from`) and " +
        "after (`to`); either is left out where there was none (a creation, a removal). The " +
        "parts of a gateway are named `tools.<toolId>.enabled`, `keys.<keyId>.revokedAt`, " +
        "`auth.<methodId>.order`, `servers.<serverId>.prefix`. Sign-ins carry the " +
        `\`clientAddress\`. Credentials never appear: a password or secret value that ` +
        `changed shows as "${REDACTED}", as does anything under a name that holds one ` +
        "(password, token, key, client secret, in any spelling). " +
        `A value longer than ${MAX_VALUE_CHARS} characters of JSON is shown as its size and ` +
        "SHA-256.",
      additionalProperties: {
        type: "object",
        properties: { from: {}, to: {} },
        additionalProperties: false,
      },
    },
  }),
  AuditList: pageOf("events", "AuditEvent", "newest first"),
  LogEntry: obj({
    id: str("Row id (a decimal string)."),
    at: time("When the request arrived."),
    gatewayId: str(),
    transport: { enum: ["http", "sse", "ws"] },
    protocolVersion: nullableStr(
      "The MCP version it was served under; null before one was agreed.",
    ),
    method: str("The JSON-RPC method; empty for a request refused before it was read (401)."),
    name: nullableStr("The tool or prompt name, or the resource URI, it was about."),
    caller: obj({
      id: str(
        "The credential: a gateway key's id, an OAuth grant's, `jwt:<issuer>:<subject>`, " +
          "`user:<id>` (Basic), `anonymous`; empty when refused.",
      ),
      method: str("The auth method that accepted it; empty when refused."),
      keyName: nullableStr("The gateway key's name, for key callers."),
      clientId: nullableStr("The OAuth client, for oauth2 callers."),
      subject: nullableStr("The JWT's subject, for jwt callers."),
      address: nullableStr("The client's address, for gateways without authentication."),
    }),
    sessionId: nullableStr("The MCP session, when it belonged to one."),
    status: { enum: [...REQUEST_STATUSES] },
    errorCode: { type: ["integer", "null"], description: "The JSON-RPC error code answered." },
    limit: {
      enum: ["caller", "gateway", "tool", null],
      description: "Which rate limit refused it (rate_limited only).",
    },
    durationMs: { type: "number" },
    bytesIn: { type: "integer" },
    bytesOut: { type: "integer" },
    upstream: {
      oneOf: [
        { type: "null" },
        obj({
          status: {
            type: ["integer", "null"],
            description: "The HTTP status an HTTP tool's upstream answered; null for upstream " +
              "MCP servers and for calls that got no answer.",
          },
          durationMs: { type: "number" },
          target: nullableStr("The upstream MCP server's name, or the HTTP tool's host."),
        }),
      ],
      description: "The last upstream call made for it.",
    },
    payload: {
      type: ["object", "null"],
      description: "tools/call's `arguments` and `result`, only for gateways with " +
        "configuration.logPayloads; redacted.",
    },
  }),
  LogList: pageOf("logs", "LogEntry", "newest first"),
  ToolStats: obj({
    name: str("The tool's name."),
    ...USAGE_FIGURES,
    series: { ...list(ref("StatsPoint")), description: "With `interval`: the tool's steps." },
  }, ["name", ...Object.keys(USAGE_FIGURES)]),
  StatsPoint: obj({
    at: time("Where the step starts."),
    ...Object.fromEntries(Object.entries(USAGE_FIGURES).filter(([k]) => k !== "lastCalledAt")),
  }),
  GatewayStats: obj({
    gatewayId: str(),
    since: time(
      "Where the figures start: `since` rounded down to the minute (to the hour when older " +
        "than two days).",
    ),
    until: time("Now."),
    ...USAGE_FIGURES,
    tools: { ...list(ref("ToolStats")), description: "Each tool called since then, by name." },
    interval: { enum: Object.keys(STATS_INTERVALS), description: "The step asked for." },
    series: {
      ...list(ref("StatsPoint")),
      description: "With `interval`: every step with requests since `since` (rounded down to " +
        "the step), oldest first; steps without requests are left out.",
    },
  }, ["gatewayId", "since", "until", ...Object.keys(USAGE_FIGURES), "tools"]),
};

/** Error responses by status, shared by every operation. */
const ERRORS: Record<number, [string, string]> = {
  400: [
    "BadRequest",
    `Invalid input: malformed JSON, a body nested more than ${MAX_BODY_DEPTH} levels, ` +
    "or a field with a bad value (named in error.field).",
  ],
  401: ["Unauthorized", "Missing, unknown, revoked or expired access key."],
  403: [
    "Forbidden",
    "The caller's role is too low, or X-Organization (or the path) names another organization " +
    "than the one the access key was issued in.",
  ],
  404: [
    "NotFound",
    "No such resource in the caller's organization (resources of other organizations are " +
    "reported exactly like missing ones).",
  ],
  408: [
    "RequestTimeout",
    "The request body did not arrive in time (GATEHOUSE_BODY_TIMEOUT_SECONDS, 30 by default).",
  ],
  409: ["Conflict", "The value is taken (error.field), or the change would leave no owner."],
  413: ["PayloadTooLarge", "The request body is over the size limit (1 MiB by default)."],
  415: ["UnsupportedMediaType", "The request body is not declared as JSON."],
  422: [
    "ImportLimitExceeded",
    "The document did not import within the time an import may take " +
    "(GATEHOUSE_IMPORT_TIMEOUT_SECONDS, 120 by default) or the memory it may use " +
    "(GATEHOUSE_IMPORT_MEMORY_MB, 2048); nothing was stored.",
  ],
  429: [
    "TooManyRequests",
    "Too many failed attempts, or too many imports in progress in the organization; wait the " +
    "seconds in Retry-After.",
  ],
  500: [
    "InternalError",
    "The server failed (an import's worker stopped unexpectedly: `import_failed`); nothing " +
    "was stored.",
  ],
  503: [
    "Unavailable",
    "The request body could not be read (the connection closed or the server is stopping). " +
    "Nothing was written; the request may be sent again.",
  ],
};

/** What one operation does and answers. */
interface Op {
  summary: string;
  tag: string;
  description?: string;
  /** Request body schema name. */
  body?: string;
  /** Success status and response schema name (undefined: no body). */
  ok: [number, string | undefined];
  /** Other success answers: status, schema name and what it means. */
  more?: [number, string, string][];
  /** Error statuses beyond the ones every operation of its kind has. */
  errors?: number[];
  /** Health and discovery routes need no key. */
  open?: boolean;
  /**
   * The success body is text of this media type rather than JSON (`ok`'s
   * schema name is then unused), and the route is instance-wide: no
   * `X-Organization`.
   */
  text?: string;
  /** Query parameters. */
  query?: Json[];
  /** Header parameters (besides X-Organization). */
  headers?: Json[];
}

/** What the import operations say about how imports run. */
const IMPORT_NOTE = "The document is parsed and converted in a worker thread (server-wide, a " +
  "few at once: GATEHOUSE_IMPORT_CONCURRENCY), then stored in one transaction. A document " +
  "that no operation could make importable (no server and no baseUrl, an unsupported " +
  "version, too many operations) is refused before the expensive steps. An organization " +
  `has at most ${MAX_PENDING_PER_ORG} imports queued or running; more are 429.`;

const ACCEPTED = "Accepted (async): the import runs on; the job, also at the Location header's " +
  "`/apis/imports/{id}`. Every error but those of reading the request (401, 403, 404, 408, " +
  "413, 415, 429) is then the job's.";

const ASYNC_PARAM: Json = {
  name: "async",
  in: "query",
  required: false,
  description: "true: answer 202 with an import job at once instead of waiting for the result.",
  schema: { type: "string", enum: ["true", "false"] },
};

const DRY_RUN_PARAM: Json = {
  name: "dryRun",
  in: "query",
  required: false,
  description: "true: convert the document and answer what the import would make (the " +
    "operations with their tags, the context cost and the warnings), storing nothing. Not " +
    "with `async`.",
  schema: { type: "string", enum: ["true", "false"] },
};

const PREFER_HEADER: Json = {
  name: "Prefer",
  in: "header",
  required: false,
  description: "`respond-async` (RFC 7240) does what `async=true` does (and the answer says " +
    "`Preference-Applied: respond-async`); `async` wins when both are sent.",
  schema: { type: "string" },
};

const orgHeader = {
  name: "X-Organization",
  in: "header",
  required: false,
  description: "Optional: the slug of the organization the access key was issued in (the " +
    "only one it acts in); any other is refused with 403.",
  schema: { type: "string" },
};

function operation(path: string, op: Op): Json {
  const params: Json[] = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const statuses = new Set(op.errors ?? []);
  if (!op.open) [401, 403].forEach((s) => statuses.add(s));
  if (op.body) [400, 408, 413, 415, 503].forEach((s) => statuses.add(s));
  if (op.query) statuses.add(400);
  if (params.length > 0) statuses.add(404);
  const responses: Json = {
    [op.ok[0]]: op.text
      ? { description: "Success.", content: { [op.text]: { schema: { type: "string" } } } }
      : op.ok[1]
      ? { description: "Success.", content: json(ref(op.ok[1])) }
      : { description: "Success, no content." },
  };
  for (const [status, schema, description] of op.more ?? []) {
    responses[status] = { description, content: json(ref(schema)) };
  }
  for (const s of [...statuses].sort()) {
    responses[s] = { $ref: `#/components/responses/${ERRORS[s][0]}` };
  }
  const out: Json = {
    operationId: `${op.tag}.${op.summary}`.replace(/[^A-Za-z0-9.]+/g, "_"),
    summary: op.summary,
    tags: [op.tag],
    parameters: [
      ...params,
      ...(op.query ?? []),
      ...(op.headers ?? []),
      ...(op.open || op.text ? [] : [orgHeader]),
    ],
    responses,
  };
  if (op.description) out.description = op.description;
  if (op.body) out.requestBody = { required: true, content: json(ref(op.body)) };
  if (op.open) out.security = [];
  return out;
}

const queryParam = (name: string, description: string, schema: Json): Json => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

/** `limit` and `cursor`, which every paged list takes. */
const PAGING: Json[] = [
  queryParam("limit", `Items per page, ${DEFAULT_LIMIT} unless given.`, {
    type: "integer",
    minimum: 1,
    maximum: MAX_LIMIT,
    default: DEFAULT_LIMIT,
  }),
  queryParam(
    "cursor",
    "`nextCursor` of the previous page, as it came (opaque). Taken only by the list that " +
      "gave it out, in the same organization and with the same filters; anything else is a " +
      "400 naming `cursor`.",
    { type: "string", minLength: 1 },
  ),
];

/** The filters of `GET /audit`. */
const AUDIT_QUERY: Json[] = Object.entries(AUDIT_FILTERS).map(([name, description]) =>
  queryParam(
    name,
    description,
    name === "targetType"
      ? { enum: [...TARGET_TYPES] }
      : name === "since" || name === "until"
      ? { type: "string", format: "date-time" }
      : { type: "string", minLength: 1, maxLength: MAX_FILTER_LENGTH },
  )
);

/** The filters of `GET /tools`. */
const TOOL_QUERY: Json[] = Object.entries(TOOL_FILTERS).map(([name, description]) =>
  queryParam(
    name,
    description,
    name === "type"
      ? { enum: [...LISTED_TOOL_TYPES] }
      : { type: "string", minLength: 1, maxLength: MAX_FILTER_LENGTH },
  )
);

/** The filters of `GET /logs`. */
const LOG_QUERY: Json[] = Object.entries(LOG_FILTERS).map(([name, description]) =>
  queryParam(
    name,
    description,
    name === "status"
      ? { enum: [...REQUEST_STATUSES] }
      : name === "since" || name === "until"
      ? { type: "string", format: "date-time" }
      : { type: "string", minLength: 1, maxLength: MAX_FILTER_LENGTH },
  )
);

const FORMAT_PARAM: Json = queryParam(
  "format",
  "json (pages, the default), csv or ndjson (every matching row, streamed).",
  { enum: [...LOG_FORMATS] },
);

const PAGING_NOTE = "A page at a time: `nextCursor` is the `cursor` of the next page (null " +
  "on the last). Unknown query parameters are a 400 naming them.";

const ROLE_NOTE = "Viewers may read only; writes need the member role or higher.";
const STDIO_NOTE = ROLE_NOTE + " A stdio server runs a command on the Gatehouse host, so " +
  "creating, changing, refreshing or deleting one needs the admin role, and creating one is " +
  "refused (403) when GATEHOUSE_ALLOW_STDIO=0.";

/** Every route: path (OpenAPI template) -> method -> operation. */
const ROUTES: Record<string, Record<string, Op>> = {
  "/healthz": {
    get: { summary: "Liveness", tag: "health", ok: [200, "Health"], open: true },
  },
  "/readyz": {
    get: {
      summary: "Readiness (the database answers)",
      tag: "health",
      ok: [200, "Health"],
      open: true,
      description: "503 with the same body when the database is unreachable.",
    },
  },
  "/openapi.json": {
    get: { summary: "This document", tag: "health", ok: [200, "OpenApiDocument"], open: true },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics",
      tag: "health",
      description: "The Prometheus text exposition format (version 0.0.4) of MCP requests, " +
        "tool calls, upstream calls, sessions, rate limits and the process. Takes the " +
        "GATEHOUSE_METRICS_TOKEN or an owner's or admin's access key: of the default " +
        "organization (the instance's operators), everything; of another organization, that " +
        "organization's gateways only. Members and viewers get 403. Absent (404) when " +
        "GATEHOUSE_METRICS=off.",
      ok: [200, undefined],
      text: "text/plain; version=0.0.4; charset=utf-8",
    },
  },
  "/login": {
    post: {
      summary: "Sign in for an access key",
      tag: "me",
      description: "A member's email and password give an access key acting in one of their " +
        "organizations (a key acts only where it was issued). Failed attempts are limited per " +
        "account and address together, per address, and per account (429 with Retry-After).",
      body: "Login",
      ok: [201, "LoggedIn"],
      errors: [401, 429],
      open: true,
    },
  },
  "/invitations/accept": {
    post: {
      summary: "Accept an invitation",
      tag: "members",
      description: "Joins the invitation's organization with the invitation's role and " +
        "answers a first access key there. A new account is created with the given password; " +
        "an existing account must be proven with its password or one of its access keys " +
        "(Authorization: Bearer), so holding the token alone never acts as anyone.",
      body: "InvitationAccept",
      ok: [201, "Joined"],
      errors: [401, 403, 409, 429],
      open: true,
    },
  },
  "/orgs": {
    post: {
      summary: "Create an organization",
      tag: "orgs",
      description: "Any authenticated user may create one and becomes its owner. The answer " +
        "carries an access key for the new organization, shown once.",
      body: "OrgCreate",
      ok: [201, "OrgCreated"],
      errors: [409],
    },
    get: { summary: "List my organizations", tag: "orgs", ok: [200, "OrgList"] },
  },
  "/orgs/{slug}": {
    get: { summary: "Get an organization", tag: "orgs", ok: [200, "Org"] },
    patch: {
      summary: "Change organization settings",
      tag: "orgs",
      description: "Owners and admins. `settings.outbound` decides which address ranges tools " +
        "may reach; settings not given keep their value.",
      body: "OrgUpdate",
      ok: [200, "Org"],
    },
  },
  "/orgs/{slug}/members": {
    get: { summary: "List members", tag: "members", ok: [200, "MemberList"] },
    post: {
      summary: "Invite a member",
      tag: "members",
      description: "Admins and owners; only owners invite owners. The person becomes a member " +
        "when they accept (POST /invitations/accept); inviting the same email again replaces " +
        "the pending invitation. 409 when they are a member already.",
      body: "MemberCreate",
      ok: [201, "InvitationWithToken"],
      errors: [409],
    },
  },
  "/orgs/{slug}/invitations": {
    get: {
      summary: "List pending invitations",
      tag: "members",
      description: "Admins and owners. Tokens are never listed.",
      ok: [200, "InvitationList"],
    },
  },
  "/orgs/{slug}/invitations/{id}": {
    delete: {
      summary: "Withdraw an invitation",
      tag: "members",
      description: "Admins and owners; only owners withdraw an owner's invitation.",
      ok: [204, undefined],
    },
  },
  "/me": {
    get: {
      summary: "Who I am",
      tag: "me",
      description: "The caller: their account, the organization the access key acts in, " +
        "their role there, the key itself (without its value) and whether the account has a " +
        "password. Any role.",
      ok: [200, "Me"],
    },
  },
  "/me/password": {
    put: {
      summary: "Set my password",
      tag: "me",
      description: "Sets the caller's password, used with POST /login, on gateways' OAuth " +
        "login pages and by `basic` gateway auth. Any role. Stored as a scrypt hash. Changing " +
        "an existing password needs `currentPassword` (a key acts in one organization; the " +
        "password works in all of the account's).",
      body: "PasswordSet",
      ok: [204, undefined],
    },
  },
  "/orgs/{slug}/members/{userId}": {
    patch: {
      summary: "Change a member's role",
      tag: "members",
      description: "Admins and owners; only owners grant or take away the owner role. " +
        "Demoting the last owner is a 409.",
      body: "MemberUpdate",
      ok: [200, "Member"],
      errors: [409],
    },
    delete: {
      summary: "Remove a member",
      tag: "members",
      description: "Admins and owners; only owners remove owners. Removing the last owner is " +
        "a 409. The member's access keys in this organization are deleted.",
      ok: [204, undefined],
      errors: [409],
    },
  },
  "/keys": {
    post: {
      summary: "Issue an access key",
      tag: "keys",
      description: "The raw key is in this response only. " + ROLE_NOTE +
        " A key is issued to its caller only and acts in the caller's organization only; " +
        "other members get theirs with POST /login or by accepting their invitation.",
      body: "AccessKeyCreate",
      ok: [201, "AccessKeyWithValue"],
    },
    get: {
      summary: "List access keys",
      tag: "keys",
      description: "Admins and owners see every key of the organization, others their own. " +
        "Values are never listed.",
      ok: [200, "AccessKeyList"],
    },
  },
  "/keys/{id}": {
    get: { summary: "Get an access key", tag: "keys", ok: [200, "AccessKey"] },
    delete: {
      summary: "Revoke an access key",
      tag: "keys",
      description: "Answers the revoked key. Others' keys need admin (owner for an owner's).",
      ok: [200, "AccessKey"],
    },
  },
  "/gateways": {
    post: {
      summary: "Create a gateway",
      tag: "gateways",
      description: ROLE_NOTE,
      body: "GatewayCreate",
      ok: [201, "Gateway"],
      errors: [409],
    },
    get: {
      summary: "List gateways",
      tag: "gateways",
      description: PAGING_NOTE + " Oldest first.",
      query: PAGING,
      ok: [200, "GatewayList"],
    },
  },
  "/gateways/{id}": {
    get: { summary: "Get a gateway", tag: "gateways", ok: [200, "Gateway"] },
    patch: {
      summary: "Update a gateway",
      tag: "gateways",
      description: "Changes the fields given; configuration is merged.",
      body: "GatewayUpdate",
      ok: [200, "Gateway"],
      errors: [409],
    },
    put: {
      summary: "Replace a gateway",
      tag: "gateways",
      body: "GatewayCreate",
      ok: [200, "Gateway"],
      errors: [409],
    },
    delete: {
      summary: "Delete a gateway",
      tag: "gateways",
      description: "With its tool assignments, keys and auth methods.",
      ok: [204, undefined],
    },
  },
  "/gateways/{id}/stats": {
    get: {
      summary: "Get a gateway's usage statistics",
      tag: "gateways",
      description: "Every role. From the request log's rollup: the gateway's requests and, " +
        "per tool, its calls, failures, error rate, estimated p50 and p95 durations and last " +
        "call, since `since` (default: 24 hours ago). Fast at any size of the log. With " +
        "`interval`, the same figures per minute or per hour too (`series`, and each tool's), " +
        `for charts: minutes for the last two days, at most ${MAX_SERIES_STEPS} steps.`,
      query: [
        queryParam("since", "Figures from this ISO-8601 time on; not in the future.", {
          type: "string",
          format: "date-time",
        }),
        queryParam("interval", "minute or hour: add the figures step by step.", {
          enum: Object.keys(STATS_INTERVALS),
        }),
      ],
      ok: [200, "GatewayStats"],
    },
  },
  "/gateways/{id}/call": {
    post: {
      summary: "Call a tool through a gateway as yourself",
      tag: "gateways",
      description: "Members and up (viewers are refused: a call runs a tool). Runs one " +
        "`tools/call` through the gateway's MCP path as the member the access key belongs " +
        "to, without a gateway key (the admin UI's try it): the tools the gateway serves, " +
        "its rate limits and its request log apply as for an MCP client, and the record " +
        "names the member (caller `user:<id>`, method `access_key`, the email as subject). " +
        "The gateway's auth methods are not asked. The answer is the JSON-RPC response, with " +
        "the status the Streamable HTTP transport would give it: 429 with Retry-After for " +
        "the caller's or the gateway's limit; a tool's own limit is its error result, as MCP " +
        "gives it.",
      body: "MemberToolCall",
      ok: [200, "McpAnswer"],
      more: [[429, "McpAnswer", "A caller or gateway limit refused the call (Retry-After)."]],
    },
  },
  "/gateways/{id}/tools": {
    post: {
      summary: "Assign tools",
      tag: "assignments",
      description: "Answers every assignment of the gateway. A tool id unknown in the " +
        "organization is a 404 naming the field.",
      body: "AssignTools",
      ok: [201, "Assignments"],
    },
    get: {
      summary: "List assigned tools",
      tag: "assignments",
      description: PAGING_NOTE + " By tool name, enabled or not.",
      query: PAGING,
      ok: [200, "AssignmentList"],
    },
  },
  "/gateways/{id}/tools/{toolId}": {
    patch: {
      summary: "Enable or disable an assignment, or change its rate limit",
      tag: "assignments",
      body: "AssignmentUpdate",
      ok: [200, "Assignment"],
    },
    delete: { summary: "Unassign a tool", tag: "assignments", ok: [204, undefined] },
  },
  "/gateways/{id}/servers": {
    post: {
      summary: "Attach an upstream server",
      tag: "assignments",
      description: "The gateway serves every tool, prompt, resource and template of the " +
        "server, following it as it changes. Names are unique in a gateway: an attachment " +
        "whose items would take a name or URI already served is refused (409, naming both); " +
        "an item the server adds later that collides is withheld and shown in the server's " +
        "status. Attaching an attached server again changes its settings (200).",
      body: "AttachServer",
      ok: [201, "Attachment"],
      errors: [409],
    },
    get: { summary: "List attached servers", tag: "assignments", ok: [200, "AttachmentList"] },
  },
  "/gateways/{id}/servers/{serverId}": {
    get: { summary: "Get an attached server", tag: "assignments", ok: [200, "Attachment"] },
    delete: { summary: "Detach a server", tag: "assignments", ok: [204, undefined] },
  },
  "/gateways/{id}/keys": {
    post: {
      summary: "Issue a gateway key",
      tag: "gateway keys",
      description: "For MCP clients of this gateway. The raw key is in this response only.",
      body: "GatewayKeyCreate",
      ok: [201, "GatewayKeyWithValue"],
    },
    get: { summary: "List gateway keys", tag: "gateway keys", ok: [200, "GatewayKeyList"] },
  },
  "/gateways/{id}/keys/{keyId}": {
    patch: {
      summary: "Change a gateway key's rate limit",
      tag: "gateway keys",
      description: "Sets the key's own limit (null removes it); applies to its next request.",
      body: "GatewayKeyUpdate",
      ok: [200, "GatewayKey"],
    },
    delete: {
      summary: "Revoke a gateway key",
      tag: "gateway keys",
      description: "Answers the revoked key.",
      ok: [200, "GatewayKey"],
    },
  },
  "/gateways/{id}/auth": {
    post: {
      summary: "Add an auth method",
      tag: "auth methods",
      description: "A gateway with no auth method refuses every MCP request; `none` must be " +
        "added explicitly. One method of each type per gateway except jwt (409).",
      body: "AuthMethodCreate",
      ok: [201, "AuthMethod"],
      errors: [409],
    },
    get: { summary: "List auth methods", tag: "auth methods", ok: [200, "AuthMethodList"] },
  },
  "/gateways/{id}/auth/{methodId}": {
    patch: {
      summary: "Change an auth method",
      tag: "auth methods",
      description: "Changes the fields given: order, required, validationRules (null removes " +
        "them), configuration (whole). The type cannot change. Applies to the next request.",
      body: "AuthMethodUpdate",
      ok: [200, "AuthMethod"],
    },
    delete: { summary: "Remove an auth method", tag: "auth methods", ok: [204, undefined] },
  },
  "/secrets": {
    post: {
      summary: "Create a secret",
      tag: "secrets",
      description: ROLE_NOTE + " Names are unique in the organization (409). The value is " +
        "encrypted and never returned.",
      body: "SecretCreate",
      ok: [201, "Secret"],
      errors: [409],
    },
    get: {
      summary: "List secrets",
      tag: "secrets",
      description: "Metadata only; values are never listed.",
      ok: [200, "SecretList"],
    },
  },
  "/secrets/{id}": {
    get: { summary: "Get a secret", tag: "secrets", ok: [200, "Secret"] },
    patch: {
      summary: "Update a secret",
      tag: "secrets",
      description: "Changes the fields given; a value replaces the old one whole.",
      body: "SecretUpdate",
      ok: [200, "Secret"],
      errors: [409],
    },
    put: {
      summary: "Replace a secret",
      tag: "secrets",
      body: "SecretCreate",
      ok: [200, "Secret"],
      errors: [409],
    },
    delete: {
      summary: "Delete a secret",
      tag: "secrets",
      description: "Tools that name it fail with a message naming it until it is added again.",
      ok: [204, undefined],
    },
  },
  "/servers": {
    post: {
      summary: "Add an upstream MCP server",
      tag: "servers",
      description: STDIO_NOTE + " Names are unique in the organization (409). Answers at " +
        "once, usually with state `connecting`; the status follows.",
      body: "ServerCreate",
      ok: [201, "Server"],
      errors: [409],
    },
    get: {
      summary: "List upstream servers",
      tag: "servers",
      description: PAGING_NOTE + " By name.",
      query: PAGING,
      ok: [200, "ServerList"],
    },
  },
  "/servers/{id}": {
    get: { summary: "Get an upstream server", tag: "servers", ok: [200, "Server"] },
    patch: {
      summary: "Update an upstream server",
      tag: "servers",
      description: "Changes the fields given (null removes an optional one) and reconnects.",
      body: "ServerUpdate",
      ok: [200, "Server"],
      errors: [409],
    },
    put: {
      summary: "Replace an upstream server",
      tag: "servers",
      description: "Reconnects with the new settings.",
      body: "ServerCreate",
      ok: [200, "Server"],
      errors: [409],
    },
    delete: {
      summary: "Delete an upstream server",
      tag: "servers",
      description: "Ends its connection; a stdio server's process and its children have ended " +
        "when this answers.",
      ok: [204, undefined],
    },
  },
  "/servers/{id}/refresh": {
    post: {
      summary: "Refresh an upstream server",
      tag: "servers",
      description: "Lists its tools, resources and prompts again (connecting first when it is " +
        "not connected) and answers once done.",
      ok: [200, "Server"],
    },
  },
  "/servers/{id}/changes": {
    get: {
      summary: "Held changes of a server's tools and prompts",
      tag: "servers",
      description: "With `onChange: hold`, a changed definition of a tool or prompt already " +
        "seen waits here, with a field-by-field diff, until an admin approves it.",
      ok: [200, "ServerChangeList"],
    },
  },
  "/servers/{id}/changes/{changeId}/approve": {
    post: {
      summary: "Approve a held change",
      tag: "servers",
      description: "Admins and owners. The gateways serving the server serve the new " +
        "definition from now on (their sessions get list_changed).",
      ok: [200, "ServerChangeApproval"],
    },
  },
  "/servers/{id}/items": {
    get: {
      summary: "What a server lists besides tools",
      tag: "servers",
      description: "Its resources, resource templates and prompts as last listed, oldest " +
        "first (its tools are at `GET /tools?serverId=`). A prompt with a held change is " +
        "shown as it is served until the change is approved.",
      ok: [200, "ServerItems"],
    },
  },
  "/servers/{id}/logs": {
    get: {
      summary: "A stdio server's stderr",
      tag: "servers",
      description: "The last 500 lines (at most 64 KiB), secrets redacted; empty for HTTP " +
        "servers.",
      ok: [200, "ServerLogs"],
    },
  },
  "/audit": {
    get: {
      summary: "List audit events",
      tag: "audit",
      description: PAGING_NOTE + " Owners and admins only (events show every member's email, " +
        "what they did and where they signed in from). Newest first. Every management change " +
        "is recorded in the transaction that makes it, with its time, actor, action, target " +
        "and changed fields, credentials left out; so are sign-ins, failed ones included (not " +
        "the refusals of a locked-out caller). Events are never changed or deleted: no route " +
        "does either. Filters combine (all must hold) and are sent again with every page.",
      query: [...PAGING, ...AUDIT_QUERY],
      ok: [200, "AuditList"],
    },
  },
  "/logs": {
    get: {
      summary: "List logged MCP requests",
      tag: "logs",
      description: PAGING_NOTE + " Owners and admins only (rows name every caller and, for " +
        "gateways that log payloads, hold users' data). Newest first. One row per MCP " +
        "request on every transport, written within a second (the writer flushes before " +
        "this reads). `format=csv` or `format=ndjson` answers every matching row instead " +
        "(`text/csv` with a header row, or one JSON object a line), streamed; exports take " +
        "no `limit`. CSV text cells that start with = + - @ get a leading `'`. Filters " +
        "combine (all must hold) and are sent again with every page.",
      query: [...PAGING, ...LOG_QUERY, FORMAT_PARAM],
      ok: [200, "LogList"],
    },
  },
  "/tools": {
    post: {
      summary: "Create a tool",
      tag: "tools",
      description: ROLE_NOTE + " Names are unique in the organization (409).",
      body: "ToolCreate",
      ok: [201, "Tool"],
      errors: [409],
    },
    get: {
      summary: "List tools",
      tag: "tools",
      description: PAGING_NOTE + " By name (then id: a server's tool may share a name with " +
        "another). Filters combine (all must hold) and are sent again with every page.",
      query: [...PAGING, ...TOOL_QUERY],
      ok: [200, "ToolList"],
    },
  },
  "/tools/{id}": {
    get: { summary: "Get a tool", tag: "tools", ok: [200, "Tool"] },
    patch: {
      summary: "Update a tool",
      tag: "tools",
      description: "Changes the fields given; null removes an optional one. The result is " +
        "validated as a whole.",
      body: "ToolUpdate",
      ok: [200, "Tool"],
      errors: [409],
    },
    put: {
      summary: "Replace a tool",
      tag: "tools",
      body: "ToolCreate",
      ok: [200, "Tool"],
      errors: [409],
    },
    delete: {
      summary: "Delete a tool",
      tag: "tools",
      description: "Also unassigns it from every gateway.",
      ok: [204, undefined],
    },
  },
  "/apis": {
    post: {
      summary: "Import an OpenAPI document",
      tag: "apis",
      description: ROLE_NOTE + " Every operation becomes an `http` tool (name from the " +
        "operationId, else method and path; unique in the organization, at most 64 " +
        "characters). Arguments: the parameters, plus `body` for the request body. All or " +
        "nothing: a document that cannot be used is a 400 naming `spec` (or `baseUrl`) with " +
        "the parser's reasons. Bodies up to 64 MiB (GATEHOUSE_IMPORT_MAX_BODY_BYTES). " +
        IMPORT_NOTE,
      body: "ApiImport",
      query: [ASYNC_PARAM, DRY_RUN_PARAM],
      headers: [PREFER_HEADER],
      ok: [201, "ApiImportResult"],
      more: [
        [202, "ImportJob", ACCEPTED],
        [
          200,
          "ImportPreview",
          "A dry run (`dryRun=true`): what the import would make; nothing is stored.",
        ],
      ],
      errors: [409, 422, 429, 500],
    },
    get: {
      summary: "List imported APIs",
      tag: "apis",
      description: PAGING_NOTE + " By name.",
      query: PAGING,
      ok: [200, "ApiList"],
    },
  },
  "/apis/imports/{id}": {
    get: {
      summary: "Get an import job",
      tag: "apis",
      description: "An import asked for with `async=true` (or `Prefer: respond-async`): its " +
        "state and progress while it runs, then its result or error, for " +
        `${JOB_TTL_MS / 60_000} minutes after it ended (jobs live in memory: a restart ` +
        "forgets them). Jobs of another organization are not found.",
      ok: [200, "ImportJob"],
    },
  },
  "/apis/{id}": {
    get: { summary: "Get an imported API with its tools", tag: "apis", ok: [200, "ApiDetail"] },
    put: {
      summary: "Re-import an API",
      tag: "apis",
      description: "Same body as an import; replaces the API's tools in one transaction. Tools " +
        "of operations still in the document (same operationId, else same method and path) " +
        "keep their id, name and gateway assignments; hand edits to them are overwritten. " +
        IMPORT_NOTE,
      body: "ApiImport",
      query: [ASYNC_PARAM, DRY_RUN_PARAM],
      headers: [PREFER_HEADER],
      ok: [200, "ReimportAnswer"],
      more: [[202, "ImportJob", ACCEPTED]],
      errors: [409, 422, 429, 500],
    },
    delete: {
      summary: "Delete an imported API",
      tag: "apis",
      description: "With all of its tools and their gateway assignments.",
      ok: [204, undefined],
    },
  },
};

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Json = {};
  for (const [path, methods] of Object.entries(ROUTES)) {
    paths[path] = Object.fromEntries(
      Object.entries(methods).map(([method, op]) => [method, operation(path, op)]),
    );
  }
  const responses: Json = {};
  for (const [name, description] of Object.values(ERRORS)) {
    responses[name] = { description, content: json(ref("Error")) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Gatehouse management API",
      version: "0.1.0",
      description:
        "Manage organizations, members, access keys, secrets, tools, upstream MCP servers and " +
        "MCP gateways. " +
        "Every request needs `Authorization: Bearer <access key>`; errors are " +
        '`{"error": {"code", "message", "field"?}}`.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "A management access key (`gha_...`).",
        },
      },
      schemas: SCHEMAS,
      responses,
    },
  };
}
