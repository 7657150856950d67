/**
 * Configuration of `jwt` and `oauth2` auth methods through the management
 * API: every refusal names its field, what is accepted is stored with its
 * defaults and matches the OpenAPI description, and the scope mapping rules.
 */
import assert from "node:assert/strict";
import { Validator } from "@cfworker/json-schema";
import { exportPKCS8 } from "jose";
import { openApiDocument } from "../../src/api/openapi.ts";
import { mapScopes, parseJwtConfig } from "../../src/auth/jwt_config.ts";
import { apiIn, type Json, ok, withMcpServer } from "../helpers/mcp.ts";
import { AUDIENCE, bareGateway, ISSUER, makeKey, withAuthServer } from "./helpers.ts";

const doc: Json = openApiDocument();

/** Errors of `body` against the documented `AuthMethodCreate` schema. */
function schemaErrors(body: unknown): string[] {
  const root = {
    $ref: "#/components/schemas/AuthMethodCreate",
    components: structuredClone(doc.components),
  };
  return new Validator(root, "2020-12", false).validate(body).errors.map((e) =>
    `${e.instanceLocation}: ${e.error}`
  );
}

const HMAC_VALUE = "an-hmac-secret-of-at-least-32-bytes-0123456789";

Deno.test("jwt and oauth2 configurations: every refusal is a 400 naming the field", async () => {
  const rsa = await makeKey("RS256");
  const privatePem = await exportPKCS8(rsa.privateKey);
  await withAuthServer(async (s) => {
    const api = apiIn(s, "default");
    ok(await api("POST", "/secrets", { name: "SHORT", type: "bearer_token", value: "short" }), 201);
    ok(
      await api("POST", "/secrets", {
        name: "BASIC",
        type: "basic_auth",
        value: { username: "u", password: HMAC_VALUE },
      }),
      201,
    );
    const gw = await bareGateway(s);
    const base = { issuer: ISSUER, audience: AUDIENCE };
    const jwks = { ...base, jwksUrl: "https://idp.example.com/jwks" };
    // [configuration, field, message pattern, whether the JSON schema alone refuses it too]
    const jwtCases: [Record<string, unknown>, string, RegExp, boolean][] = [
      [{}, "configuration.issuer", /issuer is required/, true],
      [{ ...jwks, issuer: "" }, "configuration.issuer", /must not be empty/, true],
      [{ issuer: ISSUER, jwksUrl: jwks.jwksUrl }, "configuration.audience", /required/, true],
      [{ ...jwks, audience: [] }, "configuration.audience", /non-empty list/, true],
      [{ ...jwks, audience: ["ok", ""] }, "configuration.audience[1]", /empty/, true],
      [base, "configuration.jwksUrl", /exactly one of jwksUrl, publicKeyPem, hs256Secret/, true],
      [
        { ...jwks, publicKeyPem: rsa.pem },
        "configuration.publicKeyPem",
        /exactly one .* \(got jwksUrl and publicKeyPem\)/,
        true,
      ],
      [
        { ...base, jwksUrl: "http://idp.example.com/jwks" },
        "configuration.jwksUrl",
        /https/,
        false,
      ],
      [{ ...base, jwksUrl: "ftp://idp.example.com/jwks" }, "configuration.jwksUrl", /https/, false],
      [{ ...base, jwksUrl: "not a url" }, "configuration.jwksUrl", /https URL/, true],
      [
        { ...base, jwksUrl: "https://u:p@idp.example.com/jwks" },
        "configuration.jwksUrl",
        /credentials/,
        false,
      ],
      [{ ...base, publicKeyPem: "hello" }, "configuration.publicKeyPem", /PEM public key/, false],
      [{ ...base, publicKeyPem: privatePem }, "configuration.publicKeyPem", /private key/, false],
      [
        { ...base, publicKeyPem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" },
        "configuration.publicKeyPem",
        /not a readable public key/,
        false,
      ],
      [
        { ...base, hs256Secret: "a raw secret value!" },
        "configuration.hs256Secret",
        /name of a secret in the vault .* not the secret itself/,
        true,
      ],
      [{ ...base, hs256Secret: "MISSING" }, "configuration.hs256Secret", /names no secret/, false],
      [{ ...base, hs256Secret: "SHORT" }, "configuration.hs256Secret", /shorter than 32/, false],
      [
        { ...base, hs256Secret: "BASIC" },
        "configuration.hs256Secret",
        /api_key or bearer_token/,
        false,
      ],
      [{ ...jwks, algorithms: ["none"] }, "configuration.algorithms", /none/, true],
      [{ ...jwks, algorithms: ["HS256"] }, "configuration.algorithms", /HS256.*JWKS/, false],
      [{ ...jwks, algorithms: [] }, "configuration.algorithms", /non-empty/, true],
      [{ ...jwks, algorithms: "RS256" }, "configuration.algorithms", /list/, true],
      [
        { ...base, publicKeyPem: rsa.pem, algorithms: ["ES256"] },
        "configuration.algorithms",
        /ES256.*this public key/,
        false,
      ],
      [
        { ...base, hs256Secret: "SHORT", algorithms: ["RS256"] },
        "configuration.algorithms",
        /RS256.*HMAC secret/,
        false,
      ],
      [{ ...jwks, scopesClaim: "" }, "configuration.scopesClaim", /empty/, true],
      [{ ...jwks, scopeMap: [] }, "configuration.scopeMap", /object/, true],
      [{ ...jwks, scopeMap: { r: ["admin"] } }, "configuration.scopeMap.r", /tools:read/, true],
      [{ ...jwks, defaultScopes: ["root"] }, "configuration.defaultScopes", /tools:read/, true],
      [{ ...jwks, clockSkewSeconds: 301 }, "configuration.clockSkewSeconds", /0 to 300/, true],
      [{ ...jwks, clockSkewSeconds: -1 }, "configuration.clockSkewSeconds", /0 to 300/, true],
      [{ ...jwks, clockSkewSeconds: 1.5 }, "configuration.clockSkewSeconds", /integer/, true],
      [{ ...jwks, clockSkewSeconds: "60" }, "configuration.clockSkewSeconds", /integer/, true],
      [{ ...jwks, secret: "x" }, "configuration.secret", /not a jwt setting/, true],
    ];
    const oauthCases: [Record<string, unknown>, string, RegExp, boolean][] = [
      [{ accessTokenTtlSeconds: 10 }, "configuration.accessTokenTtlSeconds", /60 to 86400/, true],
      [{ accessTokenTtlSeconds: 90.5 }, "configuration.accessTokenTtlSeconds", /integer/, true],
      [{ refreshTokenTtlSeconds: 1 }, "configuration.refreshTokenTtlSeconds", /300 to/, true],
      [
        { accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 600 },
        "configuration.refreshTokenTtlSeconds",
        /not be shorter/,
        false,
      ],
      [{ scopes: ["tools:write"] }, "configuration.scopes", /tools:read, tools:execute/, true],
      [{ scopes: [] }, "configuration.scopes", /non-empty/, true],
      [{ issuer: ISSUER }, "configuration.issuer", /unknown field/, true],
    ];
    const cases = [
      ...jwtCases.map(([c, ...rest]) => [{ type: "jwt", configuration: c }, ...rest] as const),
      ...oauthCases.map(([c, ...rest]) => [{ type: "oauth2", configuration: c }, ...rest] as const),
      [{ type: "api_key", configuration: { x: 1 } }, "configuration.x", /no configuration/, true],
      [{ type: "oauth" }, "type", /api_key, bearer, basic, oauth2, jwt, none/, true],
    ] as const;
    for (const [body, field, message, bySchema] of cases) {
      const res = await api("POST", `/gateways/${gw.id}/auth`, body);
      const label = JSON.stringify(body).slice(0, 200);
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error?.field, field, label);
      assert.match(res.body.error?.message ?? "", message, label);
      assert.ok(res.body.error!.message.includes(field.split(".").pop()!.replace(/\[\d+\]$/, "")));
      if (bySchema) assert.notDeepEqual(schemaErrors(body), [], `the schema accepts ${label}`);
    }
    // Nothing was stored.
    assert.deepEqual(ok(await s.api("GET", `/gateways/${gw.id}/auth`)).methods, []);
  });
});

