/**
 * Secrets of an org, as stored: metadata in the clear, the value only as
 * AES-256-GCM ciphertext (encryption happens above the store, in
 * `src/secrets/`, where WebCrypto runs outside any store transaction).
 * Also the vault's key check, which tells at start-up whether the configured
 * key is the one the stored secrets were encrypted with.
 *
 * @module
 */
import type { ChangeFeed } from "./changes.ts";
import { uniqueOr } from "./errors.ts";
import type { Row, SqlEngine } from "./sql.ts";
import { now } from "./util.ts";

/** What the API may show of a secret: never its value, not even encrypted. */
export interface SecretInfo {
  id: string;
  orgId: string;
  name: string;
  type: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

/** A secret with its encrypted value, for the vault only. */
export interface SecretRecord extends SecretInfo {
  /** The 96-bit GCM nonce, fresh for every encryption. */
  iv: Uint8Array;
  /** Ciphertext followed by the GCM tag. */
  ciphertext: Uint8Array;
}

/** The fields a create or update writes; the id is chosen by the caller (it is bound into the ciphertext). */
export interface SecretWrite {
  name: string;
  type: string;
  description: string;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function toInfo(r: Row): SecretInfo {
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    name: r.name as string,
    type: r.type as string,
    description: r.description as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toRecord(r: Row): SecretRecord {
  return { ...toInfo(r), iv: r.iv as Uint8Array, ciphertext: r.ciphertext as Uint8Array };
}

const DUPLICATE_NAME = "a secret with this name already exists in the organization";
// Listing never reads the ciphertext columns: what is not read cannot leak.
const INFO_COLUMNS = "id, org_id, name, type, description, created_at, updated_at";

/** Reads and writes `secrets` and the vault's key check; every write announces `secrets` stale. */
export class Secrets {
  constructor(private readonly db: SqlEngine, private readonly changes: ChangeFeed) {}

  /** Stores a new secret with id `id`; a duplicate name in the org is a conflict. */
  async create(orgId: string, id: string, input: SecretWrite): Promise<SecretInfo> {
    const ts = now();
    await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        `INSERT INTO secrets (id, org_id, name, type, description, iv, ciphertext, created_at,
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        orgId,
        input.name,
        input.type,
        input.description,
        input.iv,
        input.ciphertext,
        ts,
        ts,
      ));
    this.changes.stale("secrets");
    return (await this.get(orgId, id))!;
  }

  /** The secret `id` of `orgId` (metadata only), if any. */
  async get(orgId: string, id: string): Promise<SecretInfo | undefined> {
    const r = await this.db.get(
      `SELECT ${INFO_COLUMNS} FROM secrets WHERE org_id = ? AND id = ?`,
      orgId,
      id,
    );
    return r ? toInfo(r) : undefined;
  }

  /** The secrets of `orgId` by name (metadata only). */
  async list(orgId: string): Promise<SecretInfo[]> {
    const rows = await this.db.all(
      `SELECT ${INFO_COLUMNS} FROM secrets WHERE org_id = ? ORDER BY name`,
      orgId,
    );
    return rows.map(toInfo);
  }

  /** The secret named `name` in `orgId` with its ciphertext, for decryption on use. */
  async byName(orgId: string, name: string): Promise<SecretRecord | undefined> {
    const r = await this.db.get("SELECT * FROM secrets WHERE org_id = ? AND name = ?", orgId, name);
    return r ? toRecord(r) : undefined;
  }

  /** Replaces a secret's fields; undefined when not found. */
  async update(orgId: string, id: string, input: SecretWrite): Promise<SecretInfo | undefined> {
    const res = await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        `UPDATE secrets SET name = ?, type = ?, description = ?, iv = ?, ciphertext = ?,
         updated_at = ? WHERE org_id = ? AND id = ?`,
        input.name,
        input.type,
        input.description,
        input.iv,
        input.ciphertext,
        now(),
        orgId,
        id,
      ));
    if (res.changes === 0) return undefined;
    this.changes.stale("secrets");
    return await this.get(orgId, id);
  }

  /** Changes only name and description (the ciphertext stays); undefined when not found. */
  async rename(
    orgId: string,
    id: string,
    name: string,
    description: string,
  ): Promise<SecretInfo | undefined> {
    const res = await uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.run(
        "UPDATE secrets SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ?",
        name,
        description,
        now(),
        orgId,
        id,
      ));
    if (res.changes === 0) return undefined;
    this.changes.stale("secrets");
    return await this.get(orgId, id);
  }

  /** Deletes a secret; false when not found. */
  async delete(orgId: string, id: string): Promise<boolean> {
    const res = await this.db.run("DELETE FROM secrets WHERE org_id = ? AND id = ?", orgId, id);
    if (res.changes === 0) return false;
    this.changes.stale("secrets");
    return true;
  }

  /** How many secrets are stored, across all orgs. */
  async count(): Promise<number> {
    return Number((await this.db.get("SELECT COUNT(*) AS n FROM secrets"))?.n ?? 0);
  }

  /** The stored key check (a known text encrypted under the vault key), if one was written. */
  async keyCheck(): Promise<{ iv: Uint8Array; ciphertext: Uint8Array } | undefined> {
    const r = await this.db.get("SELECT iv, ciphertext FROM vault_key_check WHERE id = 1");
    return r ? { iv: r.iv as Uint8Array, ciphertext: r.ciphertext as Uint8Array } : undefined;
  }

  /** Writes (or replaces) the key check. */
  async setKeyCheck(iv: Uint8Array, ciphertext: Uint8Array): Promise<void> {
    await this.db.run(
      `INSERT INTO vault_key_check (id, iv, ciphertext, created_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET iv = excluded.iv, ciphertext = excluded.ciphertext,
       created_at = excluded.created_at`,
      iv,
      ciphertext,
      now(),
    );
  }
}
