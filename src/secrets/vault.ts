/**
 * The secrets vault: encrypts values on their way into the store, and
 * implements the executor's {@link SecretResolver} by decrypting on use.
 *
 * Decrypted values are not cached. Each use costs one indexed SELECT and one
 * AES-GCM decryption (measured about 20 + 60 microseconds on a busy 2-core
 * machine, next to an upstream round trip of milliseconds), and in exchange
 * plaintext lives only for the duration of a call, and an update or delete
 * applies to the very next call with no cache to invalidate. The one exception is OAuth2 access tokens (see
 * `oauth2.ts`): they are derived, short-lived, and expensive to obtain.
 *
 * @module
 */
import { ConfigError } from "../config.ts";
import type { SecretInfo, SecretRecord } from "../store/secrets.ts";
import type { Store } from "../store/store.ts";
import type { HopDecision } from "../tools/outbound.ts";
import {
  type AuthMaterial,
  type ResolvedSecret,
  type ResolveOptions,
  SecretError,
  type SecretResolver,
} from "../tools/secrets.ts";
import { DecryptError, SecretCipher } from "./cipher.ts";
import { TokenCache, type TokenUrlCheck } from "./oauth2.ts";
import { OrgOutboundPolicies, OutboundGuard } from "../tools/outbound_policy.ts";
import { base64, type SecretValue, sensitiveParts } from "./types.ts";

/** The fields of a secret as the API sets them. */
export interface SecretInput {
  name: string;
  description: string;
  value: SecretValue;
}

/** Checks a destination for the org (the outbound policy), for OAuth2 token requests. */
export type DestinationCheck = (
  orgId: string,
  url: URL,
  signal: AbortSignal,
) => Promise<HopDecision>;

/** What the vault is built from. */
export interface VaultOptions {
  /** OAuth2 token cache (shared, so tokens survive nothing but the process). */
  tokens: TokenCache;
  /** The outbound policy check applied to token URLs. */
  check: DestinationCheck;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Encrypted storage of secrets and their resolution for tool calls. */
export class Vault implements SecretResolver {
  readonly #store: Store;
  readonly #cipher: SecretCipher;
  readonly #tokens: TokenCache;
  readonly #check: DestinationCheck;
  /**
   * Secrets as read and decrypted, by org and name: a tool call that uses
   * one reads no row and decrypts nothing. Emptied whenever a secret is
   * written, here or on another replica, or notices may have been missed.
   */
  readonly #opened = new Map<string, { record: SecretRecord; value: SecretValue }>();
  /** Counts the emptyings, so a read that began before one is not cached after it. */
  #generation = 0;

  /** A vault over `store`, sealing with `cipher`. */
  constructor(store: Store, cipher: SecretCipher, options: VaultOptions) {
    this.#store = store;
    this.#cipher = cipher;
    this.#tokens = options.tokens;
    this.#check = options.check;
    const forget = () => {
      this.#generation++;
      this.#opened.clear();
    };
    store.changes.onStale("secrets", forget);
    store.changes.onResync(forget);
  }