Deno.test("an http JWKS URL on loopback needs GATEHOUSE_JWT_ALLOW_INSECURE_JWKS", async () => {
  const body = {
    type: "jwt",
    configuration: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: "http://127.0.0.1:9/jwks" },
  };
  await withMcpServer(async (s) => {
    const gw = await bareGateway(s);
    const res = await apiIn(s, "default")("POST", `/gateways/${gw.id}/auth`, body);
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.field, "configuration.jwksUrl");
    assert.match(res.body.error!.message, /must be https .*GATEHOUSE_JWT_ALLOW_INSECURE_JWKS=1/);
  });
  await withAuthServer(async (s) => {
    const gw = await bareGateway(s);
    ok(await apiIn(s, "default")("POST", `/gateways/${gw.id}/auth`, body), 201);
  });
});

Deno.test("accepted configurations are stored with their defaults and match the OpenAPI description", async () => {
  const rsa = await makeKey("RS256");
  const ed = await makeKey("EdDSA");
  await withAuthServer(async (s) => {
    const api = apiIn(s, "default");
    ok(await api("POST", "/secrets", { name: "HMAC", type: "api_key", value: HMAC_VALUE }), 201);
    const base = { issuer: ISSUER, audience: AUDIENCE };
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ type: "jwt", configuration: { ...base, jwksUrl: "https://idp.example.com/jwks#x" } }, {
        jwksUrl: "https://idp.example.com/jwks",
        algorithms: [
          "RS256",
          "RS384",
          "RS512",
          "PS256",
          "PS384",
          "PS512",
          "ES256",
          "ES384",
          "ES512",
          "EdDSA",
          "Ed25519",
        ],
        scopesClaim: "scope",
        defaultScopes: [],
        clockSkewSeconds: 60,
      }],
      [{ type: "jwt", configuration: { ...base, publicKeyPem: rsa.pem } }, {
        algorithms: ["RS256", "PS256"],
      }],
      [{ type: "jwt", configuration: { ...base, publicKeyPem: ed.pem } }, {
        algorithms: ["EdDSA"],
      }],
      [{
        type: "jwt",
        configuration: {
          ...base,
          audience: ["a", "b"],
          hs256Secret: "HMAC",
          algorithms: ["HS256", "HS512"],
          scopesClaim: "roles",
          scopeMap: { reader: ["tools:read"], writer: ["tools:read", "tools:execute"] },
          defaultScopes: ["tools:read"],
          clockSkewSeconds: 0,
        },
      }, {
        audience: ["a", "b"],
        hs256Secret: "HMAC",
        algorithms: ["HS256", "HS512"],
        scopeMap: { reader: ["tools:read"], writer: ["tools:read", "tools:execute"] },
        clockSkewSeconds: 0,
      }],
      [{ type: "oauth2" }, {}],
      [{ type: "oauth2", configuration: { scopes: ["tools:read", "tools:read"] } }, {
        scopes: ["tools:read"],
      }],
      [{ type: "api_key", configuration: {} }, {}],
      [{ type: "none" }, {}],
    ];
    for (const [body, expected] of cases) {
      // One gateway per case: one method of each type per gateway.
      const gw = await bareGateway(s);
      assert.deepEqual(schemaErrors(body), [], JSON.stringify(body).slice(0, 200));
      const created = ok(await api("POST", `/gateways/${gw.id}/auth`, body), 201);
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(created.configuration[k], v, `${k} of ${JSON.stringify(body)}`);
      }
      const listed = ok(await api("GET", `/gateways/${gw.id}/auth`)).methods;
      assert.deepEqual(listed, [created]);
    }
  });
});

