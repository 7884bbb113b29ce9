/*!
 * comet.js: the browser client of the Comet push server.
 *
 * A dependency-free ES module. It speaks the wire protocol of docs/PROTOCOL.md
 * over WebSocket, Server-Sent Events, long-poll and an iframe forever-frame,
 * falls back from one to the next when a transport cannot connect, reconnects
 * with exponential backoff and full jitter, and resumes every channel from the
 * last seq it delivered so that nothing is lost and nothing is delivered
 * twice. See docs/CLIENT.md.
 *
 *   import { Comet } from '/comet.js';
 *   const comet = new Comet();
 *   comet.subscribe('room:lobby', (msg) => console.log(msg.seq, msg.data));
 *   comet.connect();
 *   const seq = await comet.publish('room:lobby', { text: 'hi' });
 */

/** Transport names, in the default fallback order. */
export const TRANSPORTS = Object.freeze(['websocket', 'sse', 'poll', 'iframe']);

const ALIASES = {
  websocket: 'websocket', ws: 'websocket',
  sse: 'sse', eventsource: 'sse',
  poll: 'poll', longpoll: 'poll', 'long-poll': 'poll',
  iframe: 'iframe', 'forever-frame': 'iframe',
};

const CHANNEL_RE = /^[A-Za-z0-9_:.@/=+#-]{1,128}$/;

/** Default options; see docs/CLIENT.md for each. */
export const DEFAULTS = Object.freeze({
  url: undefined, // server base URL; default: where comet.js was loaded from
  transports: TRANSPORTS, // fallback order
  transport: null, // force one transport (no fallback)
  connectTimeout: 10000, // ms for a transport to open before falling back
  initialDelay: 1000, // backoff: the first retry waits random(0, initialDelay)
  maxDelay: 30000, // backoff cap
  stableAfter: 10000, // ms a connection must live to reset the backoff
  pingInterval: 20000, // WebSocket: ping after this long without traffic
  pongTimeout: 10000, // WebSocket: ... and give up this long after the ping
  streamTimeout: 45000, // SSE/iframe: no byte (heartbeats included) this long: dead
  pollWait: null, // long-poll hold in seconds (null: the server's default, 25 s)
  pollTimeout: 40000, // ms before a parked poll is considered dead
  publishTimeout: 10000, // ms for a publish to be acknowledged
  iframeMaxEvents: 1000, // recycle the forever-frame after this many events
  sseMode: 'auto', // 'fetch' (streams, sees heartbeats), 'eventsource', or 'auto'
  withCredentials: false, // send cookies on cross-origin HTTP transports
  debug: false,
});

/** An error with a protocol or HTTP status code. */
export class CometError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'CometError';
    this.code = code;
  }
}

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const isSeq = (x) => Number.isSafeInteger(x) && x >= 0;
const validMsg = (m) => isObj(m) && typeof m.ch === 'string' && isSeq(m.seq) && m.seq > 0 && 'data' in m;
const now = () => Date.now();
let clientCount = 0;

/**
 * parseCursor splits a cursor ("NAME~EPOCH~SEQ!NAME~EPOCH~SEQ") into
 * positions, or returns null when it is malformed.
 */
export function parseCursor(cursor) {
  if (typeof cursor !== 'string' || cursor === '') return null;
  const out = [];
  for (const part of cursor.split('!')) {
    const j = part.lastIndexOf('~');
    const i = j > 0 ? part.lastIndexOf('~', j - 1) : -1;
    if (i <= 0) return null;
    const seq = Number(part.slice(j + 1));
    const channel = part.slice(0, i);
    if (!isSeq(seq) || !CHANNEL_RE.test(channel)) return null;
    out.push({ channel, epoch: part.slice(i + 1, j), seq });
  }
  return out;
}

// Close codes after which the client must not reconnect (PROTOCOL.md).
function fatalClose(code) {
  return code === 1002 || code === 1003 || code === 1007 || (code >= 4500 && code <= 4999);
}

const CLOSE_REASONS = {
  1000: 'normal closure', 1001: 'server shutting down', 1002: 'protocol error',
  1003: 'unsupported data', 1006: 'connection lost', 1007: 'invalid UTF-8',
  1009: 'message too big', 1011: 'server error', 4001: 'slow consumer',
  4002: 'heartbeat timeout (server side)',
};

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  /** on registers fn for event and returns a function that removes it. */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  once(event, fn) {
    const off = this.on(event, (arg) => {
      off();
      fn(arg);
    });
    return off;
  }

  off(event, fn) {
    const set = this._listeners.get(event);
    if (set) set.delete(fn);
  }

  _emit(event, arg) {
    const set = this._listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        this._listenerFailed(event, err);
      }
    }
    return true;
  }

  _listenerFailed(event, err) {
    // An application bug: never let it break the client.
    if (event !== 'error' && this._emit('error', { type: 'listener', event, message: String(err), error: err })) return;
    if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
    else console.error(err); // eslint-disable-line no-console
  }
}

/* ------------------------------------------------------------------ */
/* Subscriptions                                                       */
/* ------------------------------------------------------------------ */

/** Subscription is what subscribe returns. */
export class Subscription {
  constructor(client, channel, handler) {
    this._client = client;
    this.channel = channel;
    this.handler = handler;
    this.active = true;
    /** ready resolves with {epoch, seq, recovered} once the server confirms the subscription. */
    this.ready = new Promise((resolve) => {
      this._resolveReady = resolve;
    });
  }

