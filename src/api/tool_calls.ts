/**
 * `POST /gateways/{id}/call {name, arguments?}`: one `tools/call` through a
 * gateway's MCP path as the member the access key belongs to (the admin
 * UI's "try it" without a gateway key). The protocol core answers it as it
 * answers an MCP client: the tools the gateway serves under the names it
 * serves them, its rate limits, its request log. The answer is the
 * JSON-RPC response MCP gives, with the HTTP status the Streamable HTTP
 * transport would send it with.
 *
 * The caller is the member, not a credential of the gateway: its auth
 * methods are not asked (members manage the gateway anyway, keys
 * included), the record names the member (`user:<id>`, their email as
 * `subject`, method `access_key`), and per-caller limits count them as
 * they count the same member's Basic sign-ins. Viewers are refused (a call
 * runs a tool, which may change things), other organizations' gateways are
 * not found, and a revoked or expired key is a 401 like everywhere else.
 *
 * @module
 */
import { Hono } from "hono";
import { ALL_SCOPES } from "../auth/scopes.ts";
import type { Exchange } from "../mcp/dispatcher.ts";
import { utf8Length } from "../util/json.ts";
import { LATEST_LEGACY } from "../mcp/versions.ts";
import { userPrincipalId } from "../store/changes.ts";
import type { CallerIdentity, Observation } from "../telemetry/requests.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { notFound } from "./errors.ts";
import { onlyFields, optionalObject, string } from "./validate.ts";

/** The method a member's calls are recorded under: the access key accepted them. */
const MEMBER_CALL_METHOD = "access_key";

/** The `/gateways/{id}/call` route, mounted beside the gateway routes. */
export function toolCallRoutes({ store, mcp }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.post("/:id/call", async (c) => {
    const p = c.get("principal");
    const gw = await store.gateways.get(p.org.id, c.req.param("id"));
    if (!gw) throw notFound("gateway");
    const body = await readJson(c);
    onlyFields(body, ["name", "arguments"]);
    const name = string(body, "name", { max: 1024 });
    const args = optionalObject(body, "arguments") ?? {};

    const caller: CallerIdentity = {
      id: userPrincipalId(p.user.id),
      method: MEMBER_CALL_METHOD,
      subject: p.user.email,
    };
    const observe: Observation = { orgId: gw.orgId, transport: "http", caller };
    if (gw.configuration.logPayloads === true) observe.logPayloads = true;
    const exchange: Exchange = {
      gateway: { id: gw.id, name: gw.name, description: gw.description },
      caller: { scopes: ALL_SCOPES, limitKey: caller.id },
      session: mcp.sessions.oneShot(
        { gatewayId: gw.id, principalId: caller.id },
        LATEST_LEGACY,
        "info",
      ),
      // No channel back: a tool that asks the client something is told it cannot.
      emit: () => false,
      signal: c.req.raw.signal,
      observe,
    };
    const message = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args },
    };
    const outcome = await mcp.dispatcher.handle(
      message,
      exchange,
      utf8Length(JSON.stringify(body)),
    );
    for (const [k, v] of Object.entries(outcome.headers ?? {})) c.header(k, v);
    // Only a call cancelled by the caller going away has no response: nobody reads this one.
    if (!outcome.response) return c.body(null, 204);
    return c.json(outcome.response, outcome.status as 200);
  });

  return app;
}
