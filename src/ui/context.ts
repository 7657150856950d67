/**
 * What the admin UI's routes share: what the UI is built from, and what a
 * signed-in request carries (the API client acting with the session's key,
 * who the caller is, the form token).
 *
 * @module
 */
import type { Hono } from "hono";
import type { Config } from "../config.ts";
import type { ApiClient, Json } from "./client.ts";

/** What the UI is built from. */
export interface UiDeps {
  /** The whole app: the UI calls the management API through it. */
  app: Hono;
  config: Config;
}

/** The caller of a signed-in request, as `GET /me` answers. */
export interface Me {
  user: { id: string; email: string; name: string };
  organization: { id: string; slug: string; name: string; role: string };
  role: "owner" | "admin" | "member" | "viewer";
  accessKey: { id: string; name: string; expiresAt: string | null };
  hasPassword: boolean;
}

/** A signed-in request. */
export interface UiRequest {
  /** The management API, as the session's key. */
  api: ApiClient;
  me: Me;
  /** The token the page's forms carry. */
  csrf: string;
  /** A message left by the request before (a redirect after a change). */
  flash?: string;
  /** Members and up: write controls are shown. */
  canWrite: boolean;
  /** Admins and owners: members, the audit trail and the request log. */
  isAdmin: boolean;
  /** The caller's organizations, for the switcher. */
  orgs: Json[];
}

/** The Hono environment of the UI's routes. */
export interface UiEnv {
  Variables: {
    ui: UiRequest;
    /** The posted form, read (and its token checked) before the route runs. */
    form: FormData;
  };
}