  /** The channel's position: {epoch, seq} of the last message delivered. */
  get position() {
    return this._client.position(this.channel);
  }

  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._client._removeSubscription(this);
  }
}

// Channel is the client's state for one subscribed channel.
class Channel {
  constructor(name) {
    this.name = name;
    this.subs = new Set();
    this.epoch = null; // the epoch of seq, once known
    this.seq = null; // the last seq delivered (or the from-now point); null: from now
    this.live = false; // confirmed on the current connection
    this.sentSince = undefined; // WebSocket: the since sent in the pending sub
    this.subId = null; // WebSocket: id of the pending sub
  }
}

/* ------------------------------------------------------------------ */
/* The client                                                          */
/* ------------------------------------------------------------------ */

export class Comet extends Emitter {
  constructor(options = {}) {
    super();
    this.options = { ...DEFAULTS, ...options };
    const o = this.options;
    const base = o.url ?? new URL('.', import.meta.url).href;
    this.baseURL = new URL(base, globalThis.location ? globalThis.location.href : undefined);
    if (!/\/$/.test(this.baseURL.pathname)) this.baseURL.pathname += '/';
    this._order = [];
    for (const t of o.transports) {
      const n = ALIASES[String(t).toLowerCase()];
      if (!n) throw new TypeError(`comet: unknown transport ${t}`);
      if (!this._order.includes(n)) this._order.push(n);
    }
    this._forced = o.transport ? normalizeTransport(o.transport) : null;
    this._id = ++clientCount;
    this._channels = new Map();
    this._state = 'idle';
    this._transport = null;
    this._good = null; // the transport that last connected
    this._attempt = 0; // failed attempts since the last stable connection
    this._round = [];
    this._roundIndex = 0;
    this._gen = 0; // bumped by close/restart to invalidate async continuations
    this._timers = { connect: null, retry: null, stable: null };
    this._pending = new Map(); // WebSocket request id -> {resolve, reject, timer}
    this._nextId = 0;
    this.stats = { delivered: 0, duplicates: 0, connects: 0, reconnects: 0, errors: 0, gaps: 0 };
    this._onOnline = () => {
      if (this._state === 'disconnected') {
        this._log('back online: reconnecting now');
        this._attempt = 0;
        this._startRound();
      }
    };
  }

  /** state: 'idle', 'connecting', 'connected', 'disconnected' (waiting to retry) or 'closed'. */
  get state() {
    return this._state;
  }

  /** The name of the transport in use (or being tried), or null. */
  get transport() {
    return this._transport ? this._transport.name : null;
  }

  /** The forced transport, or null when falling back automatically. */
  get forcedTransport() {
    return this._forced;
  }

  /** The channels subscribed to. */
  get channels() {
    return [...this._channels.keys()];
  }

  /** connect starts connecting (and reconnecting). Calling it again is harmless. */
  connect() {
    if (this._state === 'idle' || this._state === 'closed') {
      this._gen++;
      this._attempt = 0;
      if (globalThis.addEventListener) globalThis.addEventListener('online', this._onOnline);
      this._startRound();
    }
    return this;
  }

  /** close disconnects and stops reconnecting; subscriptions are kept for a later connect(). */
  close() {
    if (this._state === 'idle' || this._state === 'closed') {
      this._setState('closed');
      return this;
    }
    const wasConnected = this._state === 'connected';
    const t = this._transport;
    this._stop();
    this._setState('closed');
    if (globalThis.removeEventListener) globalThis.removeEventListener('online', this._onOnline);
    if (wasConnected) {
      this._emit('disconnected', { transport: t && t.name, reason: 'closed by the application', willReconnect: false });
    }
    return this;
  }

  /**
   * setTransport forces one transport (a name of TRANSPORTS), or restores
   * automatic fallback (null or 'auto'). A live connection is replaced; every
   * channel continues from its position.
   */
  setTransport(name) {
    const forced = name == null || name === 'auto' ? null : normalizeTransport(name);
    if (forced === this._forced) return;
    this._forced = forced;
    if (this._state === 'idle' || this._state === 'closed') return;
    const t = this._transport;
    const wasConnected = this._state === 'connected';
    this._stop();
    if (wasConnected) {
      this._setState('disconnected');
      this._emit('disconnected', { transport: t && t.name, reason: 'transport changed', willReconnect: true, delay: 0 });
    }
    this._attempt = 0;
    this._startRound();
  }

  /**
   * subscribe calls handler(msg) for every message of channel, where msg is
   * {channel, seq, epoch, ts, data}. options.since (a seq, with
   * options.epoch, or a position {epoch, seq}) replays what came after it.
   * Several subscriptions to one channel share one server subscription.
   */
  subscribe(channel, handler, options = {}) {
    if (typeof channel !== 'string' || !CHANNEL_RE.test(channel)) {
      throw new TypeError(`comet: bad channel name ${JSON.stringify(channel)}`);
    }
    if (typeof handler !== 'function') throw new TypeError('comet: handler must be a function');
    const sub = new Subscription(this, channel, handler);
    let c = this._channels.get(channel);
    const fresh = !c;
    if (fresh) {
      c = new Channel(channel);
      let since = options.since;
      let epoch = options.epoch;
      if (isObj(since)) {
        epoch = since.epoch;
        since = since.seq;
      }
      if (since != null) {
        if (!isSeq(since)) throw new TypeError('comet: since must be a non-negative integer');
        c.seq = since;
        c.epoch = typeof epoch === 'string' && epoch !== '' ? epoch : null;
      }
      this._channels.set(channel, c);
    }
    c.subs.add(sub);
    if (!fresh && c.live) sub._resolveReady({ epoch: c.epoch, seq: c.seq, recovered: true });
    if (fresh) this._channelAdded(c);
    return sub;
  }

