// @ts-check
// Long-poll: GET /poll, one request parked at a time; the cursor of each
// answer is the acknowledgement.

import { HTTPTransport, fetchInit } from './http.js';
import { errMessage } from './base.js';
import { parseJSON } from '../protocol.js';

/**
 * ACK_HOLD bounds, in ms, how long the next poll waits for the inbox's
 * handlers: a poll names the personal channel at what they finished (its
 * cursor is the acknowledgement), and one named behind what arrived is
 * answered at once with it again.
 */
const ACK_HOLD = 2000;

/** PollTransport reads by long-polls, with POST /send up. */
export class PollTransport extends HTTPTransport {
  restart() {
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    if (this.conn.ackBehind()) {
      this.conn.whenAcked(ACK_HOLD).then(() => {
        if (!this.dead && gen === this.gen) this.poll(gen);
      });
      return;
    }
    this.poll(gen);
  }

  /** @param {number} gen */
  poll(gen) {
    const o = this.conn.options;
    const q = this.conn.httpParams();
    // The first poll, and one for a channel with no position yet, is
    // answered at once: it confirms the connection and the positions, so
    // that "subscribed" means "nothing published from now on is missed".
    if (!this.asked) this.asked = new WeakSet();
    let fresh = !this.opened;
    for (const c of this.conn.channelList()) {
      if (c.seq == null && !this.asked.has(c)) {
        this.asked.add(c);
        fresh = true;
      }
    }
    if (fresh) q.set('wait', '0');
    else if (o.pollWait != null) q.set('wait', String(o.pollWait));
    const url = this.conn.endpoint('poll', q);
    const ac = new AbortController();
    this.ac = ac;
    this.timer = setTimeout(() => ac.abort(), o.pollTimeout);
    const live = () => !this.dead && gen === this.gen;
    fetch(url.href, fetchInit(this.conn, ac.signal))
      .then(async (res) => {
        if (!live()) return;
        const text = await readLimited(res, o.maxAnswerBytes);
        if (!live()) return;
        clearTimeout(this.timer);
        if (!res.ok) {
          this.failHTTP('GET /poll', res);
          return;
        }
        const a = text == null ? undefined : parseJSON(text);
        if (a === undefined) {
          this.conn.report('protocol', text == null ? 'poll answer too large' : 'invalid JSON in a poll answer', {
            data: (text || '').slice(0, 200),
          });
          this.fail('invalid poll answer');
          return;
        }
        this.lastRx = Date.now();
        if (!this.conn.pollAnswer(this, a)) {
          this.fail('malformed poll answer');
          return;
        }
        if (live() && this.conn.reads()) this.restart();
      })
      .catch((err) => {
        if (!live()) return;
        this.fail(ac.signal.aborted ? 'poll timed out' : `GET /poll failed: ${errMessage(err)}`);
      });
  }

  stopRequest() {
    this.gen = (this.gen || 0) + 1;
    clearTimeout(this.timer);
    if (this.ac) this.ac.abort();
    this.ac = null;
  }
}

/**
 * readLimited reads a response body as text, or null past max bytes: an
 * answer is bounded, whatever the server sends.
 * @param {Response} res
 * @param {number} max
 * @returns {Promise<string | null>}
 */
export async function readLimited(res, max) {
  const len = Number(res.headers.get('content-length'));
  if (len > max) {
    res.body?.cancel().catch(() => {});
    return null;
  }
  if (!res.body || typeof res.body.getReader !== 'function') {
    const t = await res.text();
    return t.length > max ? null : t;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let out = '';
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    out += decoder.decode(value, { stream: true });
  }
  return out + decoder.decode();
}
