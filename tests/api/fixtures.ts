/**
 * Shared set-up for the management API tests: request bodies that are valid,
 * callers with a given role, and a second organization that shares nothing
 * with the first.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { FALLBACK_PATHS } from "../../src/oauth/fallback.ts";
import {
  apiCall,
  type ApiResponse,
  keyIn,
  startTestServer,
  type TestServer,
} from "../helpers/server.ts";
import { openTestStore } from "../helpers/database.ts";

/**
 * A JSON value as tests read it. Loosely typed on purpose: the assertions,
 * not the compiler, check response shapes here.
 */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** A parsed API response with a loosely typed body. */
export interface Res extends ApiResponse {
  body: Json;
}

/** A request as one caller: `(method, path, body?)`. */
export type Call = (method: string, path: string, body?: unknown) => Promise<Res>;

/** Runs `fn` against a fresh in-process server and always closes it. */
export async function withServer(
  fn: (s: TestServer) => Promise<void>,
  overrides: Parameters<typeof startTestServer>[0] = {},
): Promise<void> {
  const s = await startTestServer(overrides);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/**
 * Calls `s` with `key`. With `org`, calls as the admin key's user acting in
 * that organization, with a key issued there (`X-Organization` names it too).
 */
export function client(s: TestServer, key: string, org?: string): Call {
  if (org === undefined) return (method, path, body) => apiCall(s.url, key, method, path, body);
  const headers = { "x-organization": org };
  return async (method, path, body) =>
    apiCall(s.url, key === s.adminKey ? await keyIn(s, org) : key, method, path, body, headers);
}

/** Asserts the status, showing the body when it differs, and returns the response. */
export function expectStatus(res: ApiResponse, status: number): Res {
  assert.equal(
    res.status,
    status,
    `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`,
  );
  return res;
}

/** Asserts an error response: status, the error shape, and the field when given. */
export function expectError(res: ApiResponse, status: number, field?: string): void {
  expectStatus(res, status);
  assert.equal(typeof res.body.error?.code, "string");
  assert.equal(typeof res.body.error?.message, "string");
  if (field !== undefined) assert.equal(res.body.error?.field, field, res.body.error?.message);
}

/** POSTs `body` to `path`, expects 201 and returns the created object. */
export async function create(call: Call, path: string, body: unknown): Promise<Json> {
  return expectStatus(await call("POST", path, body), 201).body;
}

/** A gateway body in the seed document's shape. */
export function gatewayBody(endpoint: string, extra: Record<string, unknown> = {}) {
  return {
    name: `Gateway ${endpoint}`,
    type: "mcp",
    endpoint,
    configuration: { transport: "http" },
    ...extra,
  };
}

/** A valid `http` tool body (the seed document's `get_users`, renamed). */
export function toolBody(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    description: "Retrieve a list of users with pagination",
    inputSchema: {
      type: "object",
      properties: {
        page: { type: "integer", description: "Page number" },
        limit: { type: "integer", description: "Items per page" },
      },
      required: [],
    },
    type: "http",
    executionConfig: {
      method: "GET",
      url: "https://api.example.com/users",
      queryParams: { page: "{{parameters.page}}", limit: "{{parameters.limit}}" },
    },
    ...extra,
  };
}

/** The password {@link join} gives new accounts. */
export const MEMBER_PASSWORD = "a long test password";

/**
 * Invites `email` to `slug` with `role` (by `inviter`) and accepts the
 * invitation as a new account with {@link MEMBER_PASSWORD}: the way a person
 * joins. Returns the member's id and the access key the acceptance gave them.
 */
export async function join(
  s: TestServer,
  inviter: Call,
  slug: string,
  email: string,
  role: "owner" | "admin" | "member" | "viewer",
): Promise<{ userId: string; key: string }> {
  const invitation = await create(inviter, `/orgs/${slug}/members`, { email, role });
  const accepted = expectStatus(
    await apiCall(s.url, undefined, "POST", "/invitations/accept", {
      token: invitation.token,
      password: MEMBER_PASSWORD,
    }),
    201,
  ).body;
  return { userId: accepted.member.userId, key: accepted.accessKey.key };
}

/** A new member of `slug` with `role`, invited by `owner`, with the access key they got on joining. */
export async function memberWithKey(
  s: TestServer,
  role: "owner" | "admin" | "member" | "viewer",
  slug = "default",
  owner: Call = client(s, s.adminKey, slug),
): Promise<{ userId: string; email: string; key: string; call: Call }> {
  const email = `${role}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const { userId, key } = await join(s, owner, slug, email, role);
  return { userId, email, key, call: client(s, key) };
}

/**
 * A second organization `slug` whose only member is a new owner: the default
 * org's admin creates it, hands it over and leaves, so nobody is in both.
 */
export async function separateOrg(
  s: TestServer,
  slug: string,
): Promise<{ key: string; call: Call }> {
  const admin = client(s, s.adminKey);
  const org = await create(admin, "/orgs", { name: slug.toUpperCase(), slug });
  const inOrg = client(s, org.accessKey.key as string);
  const owner = await memberWithKey(s, "owner", slug, inOrg);
  const me = (await admin("GET", "/orgs/default/members")).body.members as { userId: string }[];
  expectStatus(await inOrg("DELETE", `/orgs/${slug}/members/${me[0].userId}`), 204);
  return { key: owner.key, call: owner.call };
}

/** The ids in a list response (`{ <key>: [{id}] }`). */
export function ids(res: ApiResponse, key: string, idField = "id"): string[] {
  return (res.body[key] as Record<string, string>[]).map((x) => x[idField]);
}

/** Routes another part of the app serves and describes elsewhere (MCP, OAuth endpoints). */
export const notManagement = (path: string): boolean =>
  path.startsWith("/mcp") || path.startsWith("/.well-known") ||
  // The admin UI, and the root that sends browsers to it, are pages, not the API.
  path === "/" || path === "/ui" || path.startsWith("/ui/") ||
  (FALLBACK_PATHS as readonly string[]).includes(path);

/** `METHOD /path/{param}` for every management route registered in the Hono app. */
export async function appRoutes(): Promise<Set<string>> {
  const store = await openTestStore(":memory:");
  const { app, mcp } = createApp({
    store,
    config: loadConfig([], () => undefined),
    executors: new Map(),
  });
  try {
    return new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && !notManagement(r.path))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
  } finally {
    mcp.dispose();
    await store.close();
  }
}