  /** unsubscribe drops every subscription to channel. */
  unsubscribe(channel) {
    const c = this._channels.get(channel);
    if (!c) return;
    for (const s of c.subs) s.active = false;
    c.subs.clear();
    this._dropChannel(c);
  }

  /** position returns {epoch, seq} of the last message delivered on channel, or null. */
  position(channel) {
    const c = this._channels.get(channel);
    if (!c || c.seq == null) return null;
    return { epoch: c.epoch, seq: c.seq };
  }

  /**
   * publish sends data (any JSON value but null) to channel and resolves with
   * its seq. Over a WebSocket it is a pub message; otherwise a POST /send.
   * A publish whose connection drops before the answer rejects with code 0:
   * it may or may not have been published.
   */
  publish(channel, data) {
    if (typeof channel !== 'string' || !CHANNEL_RE.test(channel)) {
      return Promise.reject(new CometError(400, `bad channel name ${JSON.stringify(channel)}`));
    }
    if (data === undefined || data === null) return Promise.reject(new CometError(400, 'data must not be null'));
    const msg = { op: 'pub', ch: channel, data };
    try {
      JSON.stringify(data);
    } catch (err) {
      return Promise.reject(new CometError(400, `data is not JSON: ${err}`));
    }
    const t = this._transport;
    if (t && t.name === 'websocket' && t.opened && !t.dead) {
      return this._wsRequest(t, msg).then((reply) => reply.seq);
    }
    return this._post(msg).then((reply) => reply.seq);
  }

  /** ping checks the server answers, over the WebSocket or POST /send. Resolves with the round trip in ms. */
  ping() {
    const start = now();
    const t = this._transport;
    const p = t && t.name === 'websocket' && t.opened && !t.dead ? this._wsRequest(t, { op: 'ping' }) : this._post({ op: 'ping' });
    return p.then(() => now() - start);
  }

  /* ---------------- connection management ---------------- */

  _log(...args) {
    if (this.options.debug) console.debug('[comet]', ...args); // eslint-disable-line no-console
  }

  _setState(state, transport = this.transport) {
    const prev = this._state;
    if (prev === state && this._stateTransport === transport) return;
    this._state = state;
    this._stateTransport = transport;
    this._log('state', prev, '->', state, transport || '');
    this._emit('state', { state, prev, transport });
  }

  _report(type, message, extra) {
    this.stats.errors++;
    const ev = { type, message, ...extra };
    this._log('error', ev);
    if (!this._emit('error', ev)) {
      console.warn('comet:', type, message); // eslint-disable-line no-console
    }
  }

  // _stop tears down the transport and timers without changing state.
  _stop() {
    this._gen++;
    const t = this._transport;
    this._transport = null;
    for (const k of Object.keys(this._timers)) {
      clearTimeout(this._timers[k]);
      this._timers[k] = null;
    }
    if (t) t.close();
    this._lost();
  }

