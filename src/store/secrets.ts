/**
 * Secrets of an org, as stored: metadata in the clear, the value only as
 * AES-256-GCM ciphertext (encryption happens above the store, in
 * `src/secrets/`, because WebCrypto is asynchronous and store calls are not).
 * Also the vault's key check, which tells at start-up whether the configured
 * key is the one the stored secrets were encrypted with.
 *
 * @module
 */
import type { Db } from "./db.ts";
import { uniqueOr } from "./errors.ts";
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

type Row = Record<string, unknown>;

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

/** Reads and writes `secrets` and the vault's key check. */
export class Secrets {
  constructor(private readonly db: Db) {}

  /** Stores a new secret with id `id`; a duplicate name in the org is a conflict. */
  create(orgId: string, id: string, input: SecretWrite): SecretInfo {
    const ts = now();
    uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.prepare(
        `INSERT INTO secrets (id, org_id, name, type, description, iv, ciphertext, created_at,
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
    return this.get(orgId, id)!;
  }

  /** The secret `id` of `orgId` (metadata only), if any. */
  get(orgId: string, id: string): SecretInfo | undefined {
    const r = this.db.prepare(`SELECT ${INFO_COLUMNS} FROM secrets WHERE org_id = ? AND id = ?`)
      .get(orgId, id);
    return r ? toInfo(r) : undefined;
  }

  /** The secrets of `orgId` by name (metadata only). */
  list(orgId: string): SecretInfo[] {
    return this.db.prepare(`SELECT ${INFO_COLUMNS} FROM secrets WHERE org_id = ? ORDER BY name`)
      .all(orgId).map(toInfo);
  }

  /** The secret named `name` in `orgId` with its ciphertext, for decryption on use. */
  byName(orgId: string, name: string): SecretRecord | undefined {
    const r = this.db.prepare("SELECT * FROM secrets WHERE org_id = ? AND name = ?")
      .get(orgId, name);
    return r ? toRecord(r) : undefined;
  }

  /** Replaces a secret's fields; undefined when not found. */
  update(orgId: string, id: string, input: SecretWrite): SecretInfo | undefined {
    const res = uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.prepare(
        `UPDATE secrets SET name = ?, type = ?, description = ?, iv = ?, ciphertext = ?,
         updated_at = ? WHERE org_id = ? AND id = ?`,
      ).run(
        input.name,
        input.type,
        input.description,
        input.iv,
        input.ciphertext,
        now(),
        orgId,
        id,
      ));
    return Number(res.changes) === 0 ? undefined : this.get(orgId, id);
  }

  /** Changes only name and description (the ciphertext stays); undefined when not found. */
  rename(orgId: string, id: string, name: string, description: string): SecretInfo | undefined {
    const res = uniqueOr("name", DUPLICATE_NAME, () =>
      this.db.prepare(
        "UPDATE secrets SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ?",
      ).run(name, description, now(), orgId, id));
    return Number(res.changes) === 0 ? undefined : this.get(orgId, id);
  }

  /** Deletes a secret; false when not found. */
  delete(orgId: string, id: string): boolean {
    const res = this.db.prepare("DELETE FROM secrets WHERE org_id = ? AND id = ?").run(orgId, id);
    return Number(res.changes) > 0;
  }

  /** How many secrets are stored, across all orgs. */
  count(): number {
    return Number(this.db.prepare("SELECT COUNT(*) AS n FROM secrets").get()?.n ?? 0);
  }

  /** The stored key check (a known text encrypted under the vault key), if one was written. */
  keyCheck(): { iv: Uint8Array; ciphertext: Uint8Array } | undefined {
    const r = this.db.prepare("SELECT iv, ciphertext FROM vault_key_check WHERE id = 1").get();
    return r ? { iv: r.iv as Uint8Array, ciphertext: r.ciphertext as Uint8Array } : undefined;
  }

  /** Writes (or replaces) the key check. */
  setKeyCheck(iv: Uint8Array, ciphertext: Uint8Array): void {
    this.db.prepare(
      `INSERT INTO vault_key_check (id, iv, ciphertext, created_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET iv = excluded.iv, ciphertext = excluded.ciphertext,
       created_at = excluded.created_at`,
    ).run(iv, ciphertext, now());
  }
}
