/**
 * The OAuth 2.1 authorization server's state: registered clients, grants
 * (one per consent, the family every token of it belongs to), authorization
 * codes and tokens. Codes, tokens and client secrets are kept only as
 * SHA-256 hashes; the raw values exist only in the response that hands them out.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import type { Role } from "./orgs.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { newId, now } from "./util.ts";

/** A dynamically registered client (RFC 7591). */
export interface OAuthClient {
  id: string;
  gatewayId: string;
  clientName: string;
  redirectUris: string[];
  /** `none` (public client, PKCE only), `client_secret_post` or `client_secret_basic`. */
  tokenEndpointAuthMethod: string;
  /** SHA-256 of the client secret, for confidential clients. */
  secretHash: string | null;
  /** The registration metadata as answered to the client (without the secret). */
  metadata: Record<string, unknown>;
  createdAt: string;
}

/** A user's consent for a client on a gateway: the family its codes and tokens belong to. */
export interface OAuthGrant {
  id: string;
  gatewayId: string;
  clientId: string;
  userId: string;
  scopes: string[];
  /** The RFC 8707 resource (the gateway URL) the tokens are bound to. */
  resource: string;
  createdAt: string;
  revokedAt: string | null;
}

/** An authorization code as stored (the grant it would start, and what the token request must match). */
export interface OAuthCode {
  grantId: string;
  redirectUri: string;
  codeChallenge: string;
  expiresAt: string;
  usedAt: string | null;
}

/** What kind of token a hash stands for. */
export type TokenKind = "access" | "refresh";

/** A token row joined with its grant. */
export interface OAuthTokenRecord {
  kind: TokenKind;
  grant: OAuthGrant;
  /** What this token grants: the grant's scopes, or fewer when a refresh asked for fewer. */
  scopes: string[];
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
}

/** The principal behind an active access token. */
export interface ActiveAccess {
  grantId: string;
  /** The OAuth client the grant was made to. */
  clientId: string;
  userId: string;
  scopes: string[];
  /** The user's current role in the gateway's org (tokens die with the membership). */
  role: Role;
  resource: string;
}

function toClient(r: Row): OAuthClient {
  return {
    id: r.id as string,
    gatewayId: r.gateway_id as string,
    clientName: r.client_name as string,
    redirectUris: JSON.parse(r.redirect_uris as string),
    tokenEndpointAuthMethod: r.token_endpoint_auth_method as string,
    secretHash: (r.secret_hash as string | null) ?? null,
    metadata: JSON.parse(r.metadata as string),
    createdAt: r.created_at as string,
  };
}

function toGrant(r: Row, prefix = ""): OAuthGrant {
  return {
    id: r[`${prefix}id`] as string,
    gatewayId: r[`${prefix}gateway_id`] as string,
    clientId: r[`${prefix}client_id`] as string,
    userId: r[`${prefix}user_id`] as string,
    scopes: JSON.parse(r[`${prefix}scopes`] as string),
    resource: r[`${prefix}resource`] as string,
    createdAt: r[`${prefix}created_at`] as string,
    revokedAt: (r[`${prefix}revoked_at`] as string | null) ?? null,
  };
}

const GRANT_COLUMNS =
  "g.id AS g_id, g.gateway_id AS g_gateway_id, g.client_id AS g_client_id, g.user_id AS g_user_id, " +
  "g.scopes AS g_scopes, g.resource AS g_resource, g.created_at AS g_created_at, " +
  "g.revoked_at AS g_revoked_at";

