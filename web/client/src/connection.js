// @ts-check
// The connection: one logical link to a Comet node, kept up across
// transports. It tries transports in order and falls back, reconnects with
// backoff, resumes every channel from its position, and sends the send
// queue. It serves a Hub (hub.js), which serves the tabs.
//
// States: idle -> connecting -> connected -> disconnected (waiting to
// retry) -> connecting ...; close() -> closed from any state; a close
// code that forbids reconnecting -> closed.

import { CometError, needsToken } from './errors.js';
import { isSeq } from './protocol.js';
import { IMPLS, supported, transportName } from './transports/index.js';
import { Receiver } from './receiver.js';

/** @typedef {import('./transports/base.js').Transport} Transport */
/** @typedef {import('./transports/base.js').CloseInfo} CloseInfo */
/** @typedef {import('./options.js').ResolvedOptions} ResolvedOptions */

/** Connection is the state machine of one link to the server. */
export class Connection extends Receiver {
  /** @param {ResolvedOptions} options */
  constructor(options) {
    super(options);
    // The browser says the network is back: a waiting client tries now.
    this.onOnline = () => {
      if (this.state === 'disconnected') {
        this.log('back online: reconnecting now');
        this.retryNow();
      }
    };
  }

  /** connect starts connecting (and reconnecting). Calling it again is harmless. */
  connect() {
    if (this.state === 'idle' || this.state === 'closed') {
      this.gen++;
      this.backoff.reset();
      if (globalThis.addEventListener) globalThis.addEventListener('online', this.onOnline);
      this.startRound();
    }
  }

  /** close disconnects and stops reconnecting; the queue is rejected. */
  close() {
    const wasConnected = this.state === 'connected';
    const t = this.current;
    this.stop();
    if (globalThis.removeEventListener) globalThis.removeEventListener('online', this.onOnline);
    this.outbox.rejectAll(new CometError(0, 'the client was closed', 'closed'));
    this.setState('closed', null);
    if (wasConnected) this.emit('disconnected', { transport: t && t.name, reason: 'closed by the application', willReconnect: false });
  }

  /** retryNow ends a wait for the next try: it tries now, with the backoff reset. */
  retryNow() {
    if (this.state === 'idle' || this.state === 'closed') return this.connect();
    if (this.state !== 'disconnected') return;
    this.backoff.reset();
    this.startRound();
  }

  /**
   * setTransport forces one transport, or restores automatic fallback
   * (null or 'auto'). A live connection is replaced; every channel
   * continues from its position.
   * @param {string | null} name
   */
  setTransport(name) {
    const forced = name == null || name === 'auto' ? null : transportName(name);
    if (forced === this.forced) return;
    this.forced = forced;
    if (this.state === 'idle' || this.state === 'closed') return;
    const t = this.current;
    const wasConnected = this.state === 'connected';
    this.stop();
    if (wasConnected) {
      this.setState('disconnected', null);
      this.emit('disconnected', { transport: t && t.name, reason: 'transport changed', willReconnect: true, delay: 0 });
    }
    this.backoff.reset();
    this.startRound();
  }

  // stop tears down the transport and timers without changing state.
  stop() {
    this.gen++;
    const t = this.current;
    this.current = null;
    for (const k of Object.keys(this.timers)) {
      const timer = this.timers[k];
      if (timer) clearTimeout(timer);
      this.timers[k] = null;
    }
    if (t) t.close();
    this.lost();
  }