  // _lost forgets what only the closed connection knew.
  _lost() {
    for (const c of this._channels.values()) {
      c.live = false;
      c.subId = null;
      c.sentSince = undefined;
    }
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new CometError(0, 'disconnected before the server answered'));
      this._pending.delete(id);
    }
  }

  _candidates() {
    if (this._forced) return [this._forced];
    const list = this._order.filter(supported);
    if (this._good && list.includes(this._good)) {
      return [this._good, ...list.filter((n) => n !== this._good)];
    }
    return list;
  }

  _startRound() {
    clearTimeout(this._timers.retry);
    this._timers.retry = null;
    this._round = this._candidates();
    this._roundIndex = 0;
    if (this._round.length === 0) {
      this._setState('closed', null);
      this._report('unsupported', 'no transport is available in this environment');
      return;
    }
    this._open(this._round[0]);
  }

  _open(name) {
    const Impl = IMPLS[name];
    const t = new Impl(this, name);
    this._transport = t;
    this._setState('connecting', name);
    this._emit('connecting', { transport: name, attempt: this._attempt });
    if (this._transport !== t) return; // a listener closed or restarted the client
    clearTimeout(this._timers.connect);
    this._timers.connect = setTimeout(() => t._fail('no open within connectTimeout'), this.options.connectTimeout);
    try {
      t.open();
    } catch (err) {
      t._fail(`cannot open: ${err && err.message ? err.message : err}`);
    }
  }

  _nextDelay() {
    const o = this.options;
    const cap = Math.min(o.maxDelay, o.initialDelay * 2 ** Math.min(this._attempt, 30));
    this._attempt++;
    return Math.floor(Math.random() * cap); // full jitter
  }

  _retryLater(info) {
    const delay = this._nextDelay();
    this._setState('disconnected', null);
    this._emit('disconnected', { ...info, willReconnect: true, delay });
    const gen = this._gen;
    this._timers.retry = setTimeout(() => {
      if (gen === this._gen && this._state === 'disconnected') this._startRound();
    }, delay);
  }

  // Transport callbacks.

  _opened(t) {
    if (t !== this._transport) return;
    clearTimeout(this._timers.connect);
    this._timers.connect = null;
    this._good = t.name;
    this.stats.connects++;
    if (this.stats.connects > 1) this.stats.reconnects++;
    this._setState('connected', t.name);
    this._emit('connected', { transport: t.name });
    clearTimeout(this._timers.stable);
    this._timers.stable = setTimeout(() => {
      this._attempt = 0;
    }, this.options.stableAfter);
  }

  _closed(t, info) {
    if (t !== this._transport) return;
    this._transport = null;
    for (const k of ['connect', 'stable']) {
      clearTimeout(this._timers[k]);
      this._timers[k] = null;
    }
    this._lost();
    const ev = { transport: t.name, reason: info.reason, code: info.code };
    this._log('transport closed', ev, 'opened:', t.opened);
    if (info.fatal) {
      this._setState('closed', null);
      this._emit('disconnected', { ...ev, willReconnect: false });
      return;
    }
    if (t.opened || this._forced) {
      this._retryLater(ev);
      return;
    }
    // It never connected: fall back, unless the server itself is down.
    const next = this._round[this._roundIndex + 1];
    const gen = this._gen;
    const decide = (serverDown) => {
      if (gen !== this._gen || this._transport) return;
      if (next && !serverDown) {
        this._roundIndex++;
        this._emit('fallback', { from: t.name, to: next, reason: info.reason });
        this._open(next);
      } else {
        this._retryLater(ev);
      }
    };
    if (next && t.name === this._good) {
      // A transport that worked before failed: if the server is unreachable
      // the others would fail too; wait and retry it instead of cycling.
      this._probe().then((up) => decide(!up));
    } else {
      Promise.resolve().then(() => decide(false));
    }
  }

  // _probe tells whether the server answers GET /healthz with 200.
  _probe() {
    const url = new URL('healthz', this.baseURL).href;
    const ac = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = setTimeout(() => ac && ac.abort(), 3000);
    const sameOrigin = globalThis.location && new URL(url).origin === globalThis.location.origin;
    return fetch(url, { cache: 'no-store', signal: ac && ac.signal, mode: sameOrigin ? 'same-origin' : 'no-cors' })
      .then((res) => res.type === 'opaque' || res.status === 200, () => false)
      .finally(() => clearTimeout(timer));
  }

  /* ---------------- channels ---------------- */

  // A WebSocket subscribes every channel when it opens; an HTTP transport
  // reopens its request with the new set, whether it opened yet or not.
  _channelAdded(c) {
    const t = this._transport;
    if (t && !t.dead && (t.opened || t.name !== 'websocket')) t.channelsChanged([c], []);
  }

  _removeSubscription(sub) {
    const c = this._channels.get(sub.channel);
    if (!c || !c.subs.delete(sub)) return;
    if (c.subs.size === 0) this._dropChannel(c);
  }

  _dropChannel(c) {
    if (this._channels.get(c.name) !== c) return;
    this._channels.delete(c.name);
    const t = this._transport;
    if (t && !t.dead && (t.opened || t.name !== 'websocket')) t.channelsChanged([], [c]);
  }

  // _httpParams builds the query of an HTTP transport: one ch per channel,
  // as a position when the client has one.
  _httpParams() {
    const q = new URLSearchParams();
    for (const c of this._channels.values()) {
      q.append('ch', c.seq == null ? c.name : `${c.name}~${c.epoch ?? ''}~${c.seq}`);
    }
    return q;
  }

  /* ---------------- delivery ---------------- */

  // _deliver hands one msg to the channel's handlers unless it was delivered
  // before.
  _deliver(m) {
    if (!validMsg(m)) {
      this._report('protocol', 'malformed msg', { data: m });
      return;
    }
    const c = this._channels.get(m.ch);
    if (!c) return; // unsubscribed meanwhile
    if (c.seq != null && m.seq <= c.seq) {
      this.stats.duplicates++;
      return;
    }
    c.seq = m.seq;
    this.stats.delivered++;
    const msg = { channel: m.ch, seq: m.seq, epoch: c.epoch, ts: m.ts, data: m.data };
    for (const s of [...c.subs]) {
      if (!s.active) continue;
      try {
        s.handler(msg);
      } catch (err) {
        this._listenerFailed('message', err);
      }
    }
  }

  _confirm(c, recovered) {
    c.live = true;
    const info = { channel: c.name, epoch: c.epoch, seq: c.seq, recovered };
    for (const s of c.subs) s._resolveReady(info);
    this._emit('subscribed', info);
  }

  _gap(c, info) {
    this.stats.gaps++;
    this._emit('gap', { channel: c.name, ...info });
  }

  // _startPosition applies the position an SSE/iframe stream starts from
  // (its open cursor) before the messages that follow it. An empty epoch
  // ('.' and a time: the channel had no stream) may become a real one
  // without a gap; the server says when one was lost (gapped).
  _startPosition(c, epoch, seq, gapped) {
    const prev = { epoch: c.epoch, seq: c.seq };
    const epochChanged = c.epoch != null && !c.epoch.startsWith('.') && c.epoch !== epoch;
    if (c.seq == null) c.seq = seq; // from now
    else if (epochChanged || (gapped && seq < c.seq)) c.seq = 0;
    c.epoch = epoch;
    if (gapped || epochChanged) {
      this._gap(c, { epoch, previousEpoch: prev.epoch, since: prev.seq, reason: epochChanged ? 'epoch changed' : 'history gap' });
    }
    return !(gapped || epochChanged);
  }

  // WebSocket frames.
  _wsFrame(t, data) {
    if (typeof data !== 'string') {
      this._report('protocol', 'binary frame on a JSON WebSocket');
      return;
    }
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      this._report('protocol', 'invalid JSON from the server', { data: data.slice(0, 200) });
      return;
    }
    if (!isObj(m) || typeof m.op !== 'string') {
      this._report('protocol', 'message without op', { data: data.slice(0, 200) });
      return;
    }
    switch (m.op) {
      case 'msg': {
        const c = validMsg(m) && this._channels.get(m.ch);
        // Before the sub reply, messages belong to an older subscription.
        if (c && !c.live) return;
        this._deliver(m);
        return;
      }
      case 'sub':
        this._wsSubReply(m);
        return;
      case 'epoch':
        this._epochEvent(m);
        return;
      case 'ok':
      case 'pong':
        this._wsReply(m);
        return;
      case 'err':
        this._wsErr(m);
        return;
      default:
        this._report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
    }
  }

  _wsSubReply(m) {
    const c = this._channels.get(m.ch);
    if (!c || c.subId !== m.id) return; // unsubscribed meanwhile, or stale
    if (typeof m.epoch !== 'string' || !isSeq(m.seq)) {
      this._report('protocol', 'malformed sub reply', { channel: m.ch });
      return;
    }
    c.subId = null;
    const prev = { epoch: c.epoch, seq: c.seq };
    let recovered = true;
    if (c.sentSince === undefined) {
      c.seq = m.seq; // from now
    } else {
      const epochChanged = c.epoch != null && !c.epoch.startsWith('.') && c.epoch !== m.epoch;
      if (epochChanged || (m.recovered === false && m.seq < c.seq)) c.seq = 0;
      if (m.recovered === false || epochChanged) {
        recovered = false;
        this._gap(c, { epoch: m.epoch, previousEpoch: prev.epoch, since: prev.seq, reason: epochChanged ? 'epoch changed' : 'history gap' });
      }
    }
    c.epoch = m.epoch;
    this._confirm(c, recovered);
  }

  _wsReply(m) {
    const p = this._pending.get(m.id);
    if (!p) return;
    this._pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m);
  }

  _wsErr(m) {
    const code = Number.isInteger(m.code) ? m.code : 0;
    const reason = typeof m.reason === 'string' ? m.reason : 'error';
    const p = this._pending.get(m.id);
    if (p) {
      this._pending.delete(m.id);
      clearTimeout(p.timer);
      p.reject(new CometError(code, reason));
      return;
    }
    for (const c of this._channels.values()) {
      if (c.subId != null && c.subId === m.id) {
        c.subId = null;
        this._report('subscribe', `subscribe to ${c.name} failed: ${code} ${reason}`, { channel: c.name, code });
        return;
      }
    }
    this._report('server', `${code} ${reason}`, { code, id: m.id });
  }

  _wsSubscribe(t, c) {
    const m = { op: 'sub', ch: c.name, id: `s${++this._nextId}` };
    if (c.seq != null) {
      m.since = c.seq;
      if (c.epoch != null) m.epoch = c.epoch;
    }
    c.subId = m.id;
    c.sentSince = m.since;
    c.live = false;
    t.send(m);
  }

  _wsRequest(t, msg) {
    return new Promise((resolve, reject) => {
      const id = `p${++this._nextId}`;
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new CometError(0, 'no answer within publishTimeout'));
      }, this.options.publishTimeout);
      this._pending.set(id, { resolve, reject, timer });
      try {
        t.send({ ...msg, id });
      } catch (err) {
        this._pending.delete(id);
        clearTimeout(timer);
        reject(new CometError(0, `send failed: ${err}`));
      }
    });
  }

  // POST /send: the up-channel of the HTTP transports.
  _post(msg) {
    const id = `h${++this._nextId}`;
    const ac = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = setTimeout(() => ac && ac.abort(), this.options.publishTimeout);
    return fetch(new URL('send', this.baseURL).href, {
      method: 'POST',
      body: JSON.stringify({ ...msg, id }), // text/plain: a simple CORS request
      cache: 'no-store',
      credentials: this.options.withCredentials ? 'include' : 'same-origin',
      signal: ac && ac.signal,
    })
      .then(
        async (res) => {
          const text = await res.text();
          if (!res.ok) throw new CometError(res.status, `POST /send: HTTP ${res.status} ${text.trim().slice(0, 100)}`);
          let m;
          try {
            m = JSON.parse(text);
          } catch {
            this._report('protocol', 'POST /send answered invalid JSON', { data: text.slice(0, 200) });
            throw new CometError(0, 'invalid answer from POST /send');
          }
          if (isObj(m) && m.op === 'err') throw new CometError(Number.isInteger(m.code) ? m.code : 0, String(m.reason));
          if (!isObj(m) || (m.op !== 'ok' && m.op !== 'pong')) throw new CometError(0, 'unexpected answer from POST /send');
          return m;
        },
        (err) => {
          throw new CometError(0, ac && ac.signal.aborted ? 'no answer within publishTimeout' : `POST /send failed: ${err}`);
        },
      )
      .finally(() => clearTimeout(timer));
  }

  // Events of the streaming HTTP transports (SSE, iframe): open or msg.
  _streamEvent(t, m) {
    if (!isObj(m) || typeof m.op !== 'string') {
      this._report('protocol', 'event without op');
      return;
    }
    if (m.op === 'msg') {
      if (!t.started) {
        this._report('protocol', 'msg before open');
        return;
      }
      this._deliver(m);
      return;
    }
    if (m.op === 'open') {
      const positions = parseCursor(m.cursor);
      if (!positions) {
        this._report('protocol', 'open event with a malformed cursor');
        t._fail('malformed open event');
        return;
      }
      const gaps = new Set(Array.isArray(m.gap) ? m.gap : []);
      t.started = true;
      const confirmed = [];
      for (const p of positions) {
        const c = this._channels.get(p.channel);
        if (!c) continue;
        const ok = this._startPosition(c, p.epoch, p.seq, gaps.has(p.channel));
        if (!c.live) confirmed.push([c, ok]);
      }
      t._opened();
      for (const [c, ok] of confirmed) this._confirm(c, ok);
      return;
    }
    if (m.op === 'hb') return;
    if (m.op === 'epoch') {
      this._epochEvent(m);
      return;
    }
    if (m.op === 'close') {
      // The server ends the stream and says why, as a WebSocket close would.
      const code = Number.isInteger(m.code) ? m.code : 0;
      t._fail(CLOSE_REASONS[code] || (typeof m.reason === 'string' && m.reason) || `closed (${code})`, code, t.opened && fatalClose(code));
      return;
    }
    this._report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
  }

  // {"op":"epoch"}: the stream of a channel we joined while it had none
  // began; its seqs, from 1, belong to this epoch.
  _epochEvent(m) {
    const c = this._channels.get(m.ch);
    if (!c || typeof m.epoch !== 'string' || m.epoch === '' || m.epoch.startsWith('.')) return;
    if (c.epoch == null || (c.epoch.startsWith('.') && !c.seq)) c.epoch = m.epoch;
  }

  // One long-poll answer: {cursor, msgs, gap}.
  _pollAnswer(t, a) {
    const positions = isObj(a) && Array.isArray(a.msgs) ? parseCursor(a.cursor) : null;
    if (!positions) {
      this._report('protocol', 'malformed poll answer');
      return false;
    }
    const gaps = new Set(Array.isArray(a.gap) ? a.gap : []);
    const confirmed = [];
    // The cursor is where the answer ends; its epochs are those of the msgs.
    for (const p of positions) {
      const c = this._channels.get(p.channel);
      if (!c) continue;
      const epochChanged = c.epoch != null && !c.epoch.startsWith('.') && c.epoch !== p.epoch;
      const gapped = gaps.has(p.channel);
      if (gapped || epochChanged) {
        this._gap(c, { epoch: p.epoch, previousEpoch: c.epoch, since: c.seq, reason: epochChanged ? 'epoch changed' : 'history gap' });
        if (epochChanged || (c.seq != null && p.seq < c.seq)) c.seq = 0;
      }
      c.epoch = p.epoch;
      p.ok = !(gapped || epochChanged);
      p.c = c;
    }
    for (const m of a.msgs) this._deliver(m);
    for (const p of positions) {
      if (!p.c || this._channels.get(p.channel) !== p.c) continue;
      p.c.seq = p.seq;
      if (!p.c.live) confirmed.push(p);
    }
    t._opened();
    for (const p of confirmed) this._confirm(p.c, p.ok);
    return true;
  }

  // _rx notes traffic for the heartbeat watchdogs.
  _rx(t) {
    t.lastRx = now();
  }
}

