// @ts-check
// What SSE, long-poll and the iframe share: the channels are the
// request's, so a change of channels reopens the request (from each
// channel's position) without a visible disconnect.

import { Transport } from './base.js';
import { retryAfterMs } from '../backoff.js';

/**
 * HTTPTransport reads channels named in its request URL. Subclasses
 * implement restart() (issue the request for the current channel set) and
 * stopRequest() (abandon it).
 */
export class HTTPTransport extends Transport {
  open() {
    if (!this.conn.reads()) {
      // Nothing to read: check the server answers, and wait for channels.
      this.conn.probe().then((up) => {
        if (this.dead) return;
        if (up) this.markOpen();
        else this.fail('server unreachable');
      });
      return;
    }
    this.restart();
  }

  restart() {}

  stopRequest() {}

  channelsChanged() {
    if (this.pendingRestart) return;
    this.pendingRestart = true;
    // Changes within one tick are coalesced into one new request.
    Promise.resolve().then(() => {
      this.pendingRestart = false;
      if (this.dead) return;
      this.stopRequest();
      if (this.conn.reads()) this.restart();
      else if (!this.opened) this.open();
    });
  }

  teardown() {
    this.stopRequest();
  }

  /**
   * failHTTP fails on an HTTP error status, keeping the server's
   * Retry-After as the next delay's floor. 403 is a refusal (AUTH.md:
   * do not reconnect); 401 asks for a new token.
   * @param {string} what
   * @param {Response} res
   */
  failHTTP(what, res) {
    const hint = retryAfterMs(res.headers.get('retry-after'));
    if (hint) this.conn.backoff.suggest(hint);
    this.fail(`${what}: HTTP ${res.status}`, res.status, res.status === 403);
  }
}

/**
 * fetchInit is the RequestInit of every HTTP transport request.
 * @param {import('../connection.js').Connection} conn
 * @param {AbortSignal} signal
 * @param {Record<string, string>} [headers]
 * @returns {RequestInit}
 */
export function fetchInit(conn, signal, headers) {
  return {
    cache: 'no-store',
    credentials: conn.options.withCredentials ? 'include' : 'same-origin',
    signal,
    headers,
  };
}
