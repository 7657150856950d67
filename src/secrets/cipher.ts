/**
 * AES-256-GCM through WebCrypto: a fresh random 96-bit IV per encryption,
 * and the secret's org and id as additional authenticated data, so a
 * ciphertext copied onto another row (or another org) fails to decrypt
 * instead of lending its value to the wrong place.
 *
 * @module
 */

/** Decryption failed: wrong key, or a ciphertext moved or altered. Carries no detail on purpose. */
export class DecryptError extends Error {
  /** Creates the error. */
  constructor() {
    super("the value could not be decrypted with this server's secret key");
    this.name = "DecryptError";
  }
}

/** An encrypted value as stored. */
export interface Sealed {
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

const IV_BYTES = 12;
const KEY_CHECK_TEXT = "gatehouse vault key check v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Additional data binding a value to its row: version, org and id. */
function aad(orgId: string, id: string): Uint8Array<ArrayBuffer> {
  // NUL separators: ids and org ids never contain NUL, so no two pairs collide.
  return encoder.encode(`gatehouse/secret/v1\0${orgId}\0${id}`);
}

/** Encrypts and decrypts secret values under one AES-256 key. */
export class SecretCipher {
  readonly #key: Promise<CryptoKey>;

  /** A cipher over the 32 raw key bytes; the key is imported non-extractable. */
  constructor(raw: Uint8Array) {
    if (raw.byteLength !== 32) throw new Error("the vault key must be 32 bytes");
    this.#key = crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
  }

  /** A cipher with a random key (in-memory stores: nothing outlives the process). */
  static ephemeral(): SecretCipher {
    return new SecretCipher(crypto.getRandomValues(new Uint8Array(32)));
  }

  /** Encrypts `plaintext` for the secret `id` of `orgId`. */
  async seal(orgId: string, id: string, plaintext: string): Promise<Sealed> {
    return await this.#seal(aad(orgId, id), plaintext);
  }

  /** Decrypts the secret `id` of `orgId`; throws {@link DecryptError} on any failure. */
  async open(orgId: string, id: string, sealed: Sealed): Promise<string> {
    return await this.#open(aad(orgId, id), sealed);
  }

  /** A known text sealed under this key, stored so a later start can tell whether its key matches. */
  async keyCheck(): Promise<Sealed> {
    return await this.#seal(encoder.encode("gatehouse/key-check"), KEY_CHECK_TEXT);
  }

  /** True when `sealed` (a stored key check) was made with this key. */
  async matches(sealed: Sealed): Promise<boolean> {
    try {
      return await this.#open(encoder.encode("gatehouse/key-check"), sealed) === KEY_CHECK_TEXT;
    } catch {
      return false;
    }
  }

  async #seal(additionalData: Uint8Array<ArrayBuffer>, plaintext: string): Promise<Sealed> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData },
      await this.#key,
      encoder.encode(plaintext),
    );
    return { iv, ciphertext: new Uint8Array(ct) };
  }

  async #open(additionalData: Uint8Array<ArrayBuffer>, sealed: Sealed): Promise<string> {
    try {
      const pt = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: new Uint8Array(sealed.iv), additionalData },
        await this.#key,
        new Uint8Array(sealed.ciphertext),
      );
      return decoder.decode(pt);
    } catch {
      throw new DecryptError();
    }
  }
}