/** createClient is new Comet(options). */
export function createClient(options) {
  return new Comet(options);
}

function normalizeTransport(name) {
  const n = ALIASES[String(name).toLowerCase()];
  if (!n) throw new TypeError(`comet: unknown transport ${name}`);
  return n;
}

function supported(name) {
  const g = globalThis;
  switch (name) {
    case 'websocket':
      return typeof g.WebSocket === 'function';
    case 'sse':
      return typeof g.fetch === 'function' || typeof g.EventSource === 'function';
    case 'poll':
      return typeof g.fetch === 'function';
    case 'iframe':
      return typeof g.document === 'object' && g.document !== null && typeof g.fetch === 'function';
    default:
      return false;
  }
}

/* ------------------------------------------------------------------ */
/* Transports                                                          */
/* ------------------------------------------------------------------ */

class Transport {
  constructor(client, name) {
    this.c = client;
    this.name = name;
    this.opened = false; // reached "connected"
    this.dead = false;
    this.lastRx = now();
    this.watchTimer = null;
  }

  _opened() {
    if (this.dead || this.opened) return;
    this.opened = true;
    this.c._opened(this);
  }

  // _fail ends the transport and tells the client.
  _fail(reason, code, fatal = false) {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchTimer);
    this.teardown();
    this.c._closed(this, { reason, code, fatal });
  }

  // close ends the transport quietly (the client asked).
  close() {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchTimer);
    this.teardown();
  }

  // _watch fails the transport when nothing arrives within window ms.
  _watch(window) {
    clearInterval(this.watchTimer);
    this.lastRx = now();
    this.watchTimer = setInterval(() => {
      if (now() - this.lastRx > window) this._fail('heartbeat timeout: no data from the server');
    }, Math.max(250, Math.floor(window / 4)));
  }

  teardown() {}

  channelsChanged() {}
}

