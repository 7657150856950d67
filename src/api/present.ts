/**
 * How stored records are shown by the API: camelCase JSON, never a hash or
 * secret, gateways with their MCP URLs and client configurations.
 *
 * @module
 */
import type { Api, ApiTool } from "../store/apis.ts";
import type { Gateway } from "../store/gateways.ts";
import { clientConfigs } from "./client_configs.ts";
import type { Invitation } from "../store/invitations.ts";
import type { AccessKey, GatewayKey } from "../store/keys.ts";
import type { Org } from "../store/orgs.ts";
import type { SecretInfo } from "../store/secrets.ts";
import type { UpstreamServer } from "../store/servers.ts";
import type { ServerStatus } from "../upstream/supervisor.ts";
import { outboundPolicyOf } from "../tools/outbound_policy.ts";
import type { Assignment, Tool } from "../store/tools.ts";

/** The three MCP URLs of a gateway. */
export interface GatewayUrls {
  http: string;
  sse: string;
  websocket: string;
}

/** The MCP URLs of `gateway` in `org`, under `baseUrl` (no trailing slash). */
export function gatewayUrls(baseUrl: string, org: Org, gateway: Gateway): GatewayUrls {
  const http = `${baseUrl}/mcp/${org.slug}${gateway.endpoint}`;
  return { http, sse: `${http}/sse`, websocket: `${http.replace(/^http/, "ws")}/ws` };
}

/**
 * A gateway as the API returns it, with its URLs and ready-to-paste client
 * configurations for the credential its auth methods (types, in the order
 * they are tried) accept.
 */
export function presentGateway(
  baseUrl: string,
  org: Org,
  gateway: Gateway,
  methodTypes: readonly string[],
) {
  const urls = gatewayUrls(baseUrl, org, gateway);
  return {
    id: gateway.id,
    name: gateway.name,
    description: gateway.description,
    type: gateway.type,
    endpoint: gateway.endpoint,
    configuration: gateway.configuration,
    org: org.slug,
    urls,
    clients: clientConfigs({
      id: gateway.id,
      name: gateway.endpoint.slice(1).replace(/\//g, "-"),
      urls,
      transport: gateway.configuration.transport,
      methodTypes,
    }),
    createdAt: gateway.createdAt,
    updatedAt: gateway.updatedAt,
  };
}

/** A tool as the API returns it. */
export function presentTool(tool: Tool) {
  const { orgId: _orgId, ...rest } = tool;
  return rest;
}

/** A gateway's tool assignment as the API returns it. */
export function presentAssignment(a: Assignment) {
  return {
    toolId: a.tool.id,
    name: a.tool.name,
    enabled: a.enabled,
    rateLimit: a.rateLimit,
    assignedAt: a.assignedAt,
    tool: presentTool(a.tool),
  };
}

/** An access key without its value. */
export function presentAccessKey(key: AccessKey) {
  const { orgId: _orgId, ...rest } = key;
  return rest;
}

/** A pending invitation, without its token; `expired` once it can no longer be accepted. */
export function presentInvitation(inv: Invitation) {
  const { orgId: _orgId, ...rest } = inv;
  return { ...rest, status: Date.parse(inv.expiresAt) > Date.now() ? "invited" : "expired" };
}

/** A gateway key without its value. */
export function presentGatewayKey(key: GatewayKey) {
  return key;
}

/**
 * An org, with the caller's role when known and its effective settings
 * (stored values over the defaults, so the answer shows what applies).
 */
export function presentOrg(org: Org, role?: string) {
  const shown = { ...org, settings: { outbound: outboundPolicyOf(org.settings) } };
  return role ? { ...shown, role } : shown;
}

/** A secret's metadata: never its value, in any form. */
export function presentSecret(s: SecretInfo) {
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    description: s.description,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** An upstream server with its live status (which never holds a secret value). */
export function presentServer(
  server: UpstreamServer,
  status: ServerStatus & Record<string, unknown>,
) {
  const { orgId: _orgId, createdAt, updatedAt, ...settings } = server;
  return { ...settings, status, createdAt, updatedAt };
}

/** An imported API as the API returns it, with its number of tools. */
export function presentApi(api: Api, toolCount: number) {
  const { orgId: _orgId, ...rest } = api;
  return { ...rest, toolCount };
}

/** One of an imported API's tools as listed with it. */
export function presentApiTool(t: ApiTool) {
  const space = t.route.indexOf(" ");
  return {
    id: t.id,
    name: t.name,
    operationId: t.operationId,
    method: t.route.slice(0, space),
    path: t.route.slice(space + 1),
  };
}
