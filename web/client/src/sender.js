// @ts-check
// Sending: the send queue (publications and DMs, resent with their
// idempotency key until the server answers), requests that wait for a
// reply (presence, ping, typing, refresh, the inbox's read and unread)
// over the WebSocket or POST /send, the inbox's acknowledgements, and the
// short poll that reads a channel's history for a tab that comes back
// behind.

import { CometError } from './errors.js';
import { retryable } from './outbox.js';
import { LinkBase } from './link.js';
import { decodePollAnswer, decodePresence, isObj, parseJSON, positionParam, validMsg } from './protocol.js';

/** @typedef {import('./transports/base.js').Transport} Transport */
/** @typedef {import('./outbox.js').OutboxEntry} OutboxEntry */

/** The ops POST /send carries (docs/PROTOCOL.md): all but sub, unsub, refresh. */
const SEND_OPS = new Set(['pub', 'dm', 'typing', 'presence', 'ping', 'ack', 'read', 'unread']);

/** The answers of POST /send that are not errors. */
const SEND_ANSWERS = new Set(['ok', 'pong', 'presence', 'unread']);

/** Sender is the up-channel of a link. */
export class Sender extends LinkBase {
  /**
   * enqueue puts a publication into the send queue (sent now when
   * connected, else on the next connection) and resolves with the
   * server's reply.
   * @param {Record<string, any>} msg
   * @returns {Promise<any>}
   */
  enqueue(msg) {
    const { done } = this.outbox.add(msg, Date.now());
    this.flush();
    return done;
  }

  /**
   * request sends one message that is not queued (presence, typing, ping,
   * read, unread) and resolves with the reply: over the WebSocket, else
   * with POST /send.
   * @param {Record<string, any>} msg
   * @returns {Promise<any>}
   */
  request(msg) {
    const t = this.current;
    if (t && t.name === 'websocket' && t.up) return this.wsRequest(t, msg, undefined);
    if (SEND_OPS.has(msg.op)) return this.post(msg);
    if (!t || !t.up) return Promise.reject(new CometError(0, 'not connected', 'lost'));
    return Promise.reject(new CometError(501, `${msg.op} needs the WebSocket transport (now ${t.name})`, 'unsupported'));
  }

  /**
   * presence asks who is present in a channel (WebSocket only).
   * @param {string} channel
   */
  presence(channel) {
    return this.request({ op: 'presence', ch: channel }).then((m) => {
      const p = decodePresence(m);
      if (!p) throw new CometError(0, 'malformed presence answer', 'lost');
      return p;
    });
  }

  /** flush sends what the send queue holds and may be sent now. */
  flush() {
    const t = this.current;
    if (!t || !t.up) return;
    const now = Date.now();
    this.outbox.expire(now, this.options.sendTimeout);
    if (t.name === 'websocket') {
      for (const e of this.outbox.ready(now)) {
        e.inflight = true;
        e.attempts++;
        this.wsRequest(t, e.msg, e).then(
          (reply) => this.outbox.settle(e, reply),
          (err) => this.attemptFailed(e, err),
        );
      }
    } else if (!this.httpSending) {
      // One POST /send at a time keeps the queue's order and spares the
      // browser's six connections per host.
      const e = this.outbox.ready(now)[0];
      if (!e) return;
      this.httpSending = true;
      e.inflight = true;
      e.attempts++;
      const gen = this.gen;
      this.post(e.msg).then(
        (reply) => this.outbox.settle(e, reply),
        (err) => this.attemptFailed(e, err),
      ).finally(() => {
        this.httpSending = false;
        if (gen === this.gen) this.flush();
      });
    }
    this.armFlush();
  }