class WebSocketTransport extends Transport {
  open() {
    const u = new URL('ws', this.c.baseURL);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(u.href);
    this.ws = ws;
    ws.onopen = () => {
      if (this.dead) return;
      this.lastRx = now();
      this._opened();
      for (const c of this.c._channels.values()) this.c._wsSubscribe(this, c);
      this._heartbeat();
    };
    ws.onmessage = (ev) => {
      if (this.dead) return;
      this.lastRx = now();
      this.c._wsFrame(this, ev.data);
    };
    ws.onclose = (ev) => {
      const code = ev.code;
      this._fail(CLOSE_REASONS[code] || ev.reason || `closed (${code})`, code, this.opened && fatalClose(code));
    };
    ws.onerror = () => {}; // a close follows
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  // _heartbeat pings after pingInterval without traffic and fails the
  // connection when nothing answers within pongTimeout.
  _heartbeat() {
    const { pingInterval, pongTimeout } = this.c.options;
    const tick = () => {
      if (this.dead) return;
      const idle = now() - this.lastRx;
      if (idle < pingInterval) {
        this.hbTimer = setTimeout(tick, pingInterval - idle);
        return;
      }
      const sent = now();
      try {
        this.send({ op: 'ping', id: 'hb' });
      } catch {
        // the close event follows
      }
      this.hbTimer = setTimeout(() => {
        if (this.dead) return;
        if (this.lastRx < sent) this._fail('heartbeat timeout: no pong from the server');
        else tick();
      }, pongTimeout);
    };
    this.hbTimer = setTimeout(tick, pingInterval);
  }

  channelsChanged(added, removed) {
    for (const c of added) this.c._wsSubscribe(this, c);
    for (const c of removed) {
      try {
        this.send({ op: 'unsub', ch: c.name });
      } catch {
        // the close event follows
      }
    }
  }

  teardown() {
    clearTimeout(this.hbTimer);
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    try {
      if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000);
    } catch {
      // already closed
    }
  }
}

