/**
 * Password hashing for the authorization servers' login page: scrypt (a
 * memory-hard KDF, built into `node:crypto`) with N=2^15, r=8, p=1 and a
 * random 16-byte salt. The stored string names its parameters, so they can be
 * raised later without invalidating existing hashes.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted (the KDF's cost grows with input length only a little, but bodies are capped anyway). */
export const MAX_PASSWORD_LENGTH = 1024;

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// scrypt needs 128 * N * r bytes (32 MiB here); node's default cap is exactly that, so allow headroom.
const MAX_MEM = 64 * 1024 * 1024;

function derive(
  password: string,
  salt: Uint8Array,
  n: number,
  r: number,
  p: number,
  length: number,
): Promise<Uint8Array> {
  // The callback form runs on libuv's thread pool: a login never blocks the event loop.
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFKC"),
      salt,
      length,
      { N: n, r, p, maxmem: MAX_MEM },
      (err, key) => err ? reject(err) : resolve(new Uint8Array(key)),
    )
  );
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Hashes `password` into `scrypt$N$r$p$salt$key` (base64 salt and key). */
export async function hashPassword(password: string): Promise<string> {
  const salt = new Uint8Array(randomBytes(16));
  const key = await derive(password, salt, N, R, P, KEY_LENGTH);
  return `scrypt$${N}$${R}$${P}$${b64(salt)}$${b64(key)}`;
}

/** A hash of a random password, checked against when there is no real one so timing does not tell. */
let decoy: Promise<string> | undefined;

/**
 * True when `password` matches `stored`. With `stored` undefined (unknown
 * user, or one without a password) the same work is done against a decoy
 * hash and the answer is false, so response times do not reveal which
 * accounts exist.
 */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  const target = stored ?? await (decoy ??= hashPassword(crypto.randomUUID()));
  const parts = target.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every(Number.isSafeInteger)) return false;
  const expected = unb64(parts[5]);
  const actual = await derive(password, unb64(parts[4]), n, r, p, expected.length);
  return stored !== undefined && timingSafeEqual(actual, expected);
}
