// @ts-check
// The send queue: what the application published and the server has not
// answered yet. Every entry carries an idempotency key made here, so that
// sending it again after a lost answer (a dropped connection, a server
// restart, a leader tab that closed) is stored once by the server and
// answered with the first seq: exactly once, from the outside.

import { CometError } from './errors.js';
import { randomKey } from './protocol.js';

/**
 * One queued request. `msg` is the wire message without its id.
 * @typedef {{
 *   key: string,
 *   msg: Record<string, any>,
 *   resolve: (reply: any) => void,
 *   reject: (err: CometError) => void,
 *   inflight: boolean,
 *   attempts: number,
 *   queuedAt: number,
 *   notBefore: number,
 * }} OutboxEntry
 */

/**
 * Outbox is a bounded FIFO of requests waiting for the server's answer.
 */
export class Outbox {
  /** @param {number} max the most entries held; past it add throws */
  constructor(max) {
    this.max = max;
    /** @type {OutboxEntry[]} */
    this.entries = [];
  }

  /** The number of entries. */
  get size() {
    return this.entries.length;
  }

  /**
   * add queues msg and returns the promise of its answer. msg.idem, when
   * set, is kept (a tab resending to a new leader); otherwise one is made.
   * @param {Record<string, any>} msg
   * @param {number} now
   * @returns {{entry: OutboxEntry, done: Promise<any>}}
   */
  add(msg, now) {
    if (this.entries.length >= this.max) {
      throw new CometError(0, `the send queue is full (${this.max} messages)`, 'queue-full');
    }
    const key = typeof msg.idem === 'string' && msg.idem ? msg.idem : newIdem();
    /** @type {OutboxEntry} */
    let entry = /** @type {any} */ (null);
    const done = new Promise((resolve, reject) => {
      entry = { key, msg: { ...msg, idem: key }, resolve, reject, inflight: false, attempts: 0, queuedAt: now, notBefore: 0 };
    });
    this.entries.push(entry);
    return { entry, done };
  }

  /**
   * ready returns the entries that may be sent now, oldest first.
   * @param {number} now
   */
  ready(now) {
    return this.entries.filter((e) => !e.inflight && e.notBefore <= now);
  }

  /**
   * settle removes an entry and resolves or rejects it.
   * @param {OutboxEntry} e
   * @param {any} reply
   * @param {CometError} [err]
   */
  settle(e, reply, err) {
    const i = this.entries.indexOf(e);
    if (i < 0) return;
    this.entries.splice(i, 1);
    if (err) e.reject(err);
    else e.resolve(reply);
  }

  /**
   * retryLater puts an entry back, to be sent again after ms.
   * @param {OutboxEntry} e
   * @param {number} now
   * @param {number} ms
   */
  retryLater(e, now, ms) {
    e.inflight = false;
    e.notBefore = now + ms;
  }

  /** lost marks every in-flight entry as unanswered: it is sent again. */
  lost() {
    for (const e of this.entries) e.inflight = false;
  }

  /**
   * rejectAll empties the queue, rejecting every entry with err.
   * @param {CometError} err
   */
  rejectAll(err) {
    const all = this.entries;
    this.entries = [];
    for (const e of all) e.reject(err);
  }

  /**
   * expire rejects the entries queued before now - maxAge (maxAge 0: none
   * expire).
   * @param {number} now
   * @param {number} maxAge
   */
  expire(now, maxAge) {
    if (!maxAge) return;
    for (const e of [...this.entries]) {
      if (now - e.queuedAt > maxAge) this.settle(e, null, new CometError(0, `not sent within ${maxAge} ms`, 'timeout'));
    }
  }
}

/**
 * retryable reports whether a server refusal is worth sending again
 * later: the rate limit (429) and an engine or node busy (503).
 * @param {number} code
 */
export function retryable(code) {
  return code === 429 || code === 503 || code === 0;
}

/** newIdem returns a fresh idempotency key (22 characters, 128 bits). */
export function newIdem() {
  return randomKey(16);
}
