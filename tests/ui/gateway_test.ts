/**
 * A gateway's page in a real browser, changing what it has in place: an
 * auth method's order, required flag and validation rules (and an oauth2
 * method's configuration), with the API's refusal next to the field; a
 * key's own rate limit; and each change is what MCP clients of the gateway
 * meet next. Then "try it" in one click as the signed-in member, without a
 * key: MCP's answer as it is, the request log naming the member; a viewer
 * gets no such button.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { client, create, expectStatus, join, type Json, MEMBER_PASSWORD } from "../api/fixtures.ts";
import { echoTool, startEchoApi } from "../helpers/echo_api.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { expectAccessible, launch, shot, signInOn, watchedPage } from "./browser.ts";

const PASSWORD = "the owner's long password";

/** A `tools/list` to the gateway with `headers`: the HTTP status it gets. */
async function listStatus(s: TestServer, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${s.url}/mcp/default/echo`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.body?.cancel();
  return res.status;
}

/** The methods of the gateway, by type. */
async function methodsOf(s: TestServer, gatewayId: string): Promise<Record<string, Json>> {
  const res = expectStatus(await s.api("GET", `/gateways/${gatewayId}/auth`), 200);
  return Object.fromEntries((res.body.methods as Json[]).map((m) => [m.type, m]));
}

/** The open "Change the <type> method" form of the page. */
async function openChange(page: Page, type: string) {
  await page.getByText(`Change the ${type} method`, { exact: true }).click();
  return page.locator(`form:has(button:text-is("Save the ${type} method"))`);
}

Deno.test("a gateway's auth methods and keys change in place, and MCP clients meet the change", async () => {
  const echo = startEchoApi();
  const s = await startTestServer();
  const browser = await launch();
  try {
    expectStatus(await s.api("PUT", "/me/password", { password: PASSWORD }), 204);
    const owner = client(s, s.adminKey);
    const tool = await create(owner, "/tools", echoTool(echo.url));
    const gw = await create(owner, "/gateways", {
      name: "Echo",
      type: "mcp",
      endpoint: "/echo",
      configuration: { transport: "http" },
    });
    await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    await create(owner, `/gateways/${gw.id}/auth`, { type: "api_key" });
    await create(owner, `/gateways/${gw.id}/auth`, {
      type: "oauth2",
      configuration: { accessTokenTtlSeconds: 600 },
    });
    const key = await create(owner, `/gateways/${gw.id}/keys`, { name: "laptop" });
    const bearer = { authorization: `Bearer ${key.key}` };
    assert.equal(await listStatus(s, bearer), 200);

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, problems } = await watchedPage(context);
    await signInOn(page, s.url, "owner@localhost", PASSWORD, `/ui/gateways/${gw.id}`);

    // Rules with a bad address: the API's refusal, next to the field it names.
    let form = await openChange(page, "api_key");
    await form.getByLabel("Order (optional)").fill("5");
    await form.getByLabel("Allowed client addresses (optional)").fill("127.0.0.1\n300.1.1.1");
    await form.getByLabel("Required headers (optional)").fill("X-Team: blue");
    await form.getByRole("button", { name: "Save the api_key method" }).click();
    await page.getByText("Please correct the field marked below.").waitFor();
    form = page.locator(`form:has(button:text-is("Save the api_key method"))`);
    const ips = form.getByLabel("Allowed client addresses (optional)");
    assert.equal(await ips.getAttribute("aria-invalid"), "true");
    const described = (await ips.getAttribute("aria-describedby"))!.split(" ");
    const error = await page.locator(`#${described.find((d) => d.endsWith("-error"))}`)
      .textContent();
    assert.match(error ?? "", /allowedIpRanges\[1\] must be a CIDR block/);
    // What was typed is still there, to correct.
    assert.equal(await form.getByLabel("Required headers (optional)").inputValue(), "X-Team: blue");
    await expectAccessible(page, "auth method refused");
    await shot(page, "gateway-auth-error");
    assert.equal((await methodsOf(s, gw.id)).api_key.validationRules, null, "nothing was saved");

    await ips.fill("127.0.0.1\n10.0.0.0/8");
    await form.getByLabel(/^Required: every request/).check();
    await form.getByRole("button", { name: "Save the api_key method" }).click();
    await page.getByText("The api_key method is saved.").waitFor();
    const row = page.getByRole("row", { name: /^api_key/ });
    assert.match(
      await row.textContent() ?? "",
      /from 127\.0\.0\.1, 10\.0\.0\.0\/8; header x-team: blue/,
    );
    const apiKey = (await methodsOf(s, gw.id)).api_key;
    assert.deepEqual([apiKey.order, apiKey.required, apiKey.validationRules], [5, true, {
      allowedIpRanges: ["127.0.0.1", "10.0.0.0/8"],
      requiredHeaders: { "x-team": "blue" },
    }]);
    // The next MCP request meets the rules: the key alone is not enough now.
    assert.equal(await listStatus(s, bearer), 401);
    assert.equal(await listStatus(s, { ...bearer, "x-team": "blue" }), 200);

    // An oauth2 method's configuration: refused out of bounds, then saved.
    form = await openChange(page, "oauth2");
    const config = form.getByLabel("Configuration (JSON)");
    assert.deepEqual(JSON.parse(await config.inputValue()), { accessTokenTtlSeconds: 600 });
    await config.fill('{"accessTokenTtlSeconds": 30}');
    await form.getByRole("button", { name: "Save the oauth2 method" }).click();
    await page.getByText("Please correct the field marked below.").waitFor();
    form = page.locator(`form:has(button:text-is("Save the oauth2 method"))`);
    assert.equal(
      await form.getByLabel("Configuration (JSON)").getAttribute("aria-invalid"),
      "true",
    );
    assert.match(
      await form.textContent() ?? "",
      /accessTokenTtlSeconds must be an integer from 60/,
    );
    await form.getByLabel("Configuration (JSON)").fill('{"accessTokenTtlSeconds": 900}');
    await form.getByRole("button", { name: "Save the oauth2 method" }).click();
    await page.getByText("The oauth2 method is saved.").waitFor();
    assert.equal((await methodsOf(s, gw.id)).oauth2.configuration.accessTokenTtlSeconds, 900);

    // The key's own rate limit: one request a minute, then the second is refused.
    await page.getByLabel("Requests allowed to laptop").fill("1");
    await page.getByLabel("Seconds of laptop's limit").fill("60");
    await page.getByRole("button", { name: "Set the rate limit of laptop" }).click();
    await page.getByText("Key laptop now has 1 request per 60 s.").waitFor();
    const headers = { ...bearer, "x-team": "blue" };
    assert.equal(await listStatus(s, headers), 200);
    assert.equal(await listStatus(s, headers), 429);
    await expectAccessible(page, "gateway after changes");
    await shot(page, "gateway-changed");
    // Emptied: the key follows the gateway's limit again.
    await page.getByLabel("Requests allowed to laptop").fill("");
    await page.getByRole("button", { name: "Set the rate limit of laptop" }).click();
    await page.getByText("Key laptop now has the gateway's rate limit.").waitFor();
    const keys = expectStatus(await s.api("GET", `/gateways/${gw.id}/keys`), 200).body.keys;
    assert.equal((keys as Json[])[0].rateLimit, null);
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    await s.close();
    await echo.close();
  }
});

