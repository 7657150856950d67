/**
 * The admin UI's security rules against a real server: a viewer sees no
 * write control and a forged write of theirs is refused by the API; every
 * form post needs its token and this site's origin; the session cookie's
 * flags; an expired, revoked or signed-out session goes to the sign-in
 * page; the headers of every page; `/` for browsers and API clients; the
 * weight of a first load; and "try it" as yourself, which runs a tool.
 */
import assert from "node:assert/strict";
import { apiCall, startTestServer, type TestServer } from "../helpers/server.ts";
import {
  client,
  create,
  expectStatus,
  join,
  MEMBER_PASSWORD,
  separateOrg,
} from "../api/fixtures.ts";
import { expectAccessible, launch, shot, watchedPage } from "./browser.ts";
import { csrfToken } from "../../src/ui/csrf.ts";
import { echoTool, startEchoApi } from "../helpers/echo_api.ts";
import { cookiesOf, post, signIn, tokenIn } from "./session.ts";

const OWNER_PASSWORD = "the owner's long password";

/** A server whose owner has a password, with one gateway. */
async function setUp(overrides: Parameters<typeof startTestServer>[0] = {}) {
  const s = await startTestServer(overrides);
  expectStatus(await s.api("PUT", "/me/password", { password: OWNER_PASSWORD }), 204);
  const gw = await create(client(s, s.adminKey), "/gateways", {
    name: "Kept",
    type: "mcp",
    endpoint: "/kept",
    configuration: { transport: "http" },
  });
  return { s, gw };
}

async function gatewayCount(s: TestServer): Promise<number> {
  return ((await s.api("GET", "/gateways")).body.gateways as unknown[]).length;
}