// HTTPTransport is what SSE, long-poll and iframe share: the channels are
// the request's, so a change of channels reopens the request (from each
// channel's position), without a visible disconnect.
class HTTPTransport extends Transport {
  open() {
    if (this.c._channels.size === 0) {
      // Nothing to read: check the server answers, and wait for channels.
      this.c._probe().then((up) => {
        if (this.dead) return;
        if (up) this._opened();
        else this._fail('server unreachable');
      });
      return;
    }
    this.restart();
  }

  channelsChanged() {
    if (this.pendingRestart) return;
    this.pendingRestart = true;
    Promise.resolve().then(() => {
      this.pendingRestart = false;
      if (this.dead) return;
      this.stopRequest();
      if (this.c._channels.size > 0) this.restart();
      else if (!this.opened) this.open();
    });
  }

  teardown() {
    this.stopRequest();
  }
}

class SSETransport extends HTTPTransport {
  restart() {
    this.started = false;
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const url = new URL('sse', this.c.baseURL);
    url.search = this.c._httpParams().toString();
    const mode = this.c.options.sseMode;
    const streams = typeof fetch === 'function' && typeof ReadableStream === 'function' && typeof TextDecoder === 'function';
    if (mode === 'eventsource' || (mode === 'auto' && !streams)) this.openEventSource(url.href, gen);
    else this.openFetch(url.href, gen);
  }

  stopRequest() {
    this.gen = (this.gen || 0) + 1;
    clearInterval(this.watchTimer);
    if (this.ac) this.ac.abort();
    this.ac = null;
    if (this.es) {
      this.es.onmessage = this.es.onerror = null;
      this.es.close();
      this.es = null;
    }
  }

  openFetch(url, gen) {
    const ac = new AbortController();
    this.ac = ac;
    const live = () => !this.dead && gen === this.gen;
    fetch(url, {
      headers: { Accept: 'text/event-stream' },
      cache: 'no-store',
      credentials: this.c.options.withCredentials ? 'include' : 'same-origin',
      signal: ac.signal,
    })
      .then(async (res) => {
        if (!live()) return;
        const type = res.headers.get('content-type') || '';
        if (!res.ok || !/^text\/event-stream/i.test(type) || !res.body) {
          this._fail(`GET /sse: HTTP ${res.status}`, res.status);
          return;
        }
        this._watch(this.c.options.streamTimeout);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const parser = new SSEParser((data) => live() && this.event(data));
        for (;;) {
          const { value, done } = await reader.read();
          if (!live()) {
            reader.cancel().catch(() => {});
            return;
          }
          if (done) break;
          this.lastRx = now();
          parser.push(decoder.decode(value, { stream: true }));
        }
        this._fail('the server ended the event stream');
      })
      .catch((err) => {
        if (live()) this._fail(`GET /sse failed: ${err && err.message ? err.message : err}`);
      });
  }

  // The EventSource mode cannot see heartbeat comments, so it relies on the
  // browser to notice a dead connection.
  openEventSource(url, gen) {
    const es = new EventSource(url, { withCredentials: this.c.options.withCredentials });
    this.es = es;
    es.onmessage = (ev) => {
      if (this.dead || gen !== this.gen) return;
      this.lastRx = now();
      this.event(ev.data);
    };
    // Reconnects are the client's (with positions and backoff), not the browser's.
    es.onerror = () => {
      if (!this.dead && gen === this.gen) this._fail('event stream error');
    };
  }

  event(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      this.c._report('protocol', 'invalid JSON in an SSE event', { data: String(data).slice(0, 200) });
      return;
    }
    this.c._streamEvent(this, m);
  }
}