Deno.test("scope mapping: claim shapes, nested and namespaced claims, only Gatehouse scopes survive", () => {
  const cfg = (extra: Record<string, unknown>) =>
    parseJwtConfig({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: "https://idp.example.com/jwks",
      ...extra,
    }, { allowInsecureJwks: false });
  const sorted = (s: Set<string>) => [...s].sort();
  const plain = cfg({});
  assert.deepEqual(sorted(mapScopes(plain, { scope: "openid tools:read  profile" })), [
    "tools:read",
  ]);
  assert.deepEqual(sorted(mapScopes(plain, { scope: ["tools:execute", 7, null] })), [
    "tools:execute",
  ]);
  assert.deepEqual(sorted(mapScopes(plain, { scope: 42 })), []);
  assert.deepEqual(sorted(mapScopes(plain, {})), []);

  const mapped = cfg({
    scopesClaim: "realm_access.roles",
    // As it arrives over HTTP: JSON.parse makes `__proto__` an own key, not a prototype.
    scopeMap: JSON.parse(
      '{"reader":["tools:read"],"__proto__":["tools:execute"],"constructor":[]}',
    ),
    defaultScopes: [],
  });
  const roles = (r: unknown) => sorted(mapScopes(mapped, { realm_access: { roles: r } }));
  assert.deepEqual(roles(["reader"]), ["tools:read"]);
  assert.deepEqual(roles(["constructor", "toString", "hasOwnProperty"]), []);
  assert.deepEqual(roles(["__proto__"]), ["tools:execute"]);
  assert.deepEqual(roles("reader tools:execute"), ["tools:execute", "tools:read"]);
  assert.deepEqual(sorted(mapScopes(mapped, { realm_access: "reader" })), []);
  // An exact claim with the dotted name wins over the nested path (namespaced claims).
  assert.deepEqual(
    sorted(mapScopes(mapped, { "realm_access.roles": ["reader"], realm_access: { roles: [] } })),
    ["tools:read"],
  );
  const withDefault = cfg({ defaultScopes: ["tools:read"], scopesClaim: "https://x.io/roles" });
  assert.deepEqual(sorted(mapScopes(withDefault, {})), ["tools:read"]);
  assert.deepEqual(
    sorted(mapScopes(withDefault, { "https://x.io/roles": ["tools:execute"] })),
    ["tools:execute", "tools:read"],
  );
});
