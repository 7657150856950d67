/**
 * Graceful shutdown support: counts requests whose handler is running so
 * shutdown can wait for them, and turns new ones away meanwhile.
 *
 * Deno 2.9 cuts the bodies of requests still arriving once `shutdown()` is
 * called (denoland/deno#36809), so in-flight requests must finish first.
 *
 * @module
 */

/** Tracks running request handlers. */
export class Drain {
  #active = 0;
  #waiters: (() => void)[] = [];
  #closing = false;

  /** Runs `fn` as one request; once closing, new requests get 503. */
  track(fn: () => Response | Promise<Response>): Response | Promise<Response> {
    if (this.#closing) {
      return Response.json(
        { error: { code: "unavailable", message: "the server is shutting down" } },
        { status: 503, headers: { connection: "close", "retry-after": "1" } },
      );
    }
    this.#active++;
    let answer: Response | Promise<Response>;
    try {
      answer = fn();
    } catch (err) {
      this.#ended();
      throw err;
    }
    if (!(answer instanceof Promise)) {
      this.#ended();
      return answer;
    }
    return answer.finally(this.#ended);
  }

  #ended = () => {
    if (--this.#active === 0) this.#waiters.splice(0).forEach((w) => w());
  };

  /** Stops taking requests; resolves when none is running, or after `maxMs`. */
  idle(maxMs: number): Promise<void> {
    this.#closing = true;
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
