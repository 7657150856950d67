/**
 * The base URL clients should use: the configured public URL, else the
 * origin the request arrived on.
 *
 * @module
 */
import type { Config } from "../config.ts";

/** The base URL (no trailing slash) for links in responses to `req`. */
export function baseUrl(config: Config, req: Request): string {
  return config.publicUrl ?? new URL(req.url).origin;
}
