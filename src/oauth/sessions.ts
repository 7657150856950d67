/**
 * Short-lived login sessions of the authorization pages, held in memory and
 * named by an `HttpOnly; SameSite=Lax` cookie scoped to one gateway's OAuth
 * path. A session holds the signed-in user (once the password checked out)
 * and the forms it was shown: each form carries its own random token, bound
 * to this session and to the authorization request it belongs to, and works
 * once. A post whose token is not a live form of the cookie's session is
 * refused, which is the CSRF protection; the request parameters never travel
 * through the form, so they cannot be tampered with between pages.
 *
 * @module
 */
import { generateToken } from "../auth/tokens.ts";

/** An authorization request that passed validation, waiting for login and consent. */
export interface PendingAuthorization {
  clientId: string;
  clientName: string | undefined;
  clientSource: "registered" | "metadata_document";
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  /** Requested scopes this gateway offers (before narrowing by the user's role). */
  scopes: string[];
  resource: string;
}

/** Which page a form was on. */
export type FormStage = "login" | "consent";

/** A login session. */
export interface LoginSession {
  id: string;
  gatewayId: string;
  /** Set once the user signed in. */
  userId?: string;
  expires: number;
  forms: Map<string, { stage: FormStage; request: PendingAuthorization }>;
}

/** How long a login session lasts, in ms (long enough to sign in, short enough to not linger). */
export const SESSION_TTL_MS = 15 * 60_000;
const MAX_FORMS = 20;
const MAX_SESSIONS = 10_000;
/** The session cookie's name. */
export const SESSION_COOKIE = "gatehouse_oauth";

/** The live login sessions. */
export class LoginSessions {
  readonly #sessions = new Map<string, LoginSession>();

  /** The live session named by `id` for `gatewayId`, if any. */
  get(id: string | undefined, gatewayId: string): LoginSession | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expires <= Date.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s.gatewayId === gatewayId ? s : undefined;
  }

  /** A new session for `gatewayId`, signed in as `userId` when given. */
  create(gatewayId: string, userId?: string): LoginSession {
    this.#sweep();
    const s: LoginSession = {
      id: generateToken(""),
      gatewayId,
      userId,
      expires: Date.now() + SESSION_TTL_MS,
      forms: new Map(),
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /**
   * Signs `userId` in: the old session ends and a new one (new id) starts,
   * so a session id planted before login is worthless after it (fixation).
   */
  signIn(old: LoginSession, userId: string): LoginSession {
    this.#sessions.delete(old.id);
    return this.create(old.gatewayId, userId);
  }

  /** Issues a one-time form token on `session` for `request` at `stage`. */
  issueForm(session: LoginSession, stage: FormStage, request: PendingAuthorization): string {
    const token = generateToken("");
    session.forms.set(token, { stage, request });
    while (session.forms.size > MAX_FORMS) {
      session.forms.delete(session.forms.keys().next().value!);
    }
    return token;
  }

  /** Takes (and so spends) the form `token` of `session`; undefined when it is not one. */
  takeForm(
    session: LoginSession,
    token: string,
  ): { stage: FormStage; request: PendingAuthorization } | undefined {
    const form = session.forms.get(token);
    session.forms.delete(token);
    return form;
  }

  /** Ends `session` (after it produced a code, or was denied). */
  end(session: LoginSession): void {
    this.#sessions.delete(session.id);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.#sessions) {
      if (s.expires <= now) this.#sessions.delete(id);
    }
    while (this.#sessions.size >= MAX_SESSIONS) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
  }
}

/** The value of cookie `name` in `header`. */
export function readCookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

/** A `Set-Cookie` value for the session `id` on `path`; `secure` when the pages are served over https. */
export function sessionCookie(id: string, path: string, secure: boolean, maxAgeSeconds: number) {
  return `${SESSION_COOKIE}=${id}; Path=${path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax` +
    (secure ? "; Secure" : "");
}