  // lost forgets what only the closed connection knew. The personal
  // channel of an inbox goes back to what the handlers finished: what they
  // did not finish (or threw on) is delivered again by the next
  // connection.
  lost() {
    for (const c of this.channels.values()) {
      c.live = false;
      c.subId = null;
    }
    const p = this.personal ? this.channels.get(this.personal) : undefined;
    if (p && this.inbox.on) p.seq = this.positionOf(p).seq;
    this.inbox.posting = false;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CometError(0, 'disconnected before the server answered', 'lost'));
      this.pending.delete(id);
    }
    this.outbox.lost();
    this.httpSending = false;
  }

  candidates() {
    if (this.forced) return [this.forced];
    const list = this.order.filter(supported);
    if (this.good && list.includes(this.good)) return [this.good, ...list.filter((n) => n !== this.good)];
    return list;
  }

  startRound() {
    if (this.timers.retry) clearTimeout(this.timers.retry);
    this.timers.retry = null;
    this.round = this.candidates();
    this.roundIndex = 0;
    if (this.round.length === 0 || !supported(this.round[0])) {
      this.setState('closed', null);
      this.report('unsupported', 'no transport is available in this environment');
      return;
    }
    const gen = this.gen;
    this.ensureToken().then(
      () => {
        if (gen === this.gen && !this.current && this.state !== 'closed') this.open(this.round[0]);
      },
      (err) => {
        if (gen !== this.gen) return;
        this.report('auth', `getToken failed: ${err && err.message ? err.message : err}`);
        this.retryLater({ transport: null, reason: 'no token' });
      },
    );
  }

  // ensureToken asks getToken for a token when there is none, it expired,
  // or the server refused the last one.
  async ensureToken() {
    const get = this.options.getToken;
    if (!get) return;
    const soon = this.tokenExp && this.tokenExp * 1000 - Date.now() < 5000;
    if (this.token && !this.tokenStale && !soon) return;
    this.setState('connecting', null);
    const answer = await withTimeout(Promise.resolve(get()), this.options.connectTimeout, 'getToken timed out');
    this.setToken(answer);
  }

  /** @param {import('./options.js').TokenAnswer} answer */
  setToken(answer) {
    const token = typeof answer === 'string' ? answer : answer && answer.token;
    if (typeof token !== 'string' || token === '' || token.length > 4096) throw new Error('getToken returned no token');
    this.token = token;
    this.tokenStale = false;
    this.tokenExp = typeof answer === 'object' && Number.isFinite(answer.exp) ? Number(answer.exp) : 0;
    this.armRefresh();
  }

  // armRefresh gets the next token ahead of the current one's expiry: an
  // open WebSocket is refreshed in place, HTTP requests carry the new one.
  armRefresh() {
    if (this.timers.refresh) clearTimeout(this.timers.refresh);
    this.timers.refresh = null;
    if (!this.tokenExp || !this.options.getToken) return;
    const left = this.tokenExp * 1000 - Date.now();
    const at = Math.max(1000, left - Math.max(10000, left / 10));
    if (at > 2 ** 31 - 1) return;
    const gen = this.gen;
    this.timers.refresh = setTimeout(async () => {
      this.timers.refresh = null;
      if (gen !== this.gen || !this.options.getToken) return;
      try {
        this.setToken(await this.options.getToken());
        const t = this.current;
        if (t && t.name === 'websocket' && t.up) {
          const r = await this.wsRequest(t, { op: 'refresh', token: this.token }, undefined);
          if (isSeq(r.exp)) this.tokenExp = r.exp;
        }
      } catch (err) {
        this.report('auth', `token refresh failed: ${err && /** @type {any} */ (err).message ? /** @type {any} */ (err).message : err}`);
      }
    }, at);
  }

  /** @param {string} name */
  open(name) {
    const Impl = /** @type {any} */ (IMPLS)[name];
    /** @type {Transport} */
    const t = new Impl(this, name);
    this.current = t;
    this.setState('connecting', name);
    this.emit('connecting', { transport: name, attempt: this.backoff.attempt });
    if (this.current !== t) return; // a listener closed or restarted the client
    if (this.timers.connect) clearTimeout(this.timers.connect);
    this.timers.connect = setTimeout(() => t.fail('no open within connectTimeout'), this.options.connectTimeout);
    try {
      t.open();
    } catch (err) {
      t.fail(`cannot open: ${err && /** @type {any} */ (err).message ? /** @type {any} */ (err).message : err}`);
    }
  }

  /** @param {Record<string, any>} info */
  retryLater(info) {
    const delay = this.backoff.next();
    this.setState('disconnected', null);
    this.emit('disconnected', { ...info, willReconnect: true, delay });
    const gen = this.gen;
    this.timers.retry = setTimeout(() => {
      if (gen === this.gen && this.state === 'disconnected') this.startRound();
    }, delay);
  }

  /** @param {Transport} t */
  transportOpened(t) {
    if (t !== this.current) return;
    if (this.timers.connect) clearTimeout(this.timers.connect);
    this.timers.connect = null;
    this.good = t.name;
    this.stats.connects++;
    if (this.stats.connects > 1) this.stats.reconnects++;
    this.statsChanged();
    this.setState('connected', t.name);
    this.emit('connected', { transport: t.name });
    if (this.timers.stable) clearTimeout(this.timers.stable);
    this.timers.stable = setTimeout(() => this.backoff.reset(), this.options.stableAfter);
    if (t.name !== 'websocket') this.flush(); // the WebSocket flushes after its subscriptions
    this.inbox.served = 'unknown'; // another node, maybe
    this.inbox.sent = 0;
    this.ackSoon();
  }

  /**
   * @param {Transport} t
   * @param {CloseInfo} info
   */
  transportClosed(t, info) {
    if (t !== this.current) return;
    this.current = null;
    for (const k of ['connect', 'stable', 'flush', 'ack']) {
      const timer = this.timers[k];
      if (timer) clearTimeout(timer);
      this.timers[k] = null;
    }
    this.lost();
    const ev = { transport: t.name, reason: info.reason, code: info.code };
    this.log('transport closed', ev, 'opened:', t.opened);
    if (needsToken(info.code) && this.options.getToken) {
      // A refused token: get a new one and come back (at once when it
      // expired; with backoff when it was invalid, so a backend that keeps
      // minting bad tokens is not hammered).
      this.tokenStale = true;
      if (info.code !== 4501) this.backoff.reset();
      info = { ...info, fatal: false };
    }
    if (info.fatal) {
      this.setState('closed', null);
      this.emit('disconnected', { ...ev, willReconnect: false });
      return;
    }
    if (t.opened || this.forced) {
      this.retryLater(ev);
      return;
    }
    // It never connected: fall back, unless the server itself is down.
    const next = this.round[this.roundIndex + 1];
    const gen = this.gen;
    /** @param {boolean} serverDown */
    const decide = (serverDown) => {
      if (gen !== this.gen || this.current) return;
      if (next && !serverDown) {
        this.roundIndex++;
        this.emit('fallback', { from: t.name, to: next, reason: info.reason });
        this.open(next);
      } else {
        this.retryLater(ev);
      }
    };
    if (next && t.name === this.good) {
      // A transport that worked before failed: if the server is unreachable
      // the others would fail too; wait and retry it instead of cycling.
      this.probe().then((up) => decide(!up));
    } else {
      Promise.resolve().then(() => decide(false));
    }
  }

  // probe tells whether the server answers GET /healthz with 200.
  probe() {
    const url = new URL('healthz', this.baseURL).href;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 3000);
    const sameOrigin = globalThis.location && new URL(url).origin === globalThis.location.origin;
    return fetch(url, { cache: 'no-store', signal: ac.signal, mode: sameOrigin ? 'same-origin' : 'cors' })
      .then((res) => res.status === 200, () => false)
      .finally(() => clearTimeout(timer));
  }
}

/**
 * withTimeout rejects p after ms.
 * @template T
 * @param {Promise<T>} p
 * @param {number} ms
 * @param {string} why
 * @returns {Promise<T>}
 */
function withTimeout(p, ms, why) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(why)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

