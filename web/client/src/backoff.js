// @ts-check
// Reconnect timing: exponential backoff with full jitter, floored by the
// server's own hint (an SSE retry field, a Retry-After header).

/**
 * Backoff computes reconnect delays. The n-th consecutive failure waits
 * hint + random(0, min(maxDelay, initialDelay * 2^n)): the jitter spreads
 * the returns of many clients that lost one node together, the hint is
 * the server asking for room.
 */
export class Backoff {
  /**
   * @param {{initialDelay: number, maxDelay: number}} o
   * @param {() => number} [random] a source of [0, 1), for tests
   */
  constructor(o, random = Math.random) {
    this.o = o;
    this.random = random;
    /** Consecutive failures since the last stable connection. */
    this.attempt = 0;
    /** The server's last hint, ms; consumed by next(). */
    this.hint = 0;
  }

  /**
   * next returns the delay before the next try and counts a failure.
   * @returns {number}
   */
  next() {
    const cap = Math.min(this.o.maxDelay, this.o.initialDelay * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const hint = Math.min(this.hint, 5 * 60 * 1000); // a hostile hint cannot park us forever
    this.hint = 0;
    return hint + Math.floor(this.random() * cap);
  }

  /**
   * suggest records the server's hint (ms); the largest since the last
   * delay wins.
   * @param {number} ms
   */
  suggest(ms) {
    if (Number.isFinite(ms) && ms > 0) this.hint = Math.max(this.hint, ms);
  }

  /** reset forgets the failures: the connection stayed up. */
  reset() {
    this.attempt = 0;
  }
}

/**
 * retryAfterMs reads a Retry-After header (seconds, or an HTTP date) as ms,
 * or 0.
 * @param {string | null} value
 * @param {number} [now]
 */
export function retryAfterMs(value, now = Date.now()) {
  if (!value) return 0;
  if (/^\d{1,6}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : 0;
}
