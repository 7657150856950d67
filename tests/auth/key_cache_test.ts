/**
 * The authenticator's key cache against a store whose reads take time (as a
 * database across a network does): a lookup that a revocation overtakes
 * answers the request that made it, but is never kept, so no request after
 * the revocation is answered from it.
 */
import assert from "node:assert/strict";
import { GatewayAuthenticator } from "../../src/auth/gateway_auth.ts";
import { GATEHOUSE_SCOPES } from "../../src/auth/scopes.ts";
import {
  displayPrefix,
  GATEWAY_KEY_PREFIX,
  generateToken,
  hashToken,
} from "../../src/auth/tokens.ts";
import { Store } from "../../src/store/store.ts";
import { WatchedEngine } from "../helpers/watched_engine.ts";
import { jwtSettings } from "./helpers.ts";

Deno.test("a key revoked while a lookup of it was on its way is refused by every request after the revocation", async () => {
  const engine = new WatchedEngine();
  const store = new Store(engine);
  const auth = new GatewayAuthenticator(store, { jwt: jwtSettings() });
  try {
    const user = await store.users.create("a@example.com", "A");
    const org = await store.orgs.create("A", "a", user.id);
    const gateway = await store.gateways.create(org.id, {
      name: "g",
      description: "",
      type: "mcp",
      endpoint: "/g",
      configuration: { transport: "http" },
    });
    await store.authMethods.create(gateway.id, { type: "api_key", configuration: {} });
    const raw = generateToken(GATEWAY_KEY_PREFIX);
    const key = await store.gatewayKeys.create(gateway.id, {
      name: "k",
      hash: hashToken(raw),
      prefix: displayPrefix(raw),
      expiresAt: null,
      scopes: [...GATEHOUSE_SCOPES],
      rateLimit: null,
    });
    const request = () =>
      auth.authenticate(gateway, {
        presented: { authorization: { scheme: "bearer", token: raw }, transport: "http" },
        headers: new Headers(),
        clientAddress: () => "127.0.0.1",
      });
    const accepted = (r: Awaited<ReturnType<typeof request>>) => "id" in r && r.id === key.id;
    // The gateway's methods are compiled first, so the key's lookup is the only read.
    assert.ok(
      !accepted(
        await auth.authenticate(gateway, {
          presented: { transport: "http" },
          headers: new Headers(),
          clientAddress: () => "127.0.0.1",
        }),
      ),
    );

    const held = engine.hold(/FROM gateway_keys WHERE key_hash = \?/);
    const early = request();
    await held.ran;
    // The lookup has read the key, still valid; its answer is on its way when the key is revoked.
    await store.gatewayKeys.revoke(gateway.id, key.id);
    assert.ok(!accepted(await request()), "a request after the revocation was accepted");
    held.release();
    assert.ok(accepted(await early), "the request that came before is answered as it was read");
    for (let i = 0; i < 3; i++) {
      assert.ok(!accepted(await request()), "the overtaken lookup was kept and served");
    }
  } finally {
    auth.dispose();
    await store.close();
  }
});
