/**
 * A circuit breaker for one upstream server: after a run of calls that could
 * not be served it stops sending calls for a cool-down, so that a dead or
 * hanging server costs its callers nothing but a quick error, then lets a
 * single trial call through to find out whether the server is back.
 *
 * @module
 */

/** Where a breaker stands: calls flow (closed), are refused (open) or one trial call may pass. */
export type BreakerState = "closed" | "open" | "half-open";

/** What a breaker shows in a server's status. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Until when calls are refused (ISO 8601), while open; null otherwise. */
  openUntil: string | null;
  /** Failures in a row so far. */
  failures: number;
}

/** How a breaker trips and recovers. */
export interface BreakerOptions {
  /** Failures in a row that open the breaker (default 5). */
  threshold?: number;
  /** The first cool-down in ms (default 1 s); each failed trial call doubles it. */
  baseMs?: number;
  /** The longest cool-down in ms (default 30 s). */
  maxMs?: number;
}

/** The answer to {@link CircuitBreaker.admit}. */
export type Admission =
  /** The call may go; `probe` marks the one trial call of a half-open breaker. */
  | { ok: true; probe: boolean }
  /**
   * The call is refused: `retryAt` (ms since epoch) is when the next trial
   * call may go, or null while one is under way.
   */
  | { ok: false; retryAt: number | null; failures: number; lastError: string | null };

/**
 * Counts consecutive failures of one server and decides whether a call may
 * go. Every admitted call must be reported once, with the `probe` flag it
 * was admitted with, to {@link succeeded}, {@link failed} or {@link abandoned}.
 * Only the trial call decides a half-open breaker: outcomes of calls admitted
 * before it opened are ignored, since they say nothing newer.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  #failures = 0;
  #open = false;
  #openUntil = 0;
  #coolDownMs: number;
  #probing = false;
  #lastError: string | null = null;

  /** A closed breaker with `options`. */
  constructor(options: BreakerOptions = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#baseMs = options.baseMs ?? 1000;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#coolDownMs = this.#baseMs;
  }

  /** Whether a call may go now; once the cool-down has passed, the first call is the trial call. */
  admit(): Admission {
    if (!this.#open) return { ok: true, probe: false };
    if (this.#probing || Date.now() < this.#openUntil) {
      return {
        ok: false,
        retryAt: this.#probing ? null : this.#openUntil,
        failures: this.#failures,
        lastError: this.#lastError,
      };
    }
    this.#probing = true;
    return { ok: true, probe: true };
  }

  /** The call reached the server and got an answer (an error answer counts: the server is up). */
  succeeded(probe: boolean): void {
    if (this.#open && !probe) return;
    this.#open = false;
    this.#probing = false;
    this.#failures = 0;
    this.#coolDownMs = this.#baseMs;
  }

  /** The call could not be served (unreachable, closed, timed out); `message` is shown while open. */
  failed(probe: boolean, message: string): void {
    if (this.#open && !probe) return;
    this.#failures++;
    this.#lastError = message;
    if (probe) {
      // The server is still down: wait longer before the next trial.
      this.#coolDownMs = Math.min(this.#coolDownMs * 2, this.#maxMs);
      this.#trip();
    } else if (this.#failures >= this.#threshold) {
      this.#coolDownMs = this.#baseMs;
      this.#trip();
    }
  }

  /** The call ended without telling anything about the server (the caller cancelled it). */
  abandoned(probe: boolean): void {
    // The next call becomes the trial call.
    if (probe) this.#probing = false;
  }

  /** The state to show; an open breaker whose cool-down has passed shows as half-open. */
  snapshot(): BreakerSnapshot {
    if (!this.#open) return { state: "closed", openUntil: null, failures: this.#failures };
    if (this.#probing || Date.now() >= this.#openUntil) {
      return { state: "half-open", openUntil: null, failures: this.#failures };
    }
    return {
      state: "open",
      openUntil: new Date(this.#openUntil).toISOString(),
      failures: this.#failures,
    };
  }

  #trip(): void {
    this.#open = true;
    this.#probing = false;
    this.#openUntil = Date.now() + this.#coolDownMs;
  }
}