  /**
   * Makes sure the key is the one the stored secrets were sealed with:
   * writes a key check on first use; with a different key and secrets stored,
   * refuses to start (a {@link ConfigError} naming where the key came from),
   * since every secret would fail on use. With no secrets stored there is
   * nothing to lose, so the new key's check replaces the old one.
   */
  async verifyKey(keySource: string): Promise<void> {
    const stored = await this.#store.secrets.keyCheck();
    if (stored && await this.#cipher.matches(stored)) return;
    const count = await this.#store.secrets.count();
    if (stored && count > 0) {
      throw new ConfigError(
        `the secret key (${keySource}) is not the key the ${count} stored secret${
          count === 1 ? " was" : "s were"
        } encrypted with; start with the original key (GATEHOUSE_SECRET_KEY or ` +
          `<data>/secret.key)`,
      );
    }
    const check = await this.#cipher.keyCheck();
    await this.#store.secrets.setKeyCheck(check.iv, check.ciphertext);
  }

  /**
   * Encrypts and stores a new secret; a duplicate name is a conflict (409).
   * `andThen` runs in the transaction of the write (to record it): when it
   * throws, nothing is stored.
   */
  async create(
    orgId: string,
    input: SecretInput,
    andThen: (created: SecretInfo) => Promise<void> = async () => {},
  ): Promise<SecretInfo> {
    const id = crypto.randomUUID();
    // Sealed first, outside the transaction: the transaction holds the database while it runs.
    const sealed = await this.#cipher.seal(orgId, id, JSON.stringify(input.value));
    return await this.#store.tx(async () => {
      const created = await this.#store.secrets.create(orgId, id, {
        name: input.name,
        type: input.value.type,
        description: input.description,
        ...sealed,
      });
      await andThen(created);
      return created;
    });
  }

  /**
   * Replaces a secret's value and metadata; undefined when not found.
   * `andThen` runs in the transaction of the write with the secret as it was
   * and as it is (to record the change): when it throws, nothing changes.
   */
  async replace(
    orgId: string,
    id: string,
    input: SecretInput,
    andThen: (before: SecretInfo, after: SecretInfo) => Promise<void> = async () => {},
  ): Promise<SecretInfo | undefined> {
    // Sealed first, outside the transaction: the transaction holds the database while it runs.
    const sealed = await this.#cipher.seal(orgId, id, JSON.stringify(input.value));
    return await this.#store.tx(async () => {
      const before = await this.#store.secrets.get(orgId, id);
      const after = await this.#store.secrets.update(orgId, id, {
        name: input.name,
        type: input.value.type,
        description: input.description,
        ...sealed,
      });
      if (before && after) await andThen(before, after);
      return after;
    });
  }

  /** The decrypted value of the secret `name` in `orgId`, with the record; undefined when missing. */
  async #open(
    orgId: string,
    name: string,
  ): Promise<{ record: SecretRecord; value: SecretValue } | undefined> {
    const key = `${orgId}\n${name}`;
    const cached = this.#opened.get(key);
    if (cached) return cached;
    const generation = this.#generation;
    const record = await this.#store.secrets.byName(orgId, name);
    if (!record) return undefined;
    let text: string;
    try {
      text = await this.#cipher.open(orgId, record.id, record);
    } catch (err) {
      if (err instanceof DecryptError) {
        throw new SecretError(
          `secret '${name}' could not be decrypted with this server's secret key ` +
            "(was the key changed, or the database copied from another server?); " +
            "save the secret again under /secrets",
        );
      }
      throw err;
    }
    const opened = { record, value: JSON.parse(text) as SecretValue };
    if (generation === this.#generation) this.#opened.set(key, opened);
    return opened;
  }

  /** The token of an OAuth2 secret, fetched or cached. */
  async #token(
    orgId: string,
    name: string,
    record: SecretRecord,
    value: SecretValue & { type: "oauth2_client_credentials" },
    options: ResolveOptions,
  ) {
    const check: TokenUrlCheck = async (url, signal) => {
      const d = await this.#check(orgId, url, signal);
      return d.ok ? { ok: true, client: d.client } : { ok: false, message: d.message };
    };
    // The IV changes with every save, so a new client secret never reuses an old token.
    const key = `${orgId}:${record.id}:${hex(record.iv)}`;
    return await this.#tokens.token(key, name, value, check, options);
  }

  /** `{{secrets.NAME}}`: api_key -> key, bearer -> token, basic -> user:pass, OAuth2 -> a token. */
  async resolve(
    orgId: string,
    name: string,
    options: ResolveOptions = {},
  ): Promise<ResolvedSecret | undefined> {
    const found = await this.#open(orgId, name);
    if (!found) return undefined;
    const { record, value } = found;
    const sensitive = sensitiveParts(value);
    switch (value.type) {
      case "api_key":
        return { value: value.key, sensitive };
      case "bearer_token":
        return { value: value.token, sensitive };
      case "basic_auth":
        return { value: `${value.username}:${value.password}`, sensitive };
      case "oauth2_client_credentials": {
        const t = await this.#token(orgId, name, record, value, options);
        return { value: t.token, sensitive: [...sensitive, ...t.sensitive] };
      }
      case "custom_headers":
        throw new SecretError(
          `secret '${name}' holds custom headers, which cannot fill a {{secrets.${name}}} ` +
            `template; use it as executionConfig.auth: {"secret": "${name}"}`,
        );
    }
  }

  /** `executionConfig.auth`: the headers or query parameter the secret's type calls for. */
  async authenticate(
    orgId: string,
    name: string,
    options: ResolveOptions = {},
  ): Promise<AuthMaterial | undefined> {
    const found = await this.#open(orgId, name);
    if (!found) return undefined;
    const { record, value } = found;
    const sensitive = sensitiveParts(value);
    const material = (
      headers: [string, string][],
      query: [string, string][] = [],
      refreshable = false,
    ): AuthMaterial => ({ headers, query, sensitive, refreshable });
    switch (value.type) {
      case "api_key":
        return value.in === "query"
          ? material([], [[value.name, value.key]])
          : material([[value.name, value.key]]);
      case "bearer_token":
        return material([["authorization", `Bearer ${value.token}`]]);
      case "basic_auth":
        return material([[
          "authorization",
          `Basic ${base64(`${value.username}:${value.password}`)}`,
        ]]);
      case "oauth2_client_credentials": {
        const t = await this.#token(orgId, name, record, value, options);
        return {
          headers: [["authorization", `Bearer ${t.token}`]],
          query: [],
          sensitive: [...sensitive, ...t.sensitive],
          refreshable: true,
        };
      }
      case "custom_headers":
        return material(Object.entries(value.headers));
    }
  }
}

/**
 * A vault whose OAuth2 token requests obey the org's outbound policy
 * (checked by `guard`, per org from `policies`), like tool calls do.
 */
export function vaultFor(
  store: Store,
  cipher: SecretCipher,
  guard: OutboundGuard = new OutboundGuard(),
  policies: OrgOutboundPolicies = new OrgOutboundPolicies(store),
): Vault {
  return new Vault(store, cipher, {
    tokens: new TokenCache(),
    check: async (orgId, url, signal) => {
      const { policy, slug } = await policies.get(orgId);
      return await guard.decide(url, policy, signal, slug);
    },
  });
}