/** Reads and writes `oauth_clients`, `oauth_grants`, `oauth_codes` and `oauth_tokens`. */
export class OAuthStore {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Stores a registered client. */
  async createClient(client: Omit<OAuthClient, "createdAt">): Promise<OAuthClient> {
    const row = { ...client, createdAt: now() };
    await this.db.run(
      `INSERT INTO oauth_clients (id, gateway_id, client_name, redirect_uris,
         token_endpoint_auth_method, secret_hash, metadata, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.gatewayId,
      row.clientName,
      JSON.stringify(row.redirectUris),
      row.tokenEndpointAuthMethod,
      row.secretHash,
      JSON.stringify(row.metadata),
      row.createdAt,
    );
    return row;
  }

  /** The client registered as `id` on `gatewayId` (clients never cross gateways). */
  async getClient(gatewayId: string, id: string): Promise<OAuthClient | undefined> {
    const r = await this.db.get(
      "SELECT * FROM oauth_clients WHERE gateway_id = ? AND id = ?",
      gatewayId,
      id,
    );
    return r ? toClient(r) : undefined;
  }

  /**
   * Records a consent and its authorization code in one transaction (a code
   * without its grant, or the reverse, would be useless).
   */
  async createGrantWithCode(
    grant: Omit<OAuthGrant, "id" | "createdAt" | "revokedAt">,
    code: { hash: string; redirectUri: string; codeChallenge: string; expiresAt: string },
  ): Promise<OAuthGrant> {
    const g: OAuthGrant = { ...grant, id: newId(), createdAt: now(), revokedAt: null };
    await this.db.tx(async () => {
      await this.db.run(
        `INSERT INTO oauth_grants (id, gateway_id, client_id, user_id, scopes, resource, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        g.id,
        g.gatewayId,
        g.clientId,
        g.userId,
        JSON.stringify(g.scopes),
        g.resource,
        g.createdAt,
      );
      await this.db.run(
        `INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at)
         VALUES (?, ?, ?, ?, ?)`,
        code.hash,
        g.id,
        code.redirectUri,
        code.codeChallenge,
        code.expiresAt,
      );
    });
    return g;
  }

  /**
   * Marks the code with `hash` used and returns it with its grant as it was
   * before this call (so a second use is visible as `usedAt` set). The
   * update and the read share one transaction: two concurrent redemptions
   * cannot both see the code unused.
   */
  async redeemCode(hash: string): Promise<{ code: OAuthCode; grant: OAuthGrant } | undefined> {
    return await this.db.tx(async () => {
      const r = await this.db.get(
        `SELECT c.redirect_uri, c.code_challenge, c.expires_at, c.used_at, ${GRANT_COLUMNS}
         FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.code_hash = ?`,
        hash,
      );
      if (!r) return undefined;
      if (r.used_at === null) {
        await this.db.run("UPDATE oauth_codes SET used_at = ? WHERE code_hash = ?", now(), hash);
      }
      return {
        code: {
          grantId: r.g_id as string,
          redirectUri: r.redirect_uri as string,
          codeChallenge: r.code_challenge as string,
          expiresAt: r.expires_at as string,
          usedAt: (r.used_at as string | null) ?? null,
        },
        grant: toGrant(r, "g_"),
      };
    });
  }

  /** Stores a token of `grantId` granting `scopes`. */
  async addToken(
    grantId: string,
    kind: TokenKind,
    hash: string,
    expiresAt: string,
    scopes: readonly string[],
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO oauth_tokens (token_hash, grant_id, kind, created_at, expires_at, scopes)
       VALUES (?, ?, ?, ?, ?, ?)`,
      hash,
      grantId,
      kind,
      now(),
      expiresAt,
      JSON.stringify(scopes),
    );
  }

  /** The token with `hash` and its grant, in any state. */
  async token(hash: string): Promise<OAuthTokenRecord | undefined> {
    const r = await this.db.get(
      `SELECT t.kind, t.expires_at, t.scopes, t.used_at, t.revoked_at, ${GRANT_COLUMNS}
       FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = ?`,
      hash,
    );
    if (!r) return undefined;
    return {
      kind: r.kind as TokenKind,
      grant: toGrant(r, "g_"),
      scopes: JSON.parse(r.scopes as string),
      expiresAt: r.expires_at as string,
      usedAt: (r.used_at as string | null) ?? null,
      revokedAt: (r.revoked_at as string | null) ?? null,
    };
  }

  /**
   * Marks the refresh token `hash` used, only if it is still unused; true
   * when this call was the one that used it. Rotation relies on this being
   * a single conditional update: of two concurrent refreshes only one wins.
   */
  async useRefreshToken(hash: string): Promise<boolean> {
    const res = await this.db.run(
      `UPDATE oauth_tokens SET used_at = ?
       WHERE token_hash = ? AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL`,
      now(),
      hash,
    );
    return res.changes === 1;
  }

  /** Revokes one token. */
  async revokeToken(hash: string): Promise<void> {
    await this.db.run(
      "UPDATE oauth_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
      now(),
      hash,
    );
  }

  /** Revokes a grant: every code and token of the family stops working at once. */
  async revokeGrant(grantId: string): Promise<void> {
    await this.db.run(
      "UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
      now(),
      grantId,
    );
    this.changes.revoked(grantId);
  }

  /**
   * The principal behind the access token `hash` on `gatewayId`, when the
   * token and its grant are unrevoked, the token unexpired at `at`, and the
   * user still a member of the gateway's org. One indexed lookup: this runs
   * on every MCP request.
   */
  async activeAccess(
    gatewayId: string,
    hash: string,
    at = now(),
  ): Promise<ActiveAccess | undefined> {
    const r = await this.db.get(
      `SELECT g.id, g.client_id, g.user_id, t.scopes, g.resource, m.role
       FROM oauth_tokens t
       JOIN oauth_grants g ON g.id = t.grant_id
       JOIN gateways gw ON gw.id = g.gateway_id
       JOIN org_members m ON m.org_id = gw.org_id AND m.user_id = g.user_id
       WHERE t.token_hash = ? AND t.kind = 'access' AND g.gateway_id = ?
         AND t.revoked_at IS NULL AND g.revoked_at IS NULL AND t.expires_at > ?`,
      hash,
      gatewayId,
      at,
    );
    if (!r) return undefined;
    return {
      grantId: r.id as string,
      clientId: r.client_id as string,
      userId: r.user_id as string,
      scopes: JSON.parse(r.scopes as string),
      role: r.role as Role,
      resource: r.resource as string,
    };
  }

  /** Deletes codes and tokens expired before `before` (housekeeping; nothing reads them). */
  async prune(before: string): Promise<void> {
    await this.db.tx(async () => {
      await this.db.run("DELETE FROM oauth_codes WHERE expires_at < ?", before);
      await this.db.run("DELETE FROM oauth_tokens WHERE expires_at < ?", before);
    });
  }
}