// SSEParser implements the text/event-stream format (WHATWG HTML §9.2.6),
// calling onEvent(data) for each message event; comments only count as
// traffic.
class SSEParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.data = [];
    this.type = '';
  }

  push(chunk) {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A CR at the end of the buffer may be half of a CRLF.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      // Every event carries its op in its data, whatever its type.
      if (this.data.length > 0) this.onEvent(this.data.join('\n'));
      this.data = [];
      this.type = '';
      return;
    }
    if (line[0] === ':') return; // a comment: the heartbeat
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    // id and retry: positions and backoff are the client's own.
  }
}

class PollTransport extends HTTPTransport {
  restart() {
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const o = this.c.options;
    const q = this.c._httpParams();
    // The first poll, and one for a channel with no position yet, is
    // answered at once: it confirms the connection and the positions, so
    // that "subscribed" means "nothing published from now on is missed".
    if (!this.asked) this.asked = new WeakSet();
    let fresh = !this.opened;
    for (const c of this.c._channels.values()) {
      if (c.seq == null && !this.asked.has(c)) {
        this.asked.add(c);
        fresh = true;
      }
    }
    if (fresh) q.set('wait', '0');
    else if (o.pollWait != null) q.set('wait', String(o.pollWait));
    const url = new URL('poll', this.c.baseURL);
    url.search = q.toString();
    const ac = new AbortController();
    this.ac = ac;
    this.timer = setTimeout(() => ac.abort(), o.pollTimeout);
    const live = () => !this.dead && gen === this.gen;
    fetch(url.href, {
      cache: 'no-store',
      credentials: o.withCredentials ? 'include' : 'same-origin',
      signal: ac.signal,
    })
      .then(async (res) => {
        if (!live()) return;
        const text = await res.text();
        if (!live()) return;
        clearTimeout(this.timer);
        if (!res.ok) {
          this._fail(`GET /poll: HTTP ${res.status}`, res.status);
          return;
        }
        let a;
        try {
          a = JSON.parse(text);
        } catch {
          this.c._report('protocol', 'invalid JSON in a poll answer', { data: text.slice(0, 200) });
          this._fail('invalid poll answer');
          return;
        }
        this.lastRx = now();
        if (!this.c._pollAnswer(this, a)) {
          this._fail('malformed poll answer');
          return;
        }
        if (live() && this.c._channels.size > 0) this.restart();
      })
      .catch((err) => {
        if (!live()) return;
        this._fail(ac.signal.aborted ? 'poll timed out' : `GET /poll failed: ${err && err.message ? err.message : err}`);
      });
  }

  stopRequest() {
    this.gen = (this.gen || 0) + 1;
    clearTimeout(this.timer);
    if (this.ac) this.ac.abort();
    this.ac = null;
  }
}

class IframeTransport extends HTTPTransport {
  restart() {
    this.started = false;
    this.events = 0;
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const cb = `__comet${this.c._id}_${gen}_${Math.floor(Math.random() * 1e9)}`;
    this.cb = cb;
    globalThis[cb] = (ev) => {
      if (this.dead || gen !== this.gen) return;
      this.lastRx = now();
      this.watchDocument();
      let m;
      try {
        m = JSON.parse(JSON.stringify(ev)); // into this realm, as plain JSON
      } catch {
        this.c._report('protocol', 'iframe event is not JSON');
        return;
      }
      this.c._streamEvent(this, m);
      if (++this.events >= this.c.options.iframeMaxEvents && !this.dead && gen === this.gen) {
        // A forever-frame's document only grows: start a fresh one.
        this.stopRequest();
        this.restart();
      }
    };
    const url = new URL('iframe', this.c.baseURL);
    const q = this.c._httpParams();
    q.set('cb', cb);
    url.search = q.toString();
    const f = document.createElement('iframe');
    f.setAttribute('aria-hidden', 'true');
    f.tabIndex = -1;
    f.title = 'comet';
    f.style.cssText = 'position:absolute;width:0;height:0;border:0;left:-9999px;top:-9999px;visibility:hidden';
    f.src = url.href;
    (document.body || document.documentElement).appendChild(f);
    // load fires when the response ends: the server closed it, or it was an
    // error page.
    f.onload = () => {
      if (!this.dead && gen === this.gen) this._fail(this.started ? 'the server ended the forever-frame' : 'GET /iframe did not open');
    };
    this.frame = f;
    this._watch(this.c.options.streamTimeout);
  }

  // watchDocument counts the heartbeat comments the frame receives (possible
  // on the same origin only; elsewhere only events count).
  watchDocument() {
    if (this.observer !== undefined) return;
    this.observer = null;
    try {
      const doc = this.frame && this.frame.contentDocument;
      if (doc && typeof MutationObserver === 'function') {
        this.observer = new MutationObserver(() => {
          this.lastRx = now();
        });
        this.observer.observe(doc, { childList: true, subtree: true });
      }
    } catch {
      // another origin
    }
  }

  stopRequest() {
    this.gen = (this.gen || 0) + 1;
    clearInterval(this.watchTimer);
    if (this.observer) this.observer.disconnect();
    this.observer = undefined;
    if (this.cb) {
      const cb = this.cb;
      globalThis[cb] = () => {}; // scripts still in flight
      setTimeout(() => {
        if (globalThis[cb]) delete globalThis[cb];
      }, 5000);
      this.cb = null;
    }
    if (this.frame) {
      this.frame.onload = null;
      this.frame.remove();
      this.frame = null;
    }
  }
}

const IMPLS = { websocket: WebSocketTransport, sse: SSETransport, poll: PollTransport, iframe: IframeTransport };

export default Comet;
