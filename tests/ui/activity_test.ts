/**
 * The request log's export in a real browser: the CSV and NDJSON links of
 * the log page download every request the page's filters match (and only
 * those), as the API exports them; a member, who may not read the log, gets
 * a refusal instead of a file.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { CSV_COLUMNS } from "../../src/api/logs.ts";
import { client, create, expectStatus, join, MEMBER_PASSWORD } from "../api/fixtures.ts";
import { echoTool, startEchoApi } from "../helpers/echo_api.ts";
import { startTestServer } from "../helpers/server.ts";
import { expectAccessible, launch, shot, signInOn, watchedPage } from "./browser.ts";
import { signIn } from "./session.ts";

const PASSWORD = "the owner's long password";

/** Clicks the export link `label` and answers the downloaded file's name and text. */
async function exported(page: Page, label: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: label, exact: true }).click(),
  ]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: await Deno.readTextFile(path) };
}

Deno.test("the request log exports as CSV and NDJSON with the page's filters", async () => {
  const echo = startEchoApi();
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
    for (const name of ["echo", "other"]) {
      const tool = await create(owner, "/tools", echoTool(echo.url, name));
      await create(owner, `/gateways/${gw.id}/tools`, { toolId: tool.id });
    }
    // Three calls of echo (one refused for its arguments) and one of other.
    for (
      const [name, args] of [["echo", { q: "a" }], ["echo", { q: "b" }], ["echo", {}], ["other", {
        q: "c",
      }]] as const
    ) {
      expectStatus(await owner("POST", `/gateways/${gw.id}/call`, { name, arguments: args }), 200);
    }

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, problems } = await watchedPage(context);
    await signInOn(page, s.url, "owner@localhost", PASSWORD, "/ui/activity/log");
    await page.getByLabel("Tool").fill("echo");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/tool=echo/);
    assert.equal(await page.getByRole("row", { name: /tools\/call echo/ }).count(), 3);
    await expectAccessible(page, "log filtered");
    await shot(page, "activity-log-filtered");

    const csv = await exported(page, "CSV");
    assert.equal(csv.name, "requests.csv");
    const lines = csv.text.trimEnd().split("\r\n");
    assert.equal(lines[0], CSV_COLUMNS.join(","));
    const rows = lines.slice(1).map((l) => l.split(","));
    const at = (column: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(column);
    assert.deepEqual(rows.map((r) => r[at("name")]), ["echo", "echo", "echo"]);
    assert.deepEqual(rows.map((r) => r[at("status")]), ["tool_error", "ok", "ok"]);
    assert.ok(rows.every((r) => r[at("callerSubject")] === "owner@localhost"));

    // Narrowed further on the page: the export follows.
    await page.getByLabel("Status").selectOption("ok");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/status=ok/);
    const ndjson = await exported(page, "NDJSON");
    assert.equal(ndjson.name, "requests.ndjson");
    const records = ndjson.text.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.name, r.status, r.gatewayId]), [
      ["echo", "ok", gw.id],
      ["echo", "ok", gw.id],
    ]);
    assert.deepEqual(problems, []);
    await context.close();

    // A member may not read the log: the export is refused, not downloaded.
    await join(s, owner, "default", "mia@example.com", "member");
    const member = await signIn(s.url, "mia@example.com", MEMBER_PASSWORD);
    const refused = await fetch(`${s.url}/ui/activity/log/export?format=csv`, {
      headers: { cookie: member.cookie },
    });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get("content-type") ?? "", /text\/html/);
    assert.ok(!(await refused.text()).includes("callerSubject"));
  } finally {
    await browser.close();
    await s.close();
    await echo.close();
  }
});
