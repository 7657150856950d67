/**
 * The admin UI's static files: its stylesheet, its script and its icon,
 * kept in `src/ui/assets/` and imported as text, so they are part of the
 * module graph and `deno compile` embeds them: nothing is fetched from
 * anywhere else, and the UI works on a network without internet access.
 * Each is served under a name that carries a hash of its content, cached
 * for good by browsers, and a new build gets new names.
 *
 * @module
 */
import { createHash } from "node:crypto";
import css from "./assets/app.css" with { type: "text" };
import js from "./assets/app.js" with { type: "text" };
import icon from "./assets/icon.svg" with { type: "text" };

/** One static file. */
interface Asset {
  /** The path it is served at, with its content hash. */
  path: string;
  type: string;
  body: string;
}

function asset(name: string, ext: string, type: string, body: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { path: `/ui/assets/${name}.${hash}.${ext}`, type, body };
}

/** The files, by what the pages call them. */
export const ASSETS = {
  css: asset("app", "css", "text/css; charset=utf-8", css),
  js: asset("app", "js", "text/javascript; charset=utf-8", js),
  icon: asset("icon", "svg", "image/svg+xml", icon),
} as const;

/** The file served at `path`, if any. */
export function assetAt(path: string): Asset | undefined {
  return Object.values(ASSETS).find((a) => a.path === path);
}
