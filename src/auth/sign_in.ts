/**
 * The one check of a member's email and password, shared by every place a
 * person signs in with them: the gateways' OAuth login pages, the `basic`
 * gateway auth method and the management API's `POST /login` and invitation
 * acceptance.
 *
 * Failed attempts are limited so that brute force stops without letting an
 * attacker lock the real user out:
 * - per account and client address together (a few tries): an attacker's
 *   wrong passwords count against the attacker's address only;
 * - per client address over all accounts (password spraying from one place);
 * - per account over all addresses (a distributed guess), generous, and not
 *   applied to addresses this account signed in from successfully before, so
 *   the real user keeps working from where they usually are.
 * State is in memory on purpose: worthless after a restart, and a database
 * write per failed attempt would be a cheap way to load the server.
 *
 * @module
 */
import { verifyPassword } from "../oauth/password.ts";
import { RateLimiter } from "../oauth/rate_limit.ts";
import type { Role } from "../store/orgs.ts";
import type { Store } from "../store/store.ts";
import type { User } from "../store/users.ts";

/** One attempt to sign in to an organization. */
export interface SignInAttempt {
  email: string;
  password: string;
  /** The organization the person signs in to; non-members are refused like a wrong password. */
  orgId: string;
  /** The caller's address (after trusted-proxy resolution), for the limits. */
  clientAddress: string;
}

/** The outcome of an attempt. */
export type SignInResult =
  | { ok: true; user: User; role: Role }
  | { ok: false; reason: string; retryAfterSeconds?: number };

/** A limit: `limit` failures in any `windowMs`. */
export interface FailureLimit {
  limit: number;
  windowMs: number;
}

/** The failure limits; defaults in {@link DEFAULT_SIGN_IN_LIMITS}. */
export interface SignInLimits {
  perAccountAndAddress: FailureLimit;
  perAddress: FailureLimit;
  perAccount: FailureLimit;
  /** How long an address that signed in successfully stays exempt from `perAccount`. */
  knownAddressMs: number;
}

/** 5 per account and address and 20 per address in 15 minutes; 100 per account in an hour. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  perAccountAndAddress: { limit: 5, windowMs: 15 * 60_000 },
  perAddress: { limit: 20, windowMs: 15 * 60_000 },
  perAccount: { limit: 100, windowMs: 60 * 60_000 },
  knownAddressMs: 30 * 86_400_000,
};

/** The message for every wrong email, password or membership: it must not tell which one. */
export const FAILED_SIGN_IN = "the email or password is incorrect, or this account is not a " +
  "member of the organization";

const MAX_KNOWN_ACCOUNTS = 10_000;
const MAX_KNOWN_ADDRESSES = 16;

/** Checks emails and passwords of members, with the limits described above. */
export class PasswordSignIn {
  readonly #store: Store;
  readonly #limits: SignInLimits;
  readonly #now: () => number;
  readonly #perAccountAndAddress: RateLimiter;
  readonly #perAddress: RateLimiter;
  readonly #perAccount: RateLimiter;
  /** Per account (email), the addresses it signed in from and when. */
  readonly #known = new Map<string, Map<string, number>>();

  /** A checker over `store`; `now` is for tests of the windows. */
  constructor(
    store: Store,
    limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS,
    now: () => number = Date.now,
  ) {
    this.#store = store;
    this.#limits = limits;
    this.#now = now;
    const limiter = (l: FailureLimit) => new RateLimiter(l.limit, l.windowMs, 10_000, now);
    this.#perAccountAndAddress = limiter(limits.perAccountAndAddress);
    this.#perAddress = limiter(limits.perAddress);
    this.#perAccount = limiter(limits.perAccount);
  }

  /**
   * Seconds the caller must wait before `email` may be tried from
   * `clientAddress`, or 0. Checked before the (deliberately slow) hash.
   */
  retryAfter(email: string, clientAddress: string): number {
    const account = email.trim().toLowerCase();
    return Math.max(
      this.#perAccountAndAddress.retryAfter(`${account}\n${clientAddress}`),
      this.#perAddress.retryAfter(clientAddress),
      this.#isKnown(account, clientAddress) ? 0 : this.#perAccount.retryAfter(account),
    );
  }

  /** Checks one attempt; a refusal never says whether the email, the password or the membership was wrong. */
  async check(attempt: SignInAttempt): Promise<SignInResult> {
    const r = await this.#attempt(
      attempt.email,
      attempt.password,
      attempt.clientAddress,
      attempt.orgId,
    );
    return r.ok ? { ok: true, user: r.user, role: r.role! } : r;
  }

  /**
   * Checks a password of the account `email` whatever its memberships (accepting an
   * invitation, changing one's own password), with the same limits.
   */
  async checkAccount(
    attempt: Omit<SignInAttempt, "orgId">,
  ): Promise<{ ok: true; user: User } | { ok: false; reason: string; retryAfterSeconds?: number }> {
    return await this.#attempt(attempt.email, attempt.password, attempt.clientAddress, undefined);
  }

  async #attempt(
    rawEmail: string,
    password: string,
    clientAddress: string,
    orgId: string | undefined,
  ): Promise<
    | { ok: true; user: User; role?: Role }
    | { ok: false; reason: string; retryAfterSeconds?: number }
  > {
    const email = rawEmail.trim().toLowerCase();
    const wait = this.retryAfter(email, clientAddress);
    if (wait > 0) {
      return {
        ok: false,
        reason: `too many failed sign-in attempts; try again in ${wait} seconds`,
        retryAfterSeconds: wait,
      };
    }
    const user = email && email.length <= 320 ? await this.#store.users.byEmail(email) : undefined;
    const role = user && orgId !== undefined
      ? await this.#store.orgs.roleOf(orgId, user.id)
      : undefined;
    const allowed = user !== undefined && (orgId === undefined || role !== undefined);
    // Non-members and users without a password are checked against a decoy hash: same work, same answer.
    const stored = allowed ? await this.#store.users.passwordHash(user.id) : undefined;
    const matches = password.length > 0 && password.length <= 1024 &&
      await verifyPassword(password, stored);
    if (!matches || !allowed) {
      this.#perAccountAndAddress.record(`${email}\n${clientAddress}`);
      this.#perAddress.record(clientAddress);
      this.#perAccount.record(email);
      return { ok: false, reason: FAILED_SIGN_IN };
    }
    this.#perAccountAndAddress.clear(`${email}\n${clientAddress}`);
    this.#remember(email, clientAddress);
    return { ok: true, user, role };
  }

  #isKnown(account: string, address: string): boolean {
    const at = this.#known.get(account)?.get(address);
    return at !== undefined && this.#now() - at < this.#limits.knownAddressMs;
  }

  #remember(account: string, address: string): void {
    const addresses = this.#known.get(account) ?? new Map<string, number>();
    addresses.delete(address);
    addresses.set(address, this.#now());
    if (addresses.size > MAX_KNOWN_ADDRESSES) addresses.delete(addresses.keys().next().value!);
    // Re-inserted so the least recently successful accounts are forgotten first.
    this.#known.delete(account);
    this.#known.set(account, addresses);
    if (this.#known.size > MAX_KNOWN_ACCOUNTS) this.#known.delete(this.#known.keys().next().value!);
  }
}