Deno.test("the admin UI in a browser: a viewer sees no write control, and sessions end when they should", async (t) => {
  const { s, gw } = await setUp();
  const browser = await launch();
  try {
    await t.step("a viewer can look but not change, and a forged change is refused", async () => {
      const viewer = await join(s, client(s, s.adminKey), "default", "vic@example.com", "viewer");
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const { page, problems } = await watchedPage(context);
      await page.goto(`${s.url}/ui/sign-in`);
      await page.getByLabel("Email").fill("vic@example.com");
      await page.getByLabel("Password").fill(MEMBER_PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL("**/ui/gateways");
      assert.match(await page.textContent("main") ?? "", /You are a viewer/);
      assert.equal(await page.getByRole("link", { name: "New gateway" }).count(), 0);
      const writable = (path: string) =>
        page.locator(
          `main form[method=post]`,
        ).evaluateAll((forms) => forms.length).then((n) => [path, n]);
      const seen: [string, number][] = [];
      for (
        const path of [
          `/ui/gateways/${gw.id}`,
          "/ui/tools",
          "/ui/secrets",
          "/ui/servers",
          "/ui/apis",
          "/ui/members",
          "/ui/activity",
        ]
      ) {
        await page.goto(`${s.url}${path}`);
        seen.push(await writable(path) as [string, number]);
        await expectAccessible(page, `viewer ${path}`);
      }
      assert.deepEqual(seen.filter(([, n]) => n > 0), [], "write forms shown to a viewer");
      await page.goto(`${s.url}/ui/gateways/${gw.id}`);
      await shot(page, "viewer-gateway");
      assert.equal(
        await page.getByRole("button", { name: /Delete|Create|Assign|Revoke/ }).count(),
        0,
      );
      assert.deepEqual(problems, []);

      // The viewer's own session and token, posting what the page never offered.
      const session = await signIn(s.url, "vic@example.com", MEMBER_PASSWORD);
      const forged = await post(s.url, session, "/ui/gateways", {
        name: "Sneaky",
        endpoint: "/sneaky",
        "configuration.transport": "http",
      });
      assert.equal(forged.status, 403);
      assert.match(await forged.text(), /needs the member role/);
      const deleting = await post(s.url, session, `/ui/gateways/${gw.id}/delete`, {});
      assert.equal(deleting.status, 403);
      await deleting.body?.cancel();
      assert.equal(await gatewayCount(s), 1);
      assert.ok(viewer.key);
      await context.close();
    });

    await t.step("an expired session goes to the sign-in page", async () => {
      const login = await apiCall(s.url, undefined, "POST", "/login", {
        email: "owner@localhost",
        password: OWNER_PASSWORD,
        organization: "default",
        expiresAt: new Date(Date.now() + 2_000).toISOString(),
      });
      const key = login.body.accessKey as { key: string; id: string };
      const context = await browser.newContext();
      await context.addCookies([{
        name: "gatehouse_session",
        value: key.key,
        domain: "127.0.0.1",
        path: "/ui",
        httpOnly: true,
        sameSite: "Strict",
      }]);
      const page = await context.newPage();
      await page.goto(`${s.url}/ui/gateways`);
      assert.equal(new URL(page.url()).pathname, "/ui/gateways");
      await new Promise((r) => setTimeout(r, 2_200));
      await page.goto(`${s.url}/ui/tools`);
      assert.equal(new URL(page.url()).pathname, "/ui/sign-in");
      assert.equal(new URL(page.url()).searchParams.get("next"), "/ui/tools");
      assert.match(await page.textContent("main") ?? "", /Your session has ended/);
      assert.equal((await context.cookies()).some((c) => c.name === "gatehouse_session"), false);
      await shot(page, "session-ended");
      await context.close();
    });

    await t.step(
      "signing out revokes the key; a key revoked elsewhere ends the session",
      async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${s.url}/ui/sign-in?next=/ui/secrets`);
        await page.getByLabel("Email").fill("owner@localhost");
        await page.getByLabel("Password").fill(OWNER_PASSWORD);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL("**/ui/secrets");
        const cookie = (await context.cookies()).find((c) => c.name === "gatehouse_session")!;
        assert.deepEqual([cookie.httpOnly, cookie.sameSite, cookie.path, cookie.secure], [
          true,
          "Strict",
          "/ui",
          false,
        ]);
        expectStatus(await apiCall(s.url, cookie.value, "GET", "/me"), 200);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL("**/ui/sign-in?reason=signed-out");
        assert.equal((await apiCall(s.url, cookie.value, "GET", "/me")).status, 401);

        // Signed in again; an admin revokes that key through the API.
        await page.getByLabel("Email").fill("owner@localhost");
        await page.getByLabel("Password").fill(OWNER_PASSWORD);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL("**/ui/gateways");
        const again = (await context.cookies()).find((c) => c.name === "gatehouse_session")!;
        const me = await apiCall(s.url, again.value, "GET", "/me");
        const keyId = (me.body.accessKey as { id: string }).id;
        expectStatus(await s.api("DELETE", `/keys/${keyId}`), 200);
        await page.goto(`${s.url}/ui/keys`);
        assert.equal(new URL(page.url()).pathname, "/ui/sign-in");
        await context.close();
      },
    );
  } finally {
    await browser.close();
    await s.close();
  }
});

Deno.test("every form post needs the session's token and this site's origin", async () => {
  const { s } = await setUp();
  try {
    const session = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const fields = { name: "Made", endpoint: "/made", "configuration.transport": "http" };
    const refused = async (res: Response, what: string) => {
      assert.equal(res.status, 403, what);
      assert.match(await res.text(), /Refused/, what);
    };
    await refused(
      await fetch(`${s.url}/ui/gateways`, {
        method: "POST",
        headers: { cookie: session.cookie },
        body: new URLSearchParams(fields),
      }),
      "no token",
    );
    await refused(
      await post(s.url, session, "/ui/gateways", { ...fields, _csrf: "x".repeat(43) }),
      "a wrong token",
    );
    // A token of another session is a wrong one here.
    const other = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    await refused(
      await post(s.url, session, "/ui/gateways", { ...fields, _csrf: other.csrf }),
      "another session's token",
    );
    await refused(
      await post(s.url, session, "/ui/gateways", fields, { origin: "https://evil.example" }),
      "another origin",
    );
    await refused(
      await post(s.url, session, "/ui/gateways", fields, { "sec-fetch-site": "cross-site" }),
      "a cross-site request",
    );
    // Signing out is a form too: without a token the session stays.
    await refused(
      await fetch(`${s.url}/ui/sign-out`, { method: "POST", headers: { cookie: session.cookie } }),
      "sign-out without a token",
    );
    expectStatus(await apiCall(s.url, session.key, "GET", "/me"), 200);
    // The sign-in form needs the pre-session token too.
    const loginForm = new URLSearchParams({
      email: "owner@localhost",
      password: OWNER_PASSWORD,
      organization: "default",
    });
    await refused(
      await fetch(`${s.url}/ui/sign-in`, { method: "POST", body: loginForm }),
      "sign-in without a token",
    );
    assert.equal(await gatewayCount(s), 1, "nothing was made by a refused form");

    const made = await post(s.url, session, "/ui/gateways", fields, {
      origin: s.url,
      "sec-fetch-site": "same-origin",
    });
    assert.equal(made.status, 303);
    await made.body?.cancel();
    assert.equal(await gatewayCount(s), 2);
  } finally {
    await s.close();
  }
});

Deno.test("another organization's gateway is not found through the UI, and cannot be changed", async () => {
  const { s } = await setUp();
  try {
    const acme = await separateOrg(s, "acme");
    const theirs = await create(acme.call, "/gateways", {
      name: "Theirs",
      type: "mcp",
      endpoint: "/theirs",
      configuration: { transport: "http" },
    });
    const session = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const page = await fetch(`${s.url}/ui/gateways/${theirs.id}`, {
      headers: { cookie: session.cookie },
    });
    assert.equal(page.status, 404);
    assert.ok(!(await page.text()).includes("Theirs"));
    const deleting = await post(s.url, session, `/ui/gateways/${theirs.id}/delete`, {});
    assert.equal(deleting.status, 404);
    await deleting.body?.cancel();
    expectStatus(await acme.call("GET", `/gateways/${theirs.id}`), 200);
  } finally {
    await s.close();
  }
});

Deno.test("a secret's value goes in through a form and never comes back, not even with an error", async () => {
  const { s } = await setUp();
  try {
    const session = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const value = "sk_live_do_not_show_me_4242";
    const bad = await post(s.url, session, "/ui/secrets", {
      type: "bearer_token",
      name: "not a name",
      value,
    });
    assert.equal(bad.status, 400);
    const refused = await bad.text();
    assert.match(refused, /must start with a letter/);
    assert.ok(!refused.includes(value), "the refused form shows the value again");
    const made = await post(s.url, session, "/ui/secrets", {
      type: "bearer_token",
      name: "TOKEN",
      value,
    });
    assert.equal(made.status, 303);
    await made.body?.cancel();
    const list = await (await fetch(`${s.url}/ui/secrets`, { headers: { cookie: session.cookie } }))
      .text();
    assert.match(list, /TOKEN/);
    assert.ok(!list.includes(value));
    const secrets = (await s.api("GET", "/secrets")).body.secrets as { id: string }[];
    const rotated = await post(s.url, session, `/ui/secrets/${secrets[0].id}`, {
      value: "new-one",
    });
    assert.equal(rotated.status, 303);
    await rotated.body?.cancel();
    const audit = (await s.api("GET", "/audit?action=secret.rotate")).body.events as unknown[];
    assert.equal(audit.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("UI pages carry a strict CSP; the session cookie is Secure behind HTTPS; / serves browsers and API clients", async () => {
  const { s } = await setUp({ publicUrl: "https://gatehouse.example" });
  try {
    const page = await fetch(`${s.url}/ui/sign-in`);
    const csp = page.headers.get("content-security-policy") ?? "";
    for (
      const rule of [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
      ]
    ) {
      assert.ok(csp.includes(rule), `${rule} in ${csp}`);
    }
    assert.ok(!csp.includes("unsafe-inline"));
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal(page.headers.get("referrer-policy"), "same-origin");
    const html = await page.text();
    assert.ok(!/<script>|<script [^>]*>[^<]/.test(html), "no inline script");
    assert.ok(!/ style="/.test(html), "no inline style");

    const form = new URLSearchParams({
      _csrf: tokenIn(html),
      email: "owner@localhost",
      password: OWNER_PASSWORD,
      organization: "default",
    });
    const res = await fetch(`${s.url}/ui/sign-in`, {
      method: "POST",
      headers: { cookie: `gatehouse_presession=${cookiesOf(page).get("gatehouse_presession")}` },
      body: form,
      redirect: "manual",
    });
    await res.body?.cancel();
    const line = res.headers.getSetCookie().find((l) => l.startsWith("gatehouse_session="))!;
    for (const flag of ["HttpOnly", "SameSite=Strict", "Path=/ui", "Secure"]) {
      assert.ok(line.includes(flag), `${flag} in ${line.replace(/=gha_[^;]+/, "=...")}`);
    }

    const browserRoot = await fetch(`${s.url}/`, {
      headers: { accept: "text/html,application/xhtml+xml" },
      redirect: "manual",
    });
    await browserRoot.body?.cancel();
    assert.deepEqual([browserRoot.status, browserRoot.headers.get("location")], [302, "/ui"]);
    const apiRoot = await fetch(`${s.url}/`);
    assert.equal(apiRoot.status, 404);
    assert.deepEqual(await apiRoot.json(), {
      error: { code: "not_found", message: "no route for GET /" },
    });
  } finally {
    await s.close();
  }
});

Deno.test("the heaviest first load, a gateway's page with its assets, is under 150 KB", async () => {
  const { s, gw } = await setUp();
  try {
    const session = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const page = await fetch(`${s.url}/ui/gateways/${gw.id}`, {
      headers: { cookie: session.cookie },
    });
    const html = await page.text();
    let bytes = new TextEncoder().encode(html).length;
    const assets = [...html.matchAll(/(?:href|src)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(assets).size, 3, "the stylesheet, the script and the icon");
    for (const path of new Set(assets)) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("cache-control") ?? "", /immutable/);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    console.log(
      `first load of a gateway's page: ${bytes} bytes with its ${new Set(assets).size} assets`,
    );
    assert.ok(bytes < 150_000, `${bytes} bytes`);
  } finally {
    await s.close();
  }
});

Deno.test("running a tool as yourself from the UI needs the form token, this site, a live session and the member role", async () => {
  const echo = startEchoApi();
  const { s, gw } = await setUp();
  try {
    const owner = client(s, s.adminKey);
    const tool = await create(owner, "/tools", echoTool(echo.url));
    await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    const path = `/ui/gateways/${gw.id}/try/${tool.id}`;
    const run = { as: "me", "arg.q": "hi" };
    const session = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const refused = async (res: Response, status: number, pattern: RegExp, what: string) => {
      assert.equal(res.status, status, what);
      assert.match(await res.text(), pattern, what);
    };

    await refused(
      await fetch(`${s.url}${path}`, {
        method: "POST",
        headers: { cookie: session.cookie },
        body: new URLSearchParams(run),
      }),
      403,
      /Refused/,
      "no token",
    );
    await refused(
      await post(s.url, session, path, run, { origin: "https://evil.example" }),
      403,
      /Refused/,
      "another origin",
    );

    await join(s, owner, "default", "vic@example.com", "viewer");
    const viewer = await signIn(s.url, "vic@example.com", MEMBER_PASSWORD);
    await refused(await post(s.url, viewer, path, run), 403, /needs the member role/, "viewer");

    // Another organization's gateway and tool are not found, whatever the ids.
    const acme = await separateOrg(s, "acme");
    const theirTool = await create(acme.call, "/tools", echoTool(echo.url));
    const theirs = await create(acme.call, "/gateways", {
      name: "Theirs",
      type: "mcp",
      endpoint: "/theirs",
      configuration: { transport: "http" },
    });
    await create(acme.call, `/gateways/${theirs.id}/tools`, { toolId: theirTool.id });
    const other = await post(s.url, session, `/ui/gateways/${theirs.id}/try/${theirTool.id}`, run);
    assert.equal(other.status, 404);
    await other.body?.cancel();

    // A revoked session, and one whose key expired, go to the sign-in page and run nothing.
    const revoked = await signIn(s.url, "owner@localhost", OWNER_PASSWORD);
    const me = expectStatus(await apiCall(s.url, revoked.key, "GET", "/me"), 200).body;
    expectStatus(await owner("DELETE", `/keys/${me.accessKey.id}`), 200);
    const gone = await post(s.url, revoked, path, run);
    assert.equal(gone.status, 303);
    assert.match(gone.headers.get("location") ?? "", /^\/ui\/sign-in/);
    await gone.body?.cancel();
    const login = await apiCall(s.url, undefined, "POST", "/login", {
      email: "owner@localhost",
      password: OWNER_PASSWORD,
      organization: "default",
      expiresAt: new Date(Date.now() + 1_500).toISOString(),
    });
    const brief = (login.body.accessKey as { key: string }).key;
    await new Promise((r) => setTimeout(r, 1_700));
    const expired = await post(
      s.url,
      { cookie: `gatehouse_session=${brief}`, key: brief, csrf: csrfToken(brief) },
      path,
      run,
    );
    assert.equal(expired.status, 303);
    assert.match(expired.headers.get("location") ?? "", /^\/ui\/sign-in/);
    await expired.body?.cancel();
    assert.deepEqual(echo.seen, [], "no refused run reached the tool");
    assert.deepEqual(expectStatus(await owner("GET", "/logs"), 200).body.logs, []);

    // With all of that, it runs.
    const ran = await post(s.url, session, path, run);
    assert.equal(ran.status, 200);
    assert.match(await ran.text(), /The tool answered\./);
    assert.deepEqual(echo.seen, ["hi"]);
  } finally {
    await s.close();
    await echo.close();
  }
});

Deno.test("the forms that change things in place refuse a viewer, and another organization's things are not found", async () => {
  const { s, gw } = await setUp();
  try {
    const owner = client(s, s.adminKey);
    const method = await create(owner, `/gateways/${gw.id}/auth`, { type: "api_key" });
    const key = await create(owner, `/gateways/${gw.id}/keys`, { name: "laptop" });
    const server = await create(owner, "/servers", {
      name: "dead",
      transport: "streamable-http",
      url: "http://127.0.0.1:9/mcp",
    });
    const spec = {
      openapi: "3.1.0",
      info: { title: "Walk", version: "1" },
      servers: [{ url: "https://walk.example.com" }],
      paths: {
        "/things": { get: { operationId: "getThings", responses: { 200: { description: "ok" } } } },
      },
    };
    const api = await create(owner, "/apis", { name: "walk", spec });
    const writes: [string, Record<string, string>][] = [
      [`/ui/gateways/${gw.id}/auth/${method.id}`, { order: "9" }],
      [`/ui/gateways/${gw.id}/keys/${key.id}`, { "rateLimit.requests": "1" }],
      [`/ui/gateways/${gw.id}/servers`, { serverId: server.id, prefix: "x" }],
      [`/ui/servers/${server.id}`, {
        name: "renamed",
        transport: "streamable-http",
        url: "http://127.0.0.1:9/mcp",
      }],
      [`/ui/apis/${api.id}/reimport/preview`, { name: "walk", spec: JSON.stringify(spec) }],
      [`/ui/apis/${api.id}/reimport`, { name: "renamed", spec: JSON.stringify(spec) }],
    ];
    await join(s, owner, "default", "vic@example.com", "viewer");
    const viewer = await signIn(s.url, "vic@example.com", MEMBER_PASSWORD);
    for (const [path, fields] of writes) {
      const res = await post(s.url, viewer, path, fields);
      assert.equal(res.status, 403, path);
      assert.match(await res.text(), /needs the member role/, path);
    }
    const after = expectStatus(await owner("GET", `/gateways/${gw.id}/auth`), 200).body;
    assert.equal((after.methods as { order: number }[])[0].order, method.order);
    assert.equal(expectStatus(await owner("GET", `/servers/${server.id}`), 200).body.name, "dead");
    assert.equal(expectStatus(await owner("GET", `/apis/${api.id}`), 200).body.name, "walk");
    assert.deepEqual(
      expectStatus(await owner("GET", `/gateways/${gw.id}/servers`), 200).body.servers,
      [],
    );

    // Someone of another organization, with a session and a token of their own, finds none of it.
    const acme = await separateOrg(s, "acme");
    const me = expectStatus(await acme.call("GET", "/me"), 200).body;
    const stranger = await signIn(s.url, me.user.email, MEMBER_PASSWORD, "acme");
    for (const [path, fields] of writes) {
      const res = await post(s.url, stranger, path, fields);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    const page = await fetch(`${s.url}/ui/apis/${api.id}/reimport`, {
      headers: { cookie: stranger.cookie },
    });
    assert.equal(page.status, 404);
    assert.ok(!(await page.text()).includes("walk"));
  } finally {
    await s.close();
  }
});
