/**
 * A real browser for the admin UI's tests: Debian's headless Chromium,
 * driven by playwright-core and started by the tests themselves, with
 * axe-core for accessibility, a watch for Content-Security-Policy
 * violations and page errors, and screenshots of every page under
 * `tests/ui/screenshots/` (git-ignored) to look at.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import axeSource from "axe-core/axe.min.js" with { type: "text" };

/** Where Chromium may be: `CHROMIUM_PATH`, else Debian's and Ubuntu's places. */
const CANDIDATES = [
  Deno.env.get("CHROMIUM_PATH"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
].filter((p): p is string => !!p);

/** The Chromium executable, or an error that says how to get one. */
export function chromiumPath(): string {
  for (const path of CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there; try the next.
    }
  }
  throw new Error(
    `the admin UI tests need Chromium: none at ${CANDIDATES.join(", ")}. Install Debian's ` +
      "package 'chromium' (apt-get install -y chromium; .ci/run does it when it is missing), " +
      "or set CHROMIUM_PATH.",
  );
}

/** Starts headless Chromium (one per test file: starting one takes a while on 2 cores). */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // As root in a container Chromium's sandbox cannot start; /dev/shm is small there.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** What a page did wrong while it was open: CSP violations, script errors. */
export interface Watched {
  page: Page;
  problems: string[];
}

/** A new page of `context`, watched for CSP violations and script errors. */
export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  return { page, problems };
}

const SCREENSHOTS = new URL("./screenshots/", import.meta.url);

/** Saves a full-page screenshot of `page` as `screenshots/<name>.png`. */
export async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}

/**
 * Runs axe-core in `page` (injected through the DevTools protocol, which
 * the page's CSP does not govern) and fails on any serious or critical
 * violation, naming each with the elements it found.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const hasAxe = await page.evaluate("'axe' in globalThis");
  if (!hasAxe) await page.evaluate(axeSource);
  // A string, run in the page: the page's globals are not this module's.
  const violations: { id: string; impact: string; help: string; nodes: string[] }[] = await page
    .evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
      })))`);
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${label}: accessibility violations`);
}

/** A file for an `<input type=file>`. */
export function file(name: string, text: string, mimeType = "text/plain") {
  return { name, mimeType, buffer: Buffer.from(text) };
}

/** Signs `page` in through the sign-in form, landing on `next` (a path under /ui). */
export async function signInOn(
  page: Page,
  base: string,
  email: string,
  password: string,
  next = "/ui/gateways",
): Promise<void> {
  await page.goto(`${base}/ui/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**${next}`);
}