Deno.test("try it in one click as the signed-in member: MCP's answer, logged under them; a viewer has no such button", async () => {
  const echo = startEchoApi();
  const s = await startTestServer();
  const browser = await launch();
  try {
    expectStatus(await s.api("PUT", "/me/password", { password: PASSWORD }), 204);
    const owner = client(s, s.adminKey);
    const tool = await create(owner, "/tools", echoTool(echo.url));
    // No auth method: MCP clients are refused; members trying it are not.
    const gw = await create(owner, "/gateways", {
      name: "Echo",
      type: "mcp",
      endpoint: "/echo",
      configuration: { transport: "http" },
    });
    await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    const member = await join(s, owner, "default", "mia@example.com", "member");
    await join(s, owner, "default", "vic@example.com", "viewer");

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, problems } = await watchedPage(context);
    const tryPath = `/ui/gateways/${gw.id}/try/${tool.id}`;
    await signInOn(page, s.url, "mia@example.com", MEMBER_PASSWORD, tryPath);
    await page.getByLabel(/^q \(string\)/).fill("hello");
    await page.getByRole("button", { name: "Run as you" }).click();
    await page.getByText("The tool answered.").waitFor();
    const answer = JSON.parse(await page.locator("#try-result").textContent() ?? "");
    assert.deepEqual(answer, {
      jsonrpc: "2.0",
      id: 1,
      result: { content: [{ type: "text", text: '{"echoed":"hello"}' }] },
    });
    assert.deepEqual(echo.seen, ["hello"]);
    // What was typed stays, for the next run.
    assert.equal(await page.getByLabel(/^q \(string\)/).inputValue(), "hello");
    await expectAccessible(page, "try it as a member");
    await shot(page, "try-it-as-member");

    // A refused argument is MCP's answer too (the tool's error), shown as such.
    await page.getByLabel(/^q \(string\)/).fill("");
    await page.getByRole("button", { name: "Run as you" }).click();
    await page.getByText("The tool answered with an error (isError).").waitFor();
    assert.deepEqual(echo.seen, ["hello"]);

    const logs = expectStatus(await owner("GET", `/logs?caller=user:${member.userId}`), 200)
      .body.logs as Json[];
    assert.deepEqual(logs.map((l) => [l.name, l.status, l.caller.subject]), [
      ["echo", "tool_error", "mia@example.com"],
      ["echo", "ok", "mia@example.com"],
    ]);

    // A viewer can look, and run it only with a credential of the gateway.
    await context.clearCookies();
    await signInOn(page, s.url, "vic@example.com", MEMBER_PASSWORD, tryPath);
    assert.equal(await page.getByRole("button", { name: "Run as you" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Run with this credential" }).count(), 1);
    await expectAccessible(page, "try it as a viewer");
    await shot(page, "try-it-as-viewer");
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    await s.close();
    await echo.close();
  }
});

Deno.test("a gateway's own rate limits and payload logging are set from its page, and MCP clients meet them", async () => {
  const s = await startTestServer();
  const browser = await launch();
  try {
    expectStatus(await s.api("PUT", "/me/password", { password: PASSWORD }), 204);
    const owner = client(s, s.adminKey);
    const gw = await create(owner, "/gateways", {
      name: "Echo",
      type: "mcp",
      endpoint: "/echo",
      configuration: { transport: "http" },
    });
    await create(owner, `/gateways/${gw.id}/auth`, { type: "none" });
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, problems } = await watchedPage(context);
    await signInOn(page, s.url, "owner@localhost", PASSWORD, `/ui/gateways/${gw.id}`);
    const settings = page.getByRole("region", { name: "Gateway settings" });
    const perCaller = settings.getByRole("group", { name: "Rate limit of each caller (optional)" });

    // A window longer than a day: refused next to the field.
    await perCaller.getByLabel("Requests (empty: no limit)").fill("2");
    await perCaller.getByLabel("Per seconds").fill("100000");
    await settings.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Please correct the field marked below.").waitFor();
    const window = page.getByRole("group", { name: "Rate limit of each caller (optional)" })
      .getByLabel("Per seconds");
    assert.equal(await window.getAttribute("aria-invalid"), "true");
    await expectAccessible(page, "gateway settings refused");

    await window.fill("60");
    await page.getByLabel(/^Log tool calls' arguments and results/).check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Gateway saved.").waitFor();
    const saved = expectStatus(await owner("GET", `/gateways/${gw.id}`), 200).body.configuration;
    assert.deepEqual([saved.logPayloads, saved.rateLimits], [true, {
      perCaller: { requests: 2, windowSeconds: 60 },
    }]);
    assert.deepEqual(
      [await listStatus(s, {}), await listStatus(s, {}), await listStatus(s, {})],
      [200, 200, 429],
    );
    // The form shows what is set; emptied, the limit goes.
    const requests = page.getByRole("group", { name: "Rate limit of each caller (optional)" })
      .getByLabel("Requests (empty: no limit)");
    assert.equal(await requests.inputValue(), "2");
    await requests.fill("");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Gateway saved.").waitFor();
    const cleared = expectStatus(await owner("GET", `/gateways/${gw.id}`), 200).body.configuration;
    assert.deepEqual([cleared.logPayloads, cleared.rateLimits], [true, undefined]);
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    await s.close();
  }
});
