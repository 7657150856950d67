/**
 * Secrets of the OAuth flow (passwords, codes, tokens, client secrets) never
 * reach the server's log, even with a line per request turned on.
 */
import assert from "node:assert/strict";
import { req, rpc } from "../helpers/mcp.ts";
import {
  addUser,
  authorizeCode,
  authorizeUrl,
  Browser,
  oauthGateway,
  PASSWORD,
  pkce,
  postForm,
  readForm,
  redeem,
  REDIRECT_URI,
  register,
  registerPublicClient,
  withOAuthServer,
} from "./helpers.ts";

Deno.test("no password, code, token or client secret is ever logged", async () => {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error, warn: console.warn };
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  console.log = console.error = console.warn = capture;
  const secrets: string[] = [PASSWORD, "wrong password 123"];
  try {
    await withOAuthServer(async (s) => {
      const gw = await oauthGateway(s);
      await addUser(s, "ada@example.com");
      const reg = await (await register(gw, {
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: "client_secret_post",
      })).json();
      secrets.push(reg.client_secret);
      // A failed sign-in, then a full flow, a refresh, a reuse and a revocation.
      const clientId = await registerPublicClient(gw);
      const url = authorizeUrl(gw, { client_id: clientId, code_challenge: pkce().challenge });
      const browser = new Browser();
      const page = await browser.get(url);
      const form = readForm(page.html, url);
      await browser.postPage(form.action, {
        ...form.fields,
        email: "ada@example.com",
        password: "wrong password 123",
      });
      const a = await authorizeCode(gw, "ada@example.com", { clientId });
      secrets.push(a.code, a.verifier);
      const t = (await redeem(gw, a)).body;
      secrets.push(t.access_token, t.refresh_token);
      await redeem(gw, a); // reuse
      await rpc(gw.url, req(1, "tools/list"), { key: t.access_token });
      const r = (await postForm(gw.token, {
        grant_type: "refresh_token",
        refresh_token: t.refresh_token,
        client_id: clientId,
      })).body;
      if (r.access_token) secrets.push(r.access_token, r.refresh_token);
      await postForm(gw.revoke, { token: t.refresh_token, client_id: clientId });
      await rpc(gw.url, req(2, "tools/list"), { key: t.access_token });
    }, { logRequests: true });
  } finally {
    Object.assign(console, original);
  }
  assert.ok(lines.some((l) => l.includes("/oauth/token")), "requests were logged");
  const log = lines.join("\n");
  for (const secret of secrets) {
    assert.ok(!log.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}...`);
  }
});