  /**
   * attemptFailed decides about a send that did not succeed: refusals are
   * final, the rest is sent again (with the same idempotency key).
   * @param {OutboxEntry} e
   * @param {CometError} err
   */
  attemptFailed(e, err) {
    if (!this.outbox.entries.includes(e)) return;
    if (err.kind === 'server' && !retryable(err.code)) {
      this.outbox.settle(e, null, err);
      return;
    }
    const delay = err.kind === 'server' ? Math.min(30000, 500 * 2 ** Math.min(e.attempts, 6)) : 0;
    this.outbox.retryLater(e, Date.now(), delay);
    this.armFlush();
  }

  // armFlush wakes the queue for entries waiting to be retried.
  armFlush() {
    if (this.timers.flush) return;
    const waits = this.outbox.entries.filter((e) => !e.inflight).map((e) => e.notBefore);
    if (waits.length === 0) return;
    const at = Math.min(...waits);
    this.timers.flush = setTimeout(() => {
      this.timers.flush = null;
      this.flush();
    }, Math.max(50, at - Date.now()));
  }

  /**
   * wsRequest sends msg with a fresh id and resolves with the reply.
   * @param {Transport} t
   * @param {Record<string, any>} msg
   * @param {OutboxEntry | undefined} entry
   * @returns {Promise<any>}
   */
  wsRequest(t, msg, entry) {
    return new Promise((resolve, reject) => {
      const id = `r${++this.nextId}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CometError(0, 'no answer within publishTimeout', 'timeout'));
      }, this.options.publishTimeout);
      this.pending.set(id, { resolve, reject, timer, entry });
      try {
        t.send({ ...msg, id });
      } catch (err) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new CometError(0, `send failed: ${err}`, 'lost'));
      }
    });
  }

  /**
   * post sends one message with POST /send, the up-channel of the HTTP
   * transports.
   * @param {Record<string, any>} msg
   * @returns {Promise<any>}
   */
  post(msg) {
    const id = `h${++this.nextId}`;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.options.publishTimeout);
    const q = new URLSearchParams();
    if (this.sid) q.set('sid', this.sid);
    return fetch(this.endpoint('send', q).href, {
      method: 'POST',
      body: JSON.stringify({ ...msg, id }), // text/plain: a simple CORS request, no preflight
      cache: 'no-store',
      credentials: this.options.withCredentials ? 'include' : 'same-origin',
      signal: ac.signal,
    })
      .then(
        async (res) => {
          const text = await res.text();
          if (!res.ok) throw new CometError(res.status, `POST /send: HTTP ${res.status} ${text.trim().slice(0, 100)}`);
          const m = parseJSON(text);
          if (m === undefined) {
            this.report('protocol', 'POST /send answered invalid JSON', { data: text.slice(0, 200) });
            throw new CometError(0, 'invalid answer from POST /send', 'lost');
          }
          if (isObj(m) && m.op === 'err') throw new CometError(Number.isInteger(m.code) ? m.code : 0, String(m.reason), 'server');
          if (!isObj(m) || !SEND_ANSWERS.has(m.op)) throw new CometError(0, 'unexpected answer from POST /send', 'lost');
          return m;
        },
        (err) => {
          if (ac.signal.aborted) throw new CometError(0, 'no answer within publishTimeout', 'timeout');
          throw new CometError(0, `POST /send failed: ${err}`, 'lost');
        },
      )
      .finally(() => clearTimeout(timer));
  }

  /**
   * setInbox says whether a tab handles the personal channel and, while
   * handlers hold deliveries of it, the last seq before them (null: none
   * held; the hub combines its tabs). What is finished is acknowledged,
   * and a long-poll waiting for it goes on.
   * @param {boolean} on
   * @param {number | null} held
   */
  setInbox(on, held) {
    const a = this.inbox;
    const was = a.on;
    a.on = on;
    a.held = on ? held : null;
    if (on && !was && this.current && !this.current.dead && this.current.name !== 'websocket' && this.channels.size === 0) {
      this.current.channelsChanged([], []); // an HTTP transport with nothing to read now reads the inbox
    }
    if (!this.ackBehind()) for (const w of a.waiters.splice(0)) w();
    this.ackSoon();
  }

  /**
   * ackBehind reports whether the handlers still hold deliveries of the
   * personal channel (what a request names for it is behind what arrived).
   */
  ackBehind() {
    const a = this.inbox;
    const c = this.personal ? this.channels.get(this.personal) : undefined;
    if (!a.on || !c || c.seq == null || a.held == null) return false;
    return a.held < c.seq;
  }

  /**
   * whenAcked resolves once the handlers caught up with the personal
   * channel's deliveries, or after ms.
   * @param {number} ms
   * @returns {Promise<void>}
   */
  whenAcked(ms) {
    if (!this.ackBehind()) return Promise.resolve();
    const waiters = this.inbox.waiters;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.push(done);
    });
  }

  // ackSoon sends the acknowledgement once the current task is over: the
  // handlers of a burst (a replay page) finish together and are
  // acknowledged in one.
  ackSoon() {
    if (this.timers.ack) return;
    const a = this.inbox;
    const seq = this.ackPosition();
    if (!a.on || seq == null || seq <= a.sent || a.served === 'no') return;
    this.timers.ack = setTimeout(() => {
      this.timers.ack = null;
      this.sendAck();
    }, 0);
  }

  // sendAck acknowledges the personal channel up to ackPosition: over the
  // WebSocket as an ack op (the first one of a connection with an id, to
  // learn whether the node keeps an inbox; the others without, which the
  // server coalesces), on SSE and the iframe with POST /send, one at a
  // time. A long-poll's cursor is its acknowledgement.
  sendAck() {
    const a = this.inbox;
    const t = this.current;
    const seq = this.ackPosition();
    if (!t || !t.up || !this.personal || !a.on || seq == null || seq <= a.sent || a.served === 'no' || a.posting) return;
    if (t.name === 'poll') return;
    const msg = { op: 'ack', ch: this.personal, seq };
    if (t.name === 'websocket' && a.served === 'yes') {
      try {
        t.send(msg);
        a.sent = seq;
      } catch {
        // the close event follows; the next connection names the position
      }
      return;
    }
    a.posting = true;
    const gen = this.gen;
    const p = t.name === 'websocket' ? this.wsRequest(t, msg, undefined) : this.post(msg);
    p.then(
      () => {
        a.served = 'yes';
        a.sent = Math.max(a.sent, seq);
        a.posting = false;
        if (gen === this.gen) this.ackSoon();
      },
      (err) => {
        // A refusal stops acks on this connection (a node without an inbox
        // answers 501; an anonymous client 403); a lost answer waits for
        // the next change. The next connection's request names the
        // position either way.
        a.posting = false;
        if (err.kind !== 'server') return;
        a.served = 'no';
        if (err.code !== 501) this.report('server', `ack refused: ${err.code} ${err.message}`, { code: err.code });
      },
    );
  }

  /**
   * fetchHistory reads what a channel's history holds after pos with a
   * short poll, for a tab that comes back behind the shared connection.
   * @param {string} name
   * @param {{epoch: string | null, seq: number}} pos
   */
  async fetchHistory(name, pos) {
    const q = new URLSearchParams();
    q.append('ch', positionParam(name, pos.epoch, pos.seq));
    q.set('wait', '0');
    const res = await fetch(this.endpoint('poll', q).href, {
      cache: 'no-store',
      credentials: this.options.withCredentials ? 'include' : 'same-origin',
    });
    if (!res.ok) throw new CometError(res.status, `GET /poll: HTTP ${res.status}`);
    const a = decodePollAnswer(parseJSON(await res.text()));
    if (!a) throw new CometError(0, 'malformed poll answer', 'lost');
    const p = a.positions.find((x) => x.channel === name);
    if (!p) throw new CometError(0, 'poll answer without the channel', 'lost');
    const msgs = a.msgs.filter((m) => validMsg(m) && m.ch === name && m.seq > 0);
    return { epoch: p.epoch, seq: p.seq, gapped: a.gaps.has(name), msgs };
  }
}
