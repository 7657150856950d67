/**
 * The admin UI in a real browser, the way a new user meets it: on a fresh
 * Gatehouse the owner sets a password with the admin key and is signed in,
 * creates a gateway, imports the petstore document, assigns two of its
 * tools, turns on API-key auth, makes a key, copies a client configuration,
 * runs a tool with "try it" against a petstore on loopback, and sees the
 * call in the activity log; then works in a second organization through
 * the switcher. Every page passes axe (no serious or critical violation)
 * wide, at 375 px and in dark mode, breaks no Content-Security-Policy rule,
 * and is saved as a screenshot.
 */
import assert from "node:assert/strict";
import petstoreYaml from "@readme/oas-examples/3.0/yaml/petstore.yaml" with { type: "text" };
import type { Page } from "playwright-core";
import { startTestServer } from "../helpers/server.ts";
import { expectAccessible, file, launch, shot, watchedPage } from "./browser.ts";

const PASSWORD = "the owner's long password";

/** A petstore on loopback: what the imported tools call. */
function startPetstore() {
  const calls: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    const pet = /^\/pet\/(\d+)$/.exec(url.pathname);
    if (pet) return Response.json({ id: Number(pet[1]), name: "Rex", status: "available" });
    if (url.pathname === "/pet/findByStatus") return Response.json([{ id: 7, name: "Tom" }]);
    return Response.json({ message: "no such pet route" }, { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, calls, close: () => server.shutdown() };
}

/** The clipboard's text, as the page's copy button left it. */
function clipboard(page: Page): Promise<string> {
  return page.evaluate("navigator.clipboard.readText()");
}

Deno.test("a new user sets up Gatehouse in the browser, from the first sign-in to a logged tool call", async (t) => {
  const s = await startTestServer();
  const petstore = startPetstore();
  const browser = await launch();
  try {
    const context = await browser.newContext({
      viewport: { width: 1200, height: 900 },
      permissions: ["clipboard-read", "clipboard-write"],
    });
    const { page, problems } = await watchedPage(context);
    const visited = new Set<string>();
    const check = async (name: string) => {
      visited.add(new URL(page.url()).pathname);
      await expectAccessible(page, name);
      await shot(page, name);
      assert.deepEqual(problems, [], `${name}: CSP violations or script errors`);
    };
    let gatewayUrl = "";

    await t.step("the first sign-in sets the owner's password with the admin key", async () => {
      const res = await page.goto(s.url);
      assert.equal(new URL(page.url()).pathname, "/ui/sign-in", "/ sends browsers to the UI");
      assert.equal(res?.headers()["content-security-policy"]?.includes("script-src 'self'"), true);
      await check("sign-in");
      await page.getByRole("link", { name: /Set the owner's password/ }).click();
      await check("setup");
      await page.getByLabel("Admin access key").fill(s.adminKey);
      await page.getByLabel("New password for the owner").fill(PASSWORD);
      await page.getByLabel("The same password again").fill(PASSWORD);
      await page.getByRole("button", { name: "Set the password and sign in" }).click();
      await page.waitForURL("**/ui/gateways");
      assert.match(await page.textContent("body") ?? "", /Signed in as owner@localhost/);
      assert.match(await page.textContent("main") ?? "", /No gateways yet/);
      await check("gateways-empty");
    });

    await t.step("creates a gateway, with the API's error next to the field first", async () => {
      await page.getByRole("link", { name: "New gateway" }).click();
      await check("gateway-new");
      await page.getByLabel("Name").fill("Pet tools");
      await page.getByLabel("Endpoint").fill("pets");
      await page.getByRole("button", { name: "Create gateway" }).click();
      const endpoint = page.getByLabel("Endpoint");
      assert.equal(await endpoint.getAttribute("aria-invalid"), "true");
      assert.match(
        await page.locator("#f-endpoint-error").textContent() ?? "",
        /must start with '\/'/,
      );
      await check("gateway-new-error");
      await endpoint.fill("/pets");
      await page.getByRole("button", { name: "Create gateway" }).click();
      await page.waitForURL(/\/ui\/gateways\/[0-9a-f-]{36}$/);
      gatewayUrl = page.url();
      assert.match(await page.textContent("main") ?? "", /refuses every request: no auth method/);
      await check("gateway-detail-new");
    });

    await t.step("imports the petstore document: preview, tick, progress, result", async () => {
      await page.goto(`${s.url}/ui/apis/import`);
      await check("import-form");
      await page.getByLabel(/^Name/).fill("petstore");
      await page.getByLabel("Upload the document").setInputFiles(
        file("petstore.yaml", petstoreYaml, "application/yaml"),
      );
      await page.getByLabel("Base URL (optional)").fill(petstore.url);
      await page.getByRole("button", { name: "See what it makes" }).click();
      await page.waitForURL("**/ui/apis/preview");
      assert.match(await page.textContent("main") ?? "", /20 operations of Swagger Petstore/);
      await check("import-preview");
      // Leave out the store: its tag box unticks its operations.
      await page.getByLabel(/^store \(\d+\)$/).uncheck();
      assert.equal(await page.getByLabel("Import getInventory").isChecked(), false);
      assert.equal(await page.getByLabel("Import getPetById").isChecked(), true);
      await page.getByRole("button", { name: "Import the ticked operations" }).click();
      await page.waitForURL(/\/ui\/apis\/imports\//);
      await page.getByText("imported", { exact: true }).waitFor({ timeout: 30_000 });
      assert.match(await page.textContent("main") ?? "", /petstore: 16 tools/);
      await check("import-done");
    });

    await t.step("assigns two tools, turns on API-key auth and makes a key", async () => {
      await page.goto(gatewayUrl);
      // Open already: the gateway has no tools yet.
      await page.getByLabel("Filter the tools").fill("pet");
      await page.getByLabel("getPetById").check();
      await page.getByLabel("findPetsByStatus").check();
      await page.getByRole("button", { name: "Assign", exact: true }).click();
      await page.getByText("2 tool(s) assigned.").waitFor();
      const rows = page.locator("section[aria-labelledby=tools] tbody tr");
      assert.equal(await rows.count(), 2);
      // The enable switch turns a tool off and on again.
      await page.getByRole("switch", { name: "findPetsByStatus enabled" }).click();
      await page.getByText("findPetsByStatus turned off.").waitFor();
      assert.equal(
        await page.getByRole("switch", { name: "findPetsByStatus enabled" }).getAttribute(
          "aria-checked",
        ),
        "false",
      );
      await page.getByRole("switch", { name: "findPetsByStatus enabled" }).click();
      await page.getByText("findPetsByStatus turned on.").waitFor();
      await page.getByLabel("Rate limit of getPetById").fill("30");
      await page.locator("form:has(#limit-" + (await toolId(page, "getPetById")) + ") button")
        .click();
      await page.getByText("Rate limit of getPetById set.").waitFor();

      await page.getByLabel("Type").selectOption("api_key");
      await page.getByRole("button", { name: "Add method" }).click();
      await page.getByText("The api_key method is on.").waitFor();
      assert.match(await page.textContent("main") ?? "", /serving \(api_key\)/);

      await page.getByText("Create a key").click();
      await page.locator("#key-name").fill("laptop");
      await page.getByRole("button", { name: "Create key" }).click();
      await page.getByText("Key 'laptop' created").waitFor();
      await check("gateway-key-created");
    });

    let key = "";
    await t.step("copies the key and a client configuration", async () => {
      await page.getByRole("button", { name: "Copy the new gateway key" }).click();
      key = await clipboard(page);
      assert.match(key, /^ghk_/);
      await page.getByText("Claude Code", { exact: true }).click();
      await page.getByRole("button", { name: "Copy the Claude Code configuration" }).click();
      const command = await clipboard(page);
      assert.equal(
        command,
        `claude mcp add --transport http pets ${s.url}/mcp/default/pets --header ` +
          "'Authorization: Bearer <gateway key>'",
      );
      // The key was shown on that answer only.
      await page.goto(gatewayUrl);
      assert.ok(!(await page.content()).includes(key));
      await check("gateway-detail");
    });

    await t.step("runs a tool with try it and sees the call in the activity log", async () => {
      await page.getByRole("row", { name: /getPetById/ }).getByRole("link", { name: "Try it" })
        .click();
      await check("try-it");
      // One click as the signed-in owner: no key to paste.
      await page.getByLabel(/^petId/).fill("42");
      await page.getByRole("button", { name: "Run as you" }).click();
      await page.getByText("The tool answered.").waitFor();
      const result = JSON.parse(await page.locator("#try-result").textContent() ?? "");
      assert.equal(result.jsonrpc, "2.0");
      assert.deepEqual(JSON.parse(result.result.content[0].text), {
        id: 42,
        name: "Rex",
        status: "available",
      });
      assert.ok(petstore.calls.includes("GET /pet/42"), petstore.calls.join(", "));
      await check("try-it-result");
      // The way an MCP client does it: with the gateway key, through the gateway's auth.
      await page.getByText("Or run it with a credential of the gateway").click();
      await page.getByLabel(/^petId/).fill("43");
      await page.getByLabel(/^Credential/).fill(key);
      await page.getByRole("button", { name: "Run with this credential" }).click();
      await page.getByText("The tool answered.").waitFor();
      assert.ok(petstore.calls.includes("GET /pet/43"), petstore.calls.join(", "));
      assert.ok(!(await page.content()).includes(key), "the credential is not shown again");
      await page.getByRole("link", { name: "See the call in the activity log" }).click();
      const rows = page.getByRole("row", { name: /tools\/call getPetById/ });
      await rows.first().waitFor();
      const texts = await rows.allTextContents();
      assert.equal(texts.length, 2, texts.join("\n"));
      assert.match(texts[0], /laptop/);
      assert.match(texts[1], /owner@localhost/);
      assert.ok(texts.every((row) => /ok/.test(row)));
      await check("activity-log");
      await page.goto(`${s.url}/ui/activity`);
      assert.match(await page.textContent("main") ?? "", /getPetById/);
      await check("activity-dashboard");
    });

    await t.step("creates an http tool, its schema checked as you type", async () => {
      await page.goto(`${s.url}/ui/tools/new`);
      const schema = page.getByLabel(/^Input schema/);
      const live = page.locator("#f-inputSchema-live");
      await schema.fill('{"type": "object", "properties": {"q": ');
      assert.match(await live.textContent() ?? "", /not valid JSON/);
      assert.equal(await schema.getAttribute("aria-invalid"), "true");
      await schema.fill('{"type": "array"}');
      assert.match(await live.textContent() ?? "", /must have "type": "object"/);
      await schema.fill(
        '{"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}',
      );
      assert.equal(await live.textContent(), "valid input schema");
      await page.getByLabel(/^Name/).fill("search_pets");
      await page.getByLabel(/^Execution/).fill('{"method": "GET", "url": "not a url"}');
      await page.getByRole("button", { name: "Create tool" }).click();
      // The API's refusal, next to the field it names.
      assert.match(
        await page.locator("#f-executionConfig-error").textContent() ?? "",
        /executionConfig\.url/,
      );
      await check("tool-new-error");
      await page.getByLabel(/^Execution/).fill(
        `{"method": "GET", "url": "${petstore.url}/pet/findByStatus", "queryParams": {"status": "{{parameters.q}}"}}`,
      );
      await page.getByRole("button", { name: "Create tool" }).click();
      await page.getByText("Tool search_pets created.").waitFor();
      await check("tool-detail");
      await page.goto(`${s.url}/ui/tools?q=search`);
      assert.equal(await page.getByRole("link", { name: "search_pets" }).count(), 1);
      assert.equal(await page.getByRole("link", { name: "getPetById" }).count(), 0);
      assert.match(
        await page.getByRole("row", { name: /search_pets/ }).textContent() ?? "",
        /made here/,
      );
      // An imported tool says where it came from.
      await page.goto(`${s.url}/ui/tools?q=getPetById`);
      await page.getByRole("row", { name: /getPetById/ }).getByRole("link", {
        name: "OpenAPI import",
      })
        .click();
      await page.waitForURL(/\/ui\/apis\/[0-9a-f-]{36}$/);
      assert.match(await page.textContent("main") ?? "", /getPetById/);
    });

    await t.step("switches to a second organization", async () => {
      await page.goto(`${s.url}/ui/settings`);
      await check("settings");
      await page.getByLabel(/^Name/).fill("Acme");
      await page.getByLabel(/^Slug/).fill("acme");
      await page.getByRole("button", { name: "Create organization" }).click();
      await page.getByText("Organization Acme created").waitFor();
      await page.locator("header details summary").click();
      await page.locator("#switch-org").selectOption("acme");
      await page.locator("#switch-password").fill(PASSWORD);
      await page.getByRole("button", { name: "Switch" }).click();
      await page.getByText("Now working in Acme.").waitFor();
      assert.match(await page.textContent("main") ?? "", /No gateways yet/);
    });

    await t.step("every page passes axe wide, at 375 px and in dark mode", async () => {
      const pages = [
        "/ui/gateways",
        "/ui/tools",
        "/ui/tools/new",
        "/ui/apis",
        "/ui/apis/import",
        "/ui/servers",
        "/ui/servers/new",
        "/ui/secrets",
        "/ui/activity",
        "/ui/activity/log",
        "/ui/audit",
        "/ui/members",
        "/ui/keys",
        "/ui/settings",
      ];
      // Back in the first organization, where the pages have things on them.
      await page.locator("header details summary").click();
      await page.locator("#switch-org").selectOption("default");
      await page.locator("#switch-password").fill(PASSWORD);
      await page.getByRole("button", { name: "Switch" }).click();
      await page.getByText("Now working in Default.").waitFor();
      const tools = await s.api("GET", "/tools?q=getPetById", undefined, s.adminKey);
      const id = (tools.body.tools as { id: string }[])[0].id;
      const apis = await s.api("GET", "/apis");
      const apiId = (apis.body.apis as { id: string }[])[0].id;
      pages.push(
        `/ui/tools/${id}`,
        `/ui/apis/${apiId}`,
        `/ui/apis/${apiId}/reimport`,
        new URL(gatewayUrl).pathname,
        `${new URL(gatewayUrl).pathname}/try/${id}`,
      );
      for (
        const [mode, width, scheme] of [
          ["wide", 1200, "light"],
          ["narrow", 375, "light"],
          ["dark", 1200, "dark"],
        ] as const
      ) {
        await page.setViewportSize({ width, height: 900 });
        await page.emulateMedia({ colorScheme: scheme });
        for (const path of pages) {
          await page.goto(`${s.url}${path}`);
          const name = path.replaceAll(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "id").replaceAll("/", "-");
          await check(`${mode}${name}`);
          if (width === 375) {
            const overflow: number = await page.evaluate(
              "document.documentElement.scrollWidth - document.documentElement.clientWidth",
            );
            assert.ok(overflow <= 1, `${path} scrolls sideways at 375 px (${overflow} px)`);
          }
        }
      }
    });
    await context.close();
  } finally {
    await browser.close();
    await petstore.close();
    await s.close();
  }
});

/** The id of the assigned tool `name` on the gateway page, from its rate-limit field. */
async function toolId(page: Page, name: string): Promise<string> {
  const id = await page.getByLabel(`Rate limit of ${name}`).getAttribute("id");
  return id!.slice("limit-".length);
}
