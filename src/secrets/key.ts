/**
 * The vault key: 32 bytes for AES-256-GCM, from `GATEHOUSE_SECRET_KEY`
 * (base64 or hex), else from `<dataDir>/secret.key`, created with mode 0600
 * on first start. A `:memory:` data folder gets a throwaway key, since its
 * secrets die with the process anyway.
 *
 * Messages about a bad key never quote it: a near-miss key is still a secret.
 *
 * @module
 */
import { ConfigError } from "../config.ts";

/** The environment variable holding the key. */
export const SECRET_KEY_ENV = "GATEHOUSE_SECRET_KEY";
/** The key file's name inside the data folder. */
export const SECRET_KEY_FILE = "secret.key";
/** Key length in bytes (AES-256). */
export const SECRET_KEY_BYTES = 32;

const HOW = `${SECRET_KEY_BYTES} random bytes as base64 (44 characters) or hex (64 characters); ` +
  "generate one with: openssl rand -base64 32";

/**
 * Decodes a key written as hex or base64 (standard or URL-safe, padding
 * optional); undefined unless it is exactly 32 bytes.
 */
export function decodeSecretKey(text: string): Uint8Array | undefined {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) {
    return Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return undefined;
  let b64 = s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (b64.length % 4 === 1) return undefined;
  b64 += "=".repeat((4 - (b64.length % 4)) % 4);
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return undefined;
  }
  if (bin.length !== SECRET_KEY_BYTES) return undefined;
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Parses the `GATEHOUSE_SECRET_KEY` value, or throws a {@link ConfigError} saying what is expected. */
export function parseSecretKeyEnv(text: string): Uint8Array {
  const key = decodeSecretKey(text);
  if (!key) throw new ConfigError(`${SECRET_KEY_ENV} must be ${HOW}`);
  return key;
}

/** Where the key came from, for start-up messages. */
export interface LoadedSecretKey {
  bytes: Uint8Array;
  source: "env" | "file" | "ephemeral";
  /** The key file, when the key lives in one. */
  path?: string;
  /** True when the key file was created by this start. */
  created: boolean;
  /** Things the operator should fix (e.g. a key file others can read). */
  warnings: string[];
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The key for a server: `envKey` (already parsed from `GATEHOUSE_SECRET_KEY`)
 * when set, else the key file in `dataDir`, created when missing.
 */
export async function loadSecretKey(
  dataDir: string,
  envKey: Uint8Array | undefined,
): Promise<LoadedSecretKey> {
  if (envKey) return { bytes: envKey, source: "env", created: false, warnings: [] };
  if (dataDir === ":memory:") {
    return {
      bytes: crypto.getRandomValues(new Uint8Array(SECRET_KEY_BYTES)),
      source: "ephemeral",
      created: false,
      warnings: [],
    };
  }
  const path = `${dataDir.replace(/\/+$/, "")}/${SECRET_KEY_FILE}`;
  const existing = await readKeyFile(path);
  if (existing) return { ...existing, path, source: "file", created: false };
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_KEY_BYTES));
  try {
    // createNew: two servers starting at once on one folder must not both write a key.
    await Deno.writeTextFile(path, `${toBase64(bytes)}\n`, { mode: 0o600, createNew: true });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      const raced = await readKeyFile(path);
      if (raced) return { ...raced, path, source: "file", created: false };
    }
    throw new ConfigError(
      `cannot create the secret key file ${path}: ${(err as Error).message}; ` +
        `set ${SECRET_KEY_ENV} instead`,
    );
  }
  return { bytes, source: "file", path, created: true, warnings: [] };
}

async function readKeyFile(
  path: string,
): Promise<{ bytes: Uint8Array; warnings: string[] } | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read the secret key file ${path}: ${(err as Error).message}`);
  }
  const bytes = decodeSecretKey(text);
  if (!bytes) throw new ConfigError(`the secret key file ${path} must hold ${HOW}`);
  const warnings: string[] = [];
  try {
    const mode = (await Deno.stat(path)).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      warnings.push(
        `the secret key file ${path} can be read by other users (mode ${
          (mode & 0o777).toString(8)
        }); run: chmod 600 ${path}`,
      );
    }
  } catch {
    // No mode to check (e.g. Windows): nothing to warn about.
  }
  return { bytes, warnings };
}

/** The one-time notice after a key file was created: where it is, and why to move it. */
export function keyFileNotice(path: string): string {
  return [
    `Created the secret vault key ${path} (mode 0600).`,
    `Anyone with this file and the database can decrypt stored secrets: move the key to`,
    `${SECRET_KEY_ENV} (its content is the value) and keep it out of backups of the data folder.`,
  ].join("\n");
}
