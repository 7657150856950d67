/**
 * Shared set-up for the gateway authentication tests: a real JWKS server on
 * loopback serving keys generated with `jose`, token minting, a Gatehouse
 * server whose `jwt` methods may fetch http loopback JWKS, and gateways with
 * auth methods added through the management API.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import type { JwtSettings } from "../../src/config.ts";
import {
  apiIn,
  createGateway,
  createTool,
  type Json,
  type McpGateway,
  type McpTestServer,
  ok,
  type RpcAnswer,
  STANDARD_TOOLS,
  withMcpServer,
} from "../helpers/mcp.ts";

/** The issuer and audience the tests' identity provider uses. */
export const ISSUER = "https://idp.test/realms/gatehouse";
/** The audience tokens are minted for by default. */
export const AUDIENCE = "gatehouse-gateway";

/** A signing key pair with its public JWK (kid, alg and use set) and PEM. */
export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
  pem: string;
}

/** Generates a key pair for `alg` (RS256, ES256, ...), extractable so its public half can be served. */
export async function makeKey(alg: string, kid: string = crypto.randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) };
}

/** Options of {@link mint}. */
export interface MintOptions {
  /**
   * Claims over the defaults (iss, aud, sub, `scope: tools:read`, iat, exp one
   * hour on); `undefined` removes one.
   */
  claims?: Record<string, unknown>;
  /** Header over the default `{alg, kid}`. */
  header?: Record<string, unknown>;
}

/** A signed JWT from `key` (a key pair, or HMAC secret bytes with `alg`). */
export async function mint(
  key: TestKey | { secret: Uint8Array; alg: string },
  opts: MintOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user-1",
    scope: "tools:read",
    iat: now,
    exp: now + 3600,
    ...opts.claims,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  const header = "secret" in key
    ? { alg: key.alg, ...opts.header }
    : { alg: key.alg, kid: key.kid, ...opts.header };
  return await new SignJWT(claims as JWTPayload)
    .setProtectedHeader(header as { alg: string })
    .sign("secret" in key ? key.secret : key.privateKey);
}

/** A JWKS endpoint on loopback whose key set the test changes at will. */
export class JwksServer {
  /** The keys served now. */
  keys: JWK[] = [];
  /** How many times the key set was fetched. */
  hits = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** The JWKS URL. */
  readonly url: string;

  /** Starts serving `keys` on a free loopback port. */
  constructor(keys: TestKey[] = []) {
    this.keys = keys.map((k) => k.jwk);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => {
        this.hits++;
        return Response.json({ keys: this.keys });
      },
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}/.well-known/jwks.json`;
  }

  /** Replaces the served keys. */
  serve(keys: TestKey[]): void {
    this.keys = keys.map((k) => k.jwk);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** JWT settings for tests: http loopback JWKS allowed, a short fetch deadline, `cooldownMs`. */
export function jwtSettings(cooldownMs = 0): JwtSettings {
  return {
    allowInsecureJwks: true,
    jwksTimeoutMs: 3000,
    jwksCooldownMs: cooldownMs,
    jwksMaxAgeMs: 600_000,
  };
}

/** Runs `fn` against a fresh MCP test server with {@link jwtSettings} and always closes it. */
export function withAuthServer(
  fn: (s: McpTestServer) => Promise<void>,
  jwt: JwtSettings = jwtSettings(),
): Promise<void> {
  return withMcpServer(fn, {}, { jwt });
}

/** Adds an auth method to `gw`; returns the created method. */
export async function addMethod(
  s: McpTestServer,
  gw: McpGateway,
  type: string,
  configuration?: Record<string, unknown>,
): Promise<Json> {
  const body = configuration === undefined ? { type } : { type, configuration };
  return ok(await apiIn(s, gw.orgSlug)("POST", `/gateways/${gw.id}/auth`, body), 201);
}

const toolsOf = new WeakMap<McpTestServer, Promise<{ id: string; name: string }[]>>();

/** The standard tools of `s`, created on first use so several gateways can share them. */
export function standardTools(s: McpTestServer): Promise<{ id: string; name: string }[]> {
  let tools = toolsOf.get(s);
  if (!tools) {
    const api = apiIn(s, "default");
    tools = Promise.all(
      STANDARD_TOOLS.map(async (t) => ({ id: await createTool(api, t), name: t.name })),
    );
    toolsOf.set(s, tools);
  }
  return tools;
}

/** A gateway with the standard tools and no auth method. */
export async function bareGateway(s: McpTestServer): Promise<McpGateway> {
  return await createGateway(s, { tools: await standardTools(s), auth: null });
}

/** A gateway with the standard tools and only a `jwt` method configured with `configuration`. */
export async function jwtGateway(
  s: McpTestServer,
  configuration: Record<string, unknown>,
): Promise<McpGateway> {
  const gw = await bareGateway(s);
  await addMethod(s, gw, "jwt", { issuer: ISSUER, audience: AUDIENCE, ...configuration });
  return gw;
}

/**
 * Asserts a 401 with the JSON-RPC body and the `WWW-Authenticate` pointer to
 * the protected-resource metadata; returns the error message.
 */
export function expect401(a: RpcAnswer, reason?: RegExp): string {
  assert.equal(a.status, 401, a.text);
  assert.match(a.headers.get("www-authenticate") ?? "", /^Bearer resource_metadata="[^"]+"/);
  const message: string = a.body?.error?.message ?? "";
  if (reason) assert.match(message, reason);
  return message;
}
