// @ts-check
// Comet: the client an application uses. Each instance has its own
// subscriptions, positions and send queue; the connection itself lives in
// a hub (hub.js) that it shares with the other tabs of the origin, or has
// to itself (share: false).

import { Emitter } from './emitter.js';
import { CometError, errorFromJSON } from './errors.js';
import { DEFAULTS, wireOptions } from './options.js';
import { AckTracker, DM_MAX_USER, USER_RE, deviceID } from './inbox.js';
import { Outbox } from './outbox.js';
import { accept, isEmptyEpoch } from './positions.js';
import { decodeUnread, isObj, isSeq, randomKey, validChannel } from './protocol.js';
import { Saver, storageStore } from './store.js';
import { transportName } from './transports/index.js';
import { holdLock, leaderLink, localLink, locks, workerLink } from './share.js';
import { InboxHandler, Subscription, TabChannel } from './subscription.js';

/** @typedef {import('./options.js').CometOptions} CometOptions */
/** @typedef {import('./options.js').ResolvedOptions} ResolvedOptions */
/** @typedef {import('./link.js').Message} Message */
/** @typedef {import('./share.js').Link} Link */
/** @typedef {import('./protocol.js').Unread} Unread */

/**
 * Comet is a client of a Comet node. Nothing happens until connect().
 */
export class Comet extends Emitter {
  /** @param {CometOptions} [options] */
  constructor(options = {}) {
    super();
    /** @type {ResolvedOptions} */
    this.options = /** @type {any} */ ({ ...DEFAULTS, ...options });
    const o = this.options;
    for (const t of o.transports) transportName(t); // a TypeError now, not later
    this._forced = o.transport ? transportName(o.transport) : null;
    const base = o.url ?? new URL('.', import.meta.url).href;
    this.baseURL = new URL(base, globalThis.location ? globalThis.location.href : undefined);
    if (!/\/$/.test(this.baseURL.pathname)) this.baseURL.pathname += '/';
    this._key = `${this.baseURL.href}|${o.shareKey || ''}`;
    this._tab = randomKey(12).replace(/[^A-Za-z0-9_-]/g, 'x');
    /** @type {Map<string, TabChannel>} */
    this._channels = new Map();
    this._outbox = new Outbox(Math.max(1, o.maxQueued));
    /** @type {Map<string, {resolve: (v: any) => void, reject: (e: CometError) => void, timer: any}>} */
    this._calls = new Map();
    this._nextId = 0;
    /** @type {Link | null} */
    this._link = null;
    this._linkGen = 0;
    this._sid = '';
    /** @type {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} */
    this._state = 'idle';
    /** @type {string | null} */
    this._transport = null;
    /** @type {Record<string, any> | null} */
    this._identity = null;
    this._connStats = { delivered: 0, duplicates: 0, connects: 0, reconnects: 0, errors: 0, gaps: 0 };
    this._own = { delivered: 0, duplicates: 0, errors: 0, gaps: 0 };
    /** @type {(() => void) | null} */
    this._releaseLock = null;
    /** @type {string | null} the lock this tab holds while it lives (the hub watches it) */
    this._lockName = null;
    this._store = o.persist === true || o.persist === 'session' ? storageStore(o.persistKey) : o.persist || null;
    /** @type {Record<string, {epoch: string | null, seq: number}> | null} */
    this._saved = null;
    this._saver = this._store ? new Saver(this._store, () => this._snapshot(), 250) : null;
    this._onHide = () => this._saver && this._saver.flush();
    // One device id per browser (the inbox keeps a position per device).
    o.device = o.device === false ? false : o.device || deviceID(o.deviceKey, () => randomKey(16).replace(/[^A-Za-z0-9_-]/g, 'x'));
    /** @type {string | null} the personal channel, once the hub knows it */
    this._personal = null;
    /** @type {Set<InboxHandler>} */
    this._inboxHandlers = new Set();
    this._ackQueued = false;
  }

  /** state: 'idle', 'connecting', 'connected', 'disconnected' (waiting to retry) or 'closed'. */
  get state() {
    return this._state;
  }

  /** The name of the transport in use (or being tried), or null. */
  get transport() {
    return this._transport;
  }

  /** The forced transport, or null when falling back automatically. */
  get forcedTransport() {
    return this._forced;
  }

  /** The channels subscribed to. */
  get channels() {
    return [...this._channels.keys()];
  }

  /** Who the connection is (WebSocket on a node with identity): {user, client, personal, conn, exp}, or null. */
  get identity() {
    return this._identity;
  }

  /**
   * The user's personal channel (user:NAME), once known (any transport), or null.
   * @returns {string | null}
   */
  get personal() {
    return this._personal || (this._identity && this._identity.personal) || null;
  }

  /** This browser's device id for the inbox (sent as device=), or null. */
  get device() {
    return this.options.device || null;
  }

  /** How this tab reaches its connection: 'local', 'worker' or 'leader'; null before connect(). */
  get shared() {
    return this._link ? this._link.mode : null;
  }

  /** Whether the shared connection runs in this tab (the leader tab, or share: false). */
  get leader() {
    return !!this._link && (this._link.mode === 'local' || !!this._link.leading);
  }

  /** The publications and DMs not answered yet: [{key, op, channel, to, data, queuedAt}] (channel for a pub, to for a dm). */
  get pending() {
    return this._outbox.entries.map((e) => ({ key: e.key, op: e.msg.op, channel: e.msg.ch, to: e.msg.to, data: e.msg.data, queuedAt: e.queuedAt }));
  }

  /** Counters: delivered, duplicates, connects, reconnects, errors, gaps. */
  get stats() {
    const c = this._connStats;
    const o = this._own;
    return {
      delivered: o.delivered,
      duplicates: c.duplicates + o.duplicates,
      connects: c.connects,
      reconnects: c.reconnects,
      errors: c.errors + o.errors,
      gaps: o.gaps,
    };
  }

  /** connect starts connecting (and reconnecting). Calling it again is harmless. */
  connect() {
    if (this._link || this._linking) return this;
    this._linking = true;
    this._setState('connecting', null);
    if (globalThis.addEventListener) globalThis.addEventListener('pagehide', this._onHide);
    this._linkUp(this._mode()).finally(() => (this._linking = false));
    return this;
  }

  /** close disconnects and stops reconnecting; subscriptions and positions are kept for a later connect(). */
  close() {
    const was = this._state;
    this._linkGen++;
    if (this._link) this._link.close();
    this._link = null;
    if (this._releaseLock) this._releaseLock();
    this._releaseLock = null;
    this._lockName = null;
    if (globalThis.removeEventListener) globalThis.removeEventListener('pagehide', this._onHide);
    if (this._saver) this._saver.flush();
    for (const c of this._channels.values()) c.live = false;
    this._failCalls(new CometError(0, 'the client was closed', 'closed'));
    this._outbox.rejectAll(new CometError(0, 'the client was closed', 'closed'));
    this._setState('closed', null);
    if (was === 'connected') this.emit('disconnected', { transport: null, reason: 'closed by the application', willReconnect: false });
    return this;
  }

  /** retryNow ends a wait for the next try: the connection tries now. */
  retryNow() {
    this._post({ t: 'ctl', what: 'retry' });
  }

  /**
   * setTransport forces one transport (a name of TRANSPORTS), or restores
   * automatic fallback (null or 'auto'). The shared connection is
   * replaced; every channel continues from its position.
   * @param {string | null} name
   */
  setTransport(name) {
    const forced = name == null || name === 'auto' ? null : transportName(name);
    this._forced = forced;
    this.options.transport = forced;
    // A SharedWorker has no document for the forever-frame: move this tab
    // to a leader-tab connection.
    if (forced === 'iframe' && this._link && this._link.mode === 'worker') {
      this._relink('leader');
      return;
    }
    this._post({ t: 'ctl', what: 'transport', arg: forced });
  }

  /**
   * subscribe calls handler(msg) for every message of channel, where msg is
   * {channel, seq, epoch, ts, data, from}. options.since (a seq, with
   * options.epoch, or a position {epoch, seq}) replays what came after it;
   * without it, a persisted position (persist option) or from now.
   * @param {string} channel
   * @param {(msg: Message) => void} handler
   * @param {{since?: number | {epoch: string | null, seq: number} | null, epoch?: string | null}} [options]
   * @returns {Subscription}
   */
  subscribe(channel, handler, options = {}) {
    if (!validChannel(channel)) throw new TypeError(`comet: bad channel name ${JSON.stringify(channel)}`);
    if (typeof handler !== 'function') throw new TypeError('comet: handler must be a function');
    const sub = new Subscription(this._owner(), channel, handler);
    let c = this._channels.get(channel);
    const fresh = !c;
    if (!c) {
      c = new TabChannel(channel);
      let since = options.since;
      let epoch = options.epoch;
      if (isObj(since)) {
        epoch = /** @type {any} */ (since).epoch;
        since = /** @type {any} */ (since).seq;
      }
      if (since != null) {
        if (!isSeq(since)) throw new TypeError('comet: since must be a non-negative integer');
        c.pos = { epoch: typeof epoch === 'string' && epoch !== '' ? epoch : null, seq: since };
      } else if ('since' in options) {
        c.fromNow = true;
      } else {
        this._restore(c);
      }
      this._channels.set(channel, c);
    }
    c.subs.add(sub);
    if (!fresh && c.live) sub._resolveReady({ epoch: c.pos.epoch, seq: c.pos.seq, recovered: true });
    if (fresh) this._post({ t: 'sub', ch: channel, pos: c.pos.seq == null ? null : { ...c.pos } });
    return sub;
  }

  /**
   * unsubscribe drops every handler of channel.
   * @param {string} channel
   */
  unsubscribe(channel) {
    const c = this._channels.get(channel);
    if (!c) return;
    for (const s of c.subs) s.active = false;
    c.subs.clear();
    this._drop(c);
  }

  /**
   * position returns {epoch, seq} of the last message delivered on channel
   * (or where it started), or null.
   * @param {string} channel
   */
  position(channel) {
    const c = this._channels.get(channel);
    if (!c || c.pos.seq == null) return null;
    return { epoch: c.pos.epoch, seq: c.pos.seq };
  }

  /**
   * publish sends data (any JSON value but null) to channel and resolves
   * with its seq. While disconnected it waits in the send queue (at most
   * maxQueued messages), and it is sent again after a lost answer with the
   * same idempotency key, so that it is stored exactly once. Every
   * subscriber of the channel gets it, this tab included.
   * @param {string} channel
   * @param {any} data
   * @param {{idem?: string}} [options] idem: your own idempotency key (at most 64 bytes)
   * @returns {Promise<number>}
   */
  publish(channel, data, options = {}) {
    if (!validChannel(channel)) return Promise.reject(new CometError(400, `bad channel name ${JSON.stringify(channel)}`, 'invalid'));
    const bad = checkSend(data, options);
    if (bad) return Promise.reject(bad);
    /** @type {Record<string, any>} */
    const msg = { op: 'pub', ch: channel, data, echo: true };
    if (options.idem !== undefined) msg.idem = options.idem;
    return this._queue(msg);
  }

  /**
   * typing sends an ephemeral signal to a channel's subscribers (default
   * data {"typing":true}): delivered now with seq 0, never stored. It
   * needs the WebSocket transport.
   * @param {string} channel
   * @param {any} [data]
   */
  typing(channel, data) {
    if (!validChannel(channel)) return Promise.reject(new CometError(400, 'bad channel name', 'invalid'));
    /** @type {Record<string, any>} */
    const msg = { op: 'typing', ch: channel };
    if (data !== undefined && data !== null) msg.data = data;
    return this._call(msg).then(() => undefined);
  }

  /**
   * presence asks who is present in channel (namespaces that keep
   * presence; the WebSocket transport): {channel, connections, users,
   * clients: [{user, client, conn, transport, since}], truncated}.
   * @param {string} channel
   */
  presence(channel) {
    if (!validChannel(channel)) return Promise.reject(new CometError(400, 'bad channel name', 'invalid'));
    return this._call({ op: 'presence', ch: channel });
  }

  /** ping checks the server answers. Resolves with the round trip in ms. */
  ping() {
    const start = Date.now();
    return this._call({ op: 'ping' }).then(() => Date.now() - start);
  }

  /* ---------------- the inbox ---------------- */

  /**
   * inbox calls handler(msg) for every message stored for the user (its
   * personal channel: DMs, group and backend messages; msg.conv names the
   * conversation), then acknowledges it for this device, but only once
   * handler returned, or the promise it returned resolved. What it threw
   * on, rejected or never finished is not acknowledged and comes again
   * with the next connection (a reconnect, the next page load). Register
   * it before connect(): what the connection receives before any tab
   * handles the inbox is not held for later handlers.
   * @param {(msg: Message) => any} handler
   * @returns {InboxHandler}
   */
  inbox(handler) {
    if (typeof handler !== 'function') throw new TypeError('comet: handler must be a function');
    const h = new InboxHandler((x) => this._dropInbox(x), handler);
    const first = this._inboxHandlers.size === 0;
    this._inboxHandlers.add(h);
    if (this._personal) this._personalChannel(this._personal);
    if (first) this._post({ t: 'inbox', on: true, pos: null });
    return h;
  }

  /**
   * dm sends a direct message to user `to` (both users' personal
   * channels, every device of both) and resolves with its seq in the
   * sender's own log. Like publish, it waits in the send queue while
   * offline and is sent again after a lost answer with the same
   * idempotency key: stored exactly once.
   * @param {string} to
   * @param {any} data
   * @param {{idem?: string}} [options]
   * @returns {Promise<number>}
   */
  dm(to, data, options = {}) {
    if (typeof to !== 'string' || !USER_RE.test(to) || to.length > DM_MAX_USER) {
      return Promise.reject(new CometError(400, `bad user id ${JSON.stringify(to)}`, 'invalid'));
    }
    /** @type {Record<string, any>} */
    const msg = { op: 'dm', to, data };
    const bad = checkSend(data, options);
    if (bad) return Promise.reject(bad);
    if (options.idem !== undefined) msg.idem = options.idem;
    return this._queue(msg);
  }

  /**
   * read moves the user's read marker in conversation conv to seq (a seq
   * of the user's personal channel; it never moves back). The user's other
   * devices get a read event; in a DM the other participant gets a seen
   * receipt. Resolves with {read, unread}: the marker and what is still
   * unread in the conversation.
   * @param {string} conv
   * @param {number} seq
   * @returns {Promise<{read: number, unread: number}>}
   */
  read(conv, seq) {
    if (!validChannel(conv)) return Promise.reject(new CometError(400, `bad conversation ${JSON.stringify(conv)}`, 'invalid'));
    if (!isSeq(seq)) return Promise.reject(new CometError(400, 'seq must be a non-negative integer', 'invalid'));
    return this._call({ op: 'read', conv, seq }).then((m) => ({ read: isSeq(m.read) ? m.read : seq, unread: isSeq(m.unread) ? m.unread : 0 }));
  }

  /**
   * unread resolves with the user's unread counts: {total, top, convs:
   * [{conv, unread, read, last, ts}], next}, 100 conversations at a time
   * (pass {conv: next} for the following page).
   * @param {{conv?: string}} [options]
   * @returns {Promise<Unread>}
   */
  unread(options = {}) {
    /** @type {Record<string, any>} */
    const msg = { op: 'unread' };
    if (options.conv != null) {
      if (!validChannel(options.conv)) return Promise.reject(new CometError(400, 'bad conversation', 'invalid'));
      msg.conv = options.conv;
    }
    return this._call(msg).then((m) => {
      const u = decodeUnread(m);
      if (!u) throw new CometError(0, 'malformed unread answer', 'lost');
      return u;
    });
  }

  /* ---------------- the link to the hub ---------------- */

  /** @returns {'local' | 'worker' | 'leader'} */
  _mode() {
    const share = this.options.share;
    if (share === false || /** @type {any} */ (share) === 'off') return 'local';
    const iframeOnly = this._forced === 'iframe' || this.options.transports.every((t) => transportName(t) === 'iframe');
    const sameOrigin = (() => {
      try {
        const script = new URL(String(this.options.workerURL || import.meta.url), globalThis.location ? globalThis.location.href : undefined);
        return !globalThis.location || script.origin === globalThis.location.origin;
      } catch {
        return false;
      }
    })();
    const canWorker = typeof (/** @type {any} */ (globalThis).SharedWorker) === 'function' && sameOrigin && !iframeOnly;
    const canLead = !!locks() && typeof BroadcastChannel === 'function';
    if (share !== 'leader' && canWorker) return 'worker';
    return canLead ? 'leader' : 'local';
  }

  /**
   * _linkUp reaches a hub in the given mode (falling back to the next one
   * that works) and says hello.
   * @param {'local' | 'worker' | 'leader'} mode
   */
  async _linkUp(mode) {
    const gen = ++this._linkGen;
    if (this._store && !this._saved) {
      try {
        this._saved = (await this._store.load()) || {};
      } catch {
        this._saved = {};
      }
      for (const c of this._channels.values()) this._restore(c);
    }
    if (mode !== 'local' && !this._releaseLock) {
      // The hub learns this tab is gone when this lock is free.
      const name = `comet:${this._key}:tab:${this._tab}`;
      this._releaseLock = await holdLock(name).then(
        (release) => {
          this._lockName = name;
          return release;
        },
        () => () => {},
      );
    }
    if (gen !== this._linkGen) return;
    const owner = {
      onMessage: (/** @type {any} */ m) => gen === this._linkGen && this._fromHub(m),
      onReset: () => gen === this._linkGen && this._hello(),
      onDown: (/** @type {string} */ why) => gen === this._linkGen && this._relink(mode === 'worker' ? 'leader' : 'local', why),
    };
    try {
      if (mode === 'worker') this._link = workerLink(this.options.workerURL || import.meta.url, this._key, owner);
      else if (mode === 'leader') this._link = leaderLink(this._key, this._tab, owner);
      else this._link = localLink(owner);
    } catch (err) {
      if (mode === 'local') throw err;
      return this._linkUp(mode === 'worker' ? 'leader' : 'local');
    }
    // To the hub; a leader link says hello again whenever a leader arises.
    this._hello();
  }

  /**
   * _relink moves to another mode (a failed worker, the iframe).
   * @param {'local' | 'worker' | 'leader'} mode
   * @param {string} [why]
   */
  _relink(mode, why) {
    if (why) this._report('share', `${why}: using ${mode === 'leader' ? 'a leader tab' : 'a connection of its own'}`);
    if (this._link) this._link.close();
    this._link = null;
    this._linking = true;
    this._linkUp(mode).finally(() => (this._linking = false));
  }

  // _hello tells the hub this tab's channels and positions, then (again)
  // every publication not answered yet: a new hub resends them with the
  // same idempotency keys.
  _hello() {
    const link = this._link;
    if (!link) return;
    for (const c of this._channels.values()) c.live = false;
    this._failCalls(new CometError(0, 'the shared connection changed', 'lost'));
    link.post({
      t: 'hello',
      tab: this._tab,
      lock: this._lockName,
      options: { ...wireOptions(this.options), url: this.baseURL.href, transport: this._forced },
      hasGetToken: typeof this.options.getToken === 'function',
      sid: this._sid,
      channels: [...this._channels.values()]
        .filter((c) => c.name !== this._personal)
        .map((c) => ({ ch: c.name, pos: c.pos.seq == null ? null : { ...c.pos } })),
      inbox: this._handlesInbox(),
      inboxPos: this._inboxPos(),
    });
    for (const e of this._outbox.entries) this._sendQueued(e);
  }

  /**
   * @param {import('./outbox.js').OutboxEntry} e
   */
  _sendQueued(e) {
    const id = `q${++this._nextId}`;
    e.inflight = true;
    this._calls.set(id, {
      resolve: (seq) => this._outbox.settle(e, seq),
      reject: (err) => {
        if (err.kind === 'lost' && this._outbox.entries.includes(e)) e.inflight = false; // resent at the next hello
        else this._outbox.settle(e, null, err);
      },
      timer: null,
    });
    this._link && this._link.post({ t: 'req', id, msg: e.msg, queue: true });
  }

  /**
   * @param {Record<string, any>} msg
   * @returns {Promise<number>}
   */
  _queue(msg) {
    let added;
    try {
      added = this._outbox.add(msg, Date.now());
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._link) this._sendQueued(added.entry);
    return added.done;
  }

  /**
   * _call sends a request that is not queued.
   * @param {Record<string, any>} msg
   * @returns {Promise<any>}
   */
  _call(msg) {
    if (!this._link) return Promise.reject(new CometError(0, 'not connected', 'lost'));
    const id = `c${++this._nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._calls.delete(id);
        reject(new CometError(0, 'no answer in time', 'timeout'));
      }, this.options.publishTimeout + 1000);
      this._calls.set(id, { resolve, reject, timer });
      /** @type {Link} */ (this._link).post({ t: 'req', id, msg });
    });
  }

  /** @param {CometError} err */
  _failCalls(err) {
    const calls = [...this._calls.values()];
    this._calls.clear();
    for (const c of calls) {
      clearTimeout(c.timer);
      c.reject(err);
    }
  }

  /** @param {any} m */
  _post(m) {
    if (this._link) this._link.post(m);
  }

  _owner() {
    return {
      position: (/** @type {string} */ ch) => this.position(ch),
      drop: (/** @type {Subscription} */ s) => {
        const c = this._channels.get(s.channel);
        if (!c || !c.subs.delete(s)) return;
        if (c.subs.size === 0) this._drop(c);
      },
    };
  }

  /** @param {TabChannel} c */
  _drop(c) {
    if (this._channels.get(c.name) !== c) return;
    if (c.name === this._personal && this._inboxHandlers.size > 0) return; // the inbox's handlers read it
    this._channels.delete(c.name);
    this._post({ t: 'unsub', ch: c.name });
    if (this._saver) this._saver.dirty();
  }

  /** @param {InboxHandler} h */
  _dropInbox(h) {
    if (!this._inboxHandlers.delete(h) || this._inboxHandlers.size > 0) return;
    const c = this._personal ? this._channels.get(this._personal) : undefined;
    const keep = !!c && c.subs.size > 0;
    this._post({ t: 'inbox', on: false, keep });
    if (c && !keep) this._channels.delete(c.name);
  }

  // _handlesInbox reports whether this tab reads the personal channel for
  // an inbox handler or a subscription.
  _handlesInbox() {
    return this._inboxHandlers.size > 0 || (!!this._personal && this._channels.has(this._personal));
  }

  // _inboxPos is where this tab's handlers have got to on the personal
  // channel (a new leader starts it there).
  _inboxPos() {
    const c = this._personal ? this._channels.get(this._personal) : undefined;
    if (!c || !c.acks) return null;
    const seq = c.acks.watermark(c.pos.seq);
    return seq == null ? null : { epoch: c.pos.epoch, seq };
  }

  /**
   * _personalChannel is the tab's channel for the personal channel name,
   * made for the inbox's handlers when they have none.
   * @param {string} name
   */
  _personalChannel(name) {
    let c = this._channels.get(name);
    if (!c && this._inboxHandlers.size > 0) {
      c = new TabChannel(name);
      this._channels.set(name, c);
    }
    if (c && !c.acks) c.acks = new AckTracker();
    return c;
  }

  /* ---------------- what the hub says ---------------- */

  /** @param {any} m */
  _fromHub(m) {
    if (!isObj(m)) return;
    switch (m.t) {
      case 'welcome':
        this._sid = typeof m.sid === 'string' ? m.sid : '';
        if (isObj(m.snapshot)) {
          if (isObj(m.snapshot.stats)) this._connStats = { ...this._connStats, ...m.snapshot.stats };
          if (isObj(m.snapshot.identity)) this._identity = m.snapshot.identity;
          this._setState(m.snapshot.state === 'idle' ? 'connecting' : m.snapshot.state, m.snapshot.transport || null);
        }
        return;
      case 'ev':
        this._event(m.name, m.arg);
        return;
      case 'stats':
        if (isObj(m.stats)) this._connStats = { ...this._connStats, ...m.stats };
        return;
      case 'personal':
        if (typeof m.ch === 'string' && validChannel(m.ch)) {
          this._personal = m.ch;
          this._personalChannel(m.ch);
        }
        return;
      case 'start':
        this._start(m);
        return;
      case 'confirm': {
        const c = this._channels.get(m.ch);
        if (c && c.acks) this._redeliver(c);
        if (c && c.live) this.emit('subscribed', { channel: c.name, epoch: c.pos.epoch, seq: c.pos.seq, recovered: m.recovered !== false });
        return;
      }
      case 'gap':
        this._gap(m.ch, m.info);
        return;
      case 'msg':
        this._message(m.m);
        return;
      case 'res': {
        const call = this._calls.get(m.id);
        if (!call) return;
        this._calls.delete(m.id);
        clearTimeout(call.timer);
        if (m.error) call.reject(errorFromJSON(m.error));
        else call.resolve(m.value);
        return;
      }
      case 'token?':
        this._answerToken(m.id);
    }
  }

  /**
   * @param {string} name
   * @param {any} arg
   */
  _event(name, arg) {
    if (name === 'state') {
      if (this._state === 'closed') return;
      this._setState(arg.state, arg.transport || null);
      return;
    }
    if (name === 'identity') this._identity = arg;
    if (name === 'connecting' || name === 'connected') this._transport = arg && arg.transport;
    this.emit(name, arg);
  }

  /**
   * @param {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} state
   * @param {string | null} transport
   */
  _setState(state, transport) {
    const prev = this._state;
    if (prev === state && this._transport === transport) return;
    this._state = state;
    this._transport = transport;
    this.emit('state', { state, prev, transport });
  }

  /** @param {Record<string, any>} m */
  _start(m) {
    const c = this._channels.get(m.ch);
    if (!c) return;
    if (c.acks) this._redeliver(c);
    const epoch = typeof m.epoch === 'string' ? m.epoch : null;
    const seq = isSeq(m.seq) ? m.seq : null;
    const prev = { ...c.pos };
    if (m.gap) this._rebase(c, m.gap, epoch, seq);
    else if (c.pos.seq == null) c.pos = { epoch, seq };
    else if (epoch && (c.pos.epoch == null || isEmptyEpoch(c.pos.epoch))) c.pos.epoch = epoch;
    c.live = true;
    if (m.gap) this._gapEvent(c, m.gap, prev.seq);
    const info = { epoch: c.pos.epoch, seq: c.pos.seq, recovered: m.recovered !== false && !m.gap };
    for (const s of c.subs) s._resolveReady(info);
    this.emit('subscribed', { channel: c.name, ...info });
    if (this._saver) this._saver.dirty();
  }

  /**
   * _rebase moves a position where the connection restarted it.
   * @param {TabChannel} c
   * @param {Record<string, any>} gap
   * @param {string | null} epoch
   * @param {number | null} seq
   */
  _rebase(c, gap, epoch, seq) {
    if (gap.reason === 'epoch changed' || c.pos.seq == null) c.pos = { epoch, seq: seq ?? 0 };
    else {
      c.pos.epoch = epoch;
      if (seq != null && seq < /** @type {number} */ (c.pos.seq)) c.pos.seq = seq;
    }
  }

  /**
   * @param {unknown} ch
   * @param {any} info
   */
  _gap(ch, info) {
    const c = typeof ch === 'string' ? this._channels.get(ch) : undefined;
    if (!c || !isObj(info)) return;
    const prevSeq = c.pos.seq;
    this._rebase(c, info, typeof info.epoch === 'string' ? info.epoch : null, isSeq(info.seq) ? info.seq : null);
    this._gapEvent(c, info, prevSeq);
  }

  /**
   * @param {TabChannel} c
   * @param {Record<string, any>} info
   * @param {number | null} since
   */
  _gapEvent(c, info, since) {
    this._own.gaps++;
    this.emit('gap', {
      channel: c.name,
      epoch: info.epoch,
      previousEpoch: info.previousEpoch ?? null,
      since,
      reason: info.reason === 'epoch changed' ? 'epoch changed' : 'history gap',
    });
  }

  /** @param {any} m */
  _message(m) {
    if (!isObj(m) || typeof m.channel !== 'string' || !isSeq(m.seq)) return;
    const c = this._channels.get(m.channel);
    if (!c || !c.live) return;
    const verdict = accept(c.pos, m.seq);
    if (verdict === 'duplicate') {
      this._own.duplicates++;
      if (c.acks) {
        // The hub holds it back until this tab says it has seen it.
        c.reported = null;
        this._acked(c);
      }
      return;
    }
    if (verdict === 'new') {
      this._own.delivered++;
      if (this._saver && !c.acks) this._saver.dirty();
    }
    /** @type {Message} */
    const msg = { channel: m.channel, seq: m.seq, epoch: c.pos.epoch, ts: m.ts, data: m.data };
    if (typeof m.from === 'string') msg.from = m.from;
    if (typeof m.conv === 'string') msg.conv = m.conv;
    if (!c.acks) {
      for (const s of [...c.subs]) {
        if (!s.active) continue;
        try {
          s.handler(msg);
        } catch (err) {
          this.listenerFailed('message', err);
        }
      }
      return;
    }
    this._personalMessage(c, /** @type {AckTracker} */ (c.acks), msg, verdict === 'new');
  }

  /**
   * _personalMessage hands a delivery of the personal channel to its
   * handlers: a stored one is acknowledged once they all finished; an
   * ephemeral one (seq 0) is a read event or a seen receipt.
   * @param {TabChannel} c
   * @param {AckTracker} acks
   * @param {Message} msg
   * @param {boolean} stored
   */
  _personalMessage(c, acks, msg, stored) {
    if (!stored) this._inboxEvent(msg);
    const w = stored ? acks.start(msg.seq) : null;
    /** @param {(m: Message) => any} fn */
    const run = (fn) => {
      let r;
      try {
        r = fn(msg);
      } catch (err) {
        if (w) w.failed = true;
        this.listenerFailed('message', err);
        return;
      }
      if (!w || !r || typeof r.then !== 'function') return;
      w.left++;
      r.then(
        () => {
          if (w.dead) return;
          w.left--;
          this._acked(c);
        },
        (/** @type {unknown} */ err) => {
          w.failed = true;
          this.listenerFailed('message', err);
        },
      );
    };
    for (const s of [...c.subs]) if (s.active) run(s.handler);
    if (stored) for (const h of [...this._inboxHandlers]) if (h.active) run(h.handler);
    if (w) this._acked(c);
  }

  /**
   * _inboxEvent emits a read event ({conv, seq, unread}: another device
   * of the user read conv) or a seen receipt ({conv, by, ts}: the DM's
   * other participant read up to the entry of time ts).
   * @param {Message} msg
   */
  _inboxEvent(msg) {
    const d = msg.data;
    if (!isObj(d) || typeof msg.conv !== 'string') return;
    if (isObj(d.read) && isSeq(d.read.seq)) {
      this.emit('read', { conv: msg.conv, seq: d.read.seq, unread: isSeq(d.read.unread) ? d.read.unread : 0 });
    } else if (isObj(d.seen) && typeof d.seen.by === 'string' && typeof d.seen.ts === 'number') {
      this.emit('seen', { conv: msg.conv, by: d.seen.by.slice(0, 128), ts: d.seen.ts });
    }
  }

  /**
   * _acked tells the hub, once per task, how far this tab's handlers got
   * on the personal channel.
   * @param {TabChannel} c
   */
  _acked(c) {
    if (c.acks) c.acks.settle();
    if (this._ackQueued) return;
    this._ackQueued = true;
    queueMicrotask(() => {
      this._ackQueued = false;
      if (this._channels.get(c.name) !== c || !c.acks) return;
      const r = { seq: c.acks.busy ? c.acks.watermark(c.pos.seq) : null, upto: c.pos.seq };
      if (c.reported && c.reported.seq === r.seq && c.reported.upto === r.upto) return;
      c.reported = r;
      this._post({ t: 'ack', seq: r.seq, upto: r.upto });
    });
  }

  /**
   * _redeliver moves the personal channel back to what its handlers
   * finished: the connection starts again from there, and what they had
   * not finished is delivered again.
   * @param {TabChannel} c
   */
  _redeliver(c) {
    const acks = /** @type {AckTracker} */ (c.acks);
    c.pos.seq = acks.watermark(c.pos.seq);
    acks.reset();
    c.reported = null;
    this._acked(c);
  }

  /** @param {string} id */
  async _answerToken(id) {
    const get = this.options.getToken;
    try {
      if (!get) throw new Error('no getToken');
      const answer = await get();
      this._post({ t: 'token', id, answer: typeof answer === 'string' ? answer : { token: answer.token, exp: answer.exp } });
    } catch (err) {
      this._post({ t: 'token', id, error: String(err && /** @type {any} */ (err).message ? /** @type {any} */ (err).message : err) });
    }
  }

  /**
   * @param {string} type
   * @param {string} message
   */
  _report(type, message) {
    this._own.errors++;
    if (!this.emit('error', { type, message })) console.warn('comet:', type, message); // eslint-disable-line no-console
  }

  /* ---------------- persisted positions ---------------- */

  /** @param {TabChannel} c */
  _restore(c) {
    if (!this._store || c.fromNow || c.pos.seq != null || c.name === this._personal) return;
    if (!this._saved) {
      const r = this._store.load();
      if (r && typeof (/** @type {any} */ (r).then) === 'function') return; // async: applied in _linkUp
      this._saved = /** @type {any} */ (r) || {};
    }
    const p = /** @type {Record<string, any>} */ (this._saved)[c.name];
    if (p) c.pos = { epoch: p.epoch, seq: p.seq };
  }

  _snapshot() {
    /** @type {Record<string, {epoch: string | null, seq: number}>} */
    const out = { ...(this._saved || {}) };
    // The personal channel's position is the device's, kept by the server.
    for (const c of this._channels.values()) if (c.pos.seq != null && !c.acks) out[c.name] = { epoch: c.pos.epoch, seq: c.pos.seq };
    this._saved = out;
    return out;
  }
}

/**
 * checkSend checks what publish and dm send: data (any JSON value but
 * null) and options.idem; it returns the error, or null.
 * @param {any} data
 * @param {{idem?: string}} options
 * @returns {CometError | null}
 */
function checkSend(data, options) {
  if (data === undefined || data === null) return new CometError(400, 'data must not be null', 'invalid');
  try {
    JSON.stringify(data);
  } catch (err) {
    return new CometError(400, `data is not JSON: ${err}`, 'invalid');
  }
  const idem = options.idem;
  if (idem !== undefined && (typeof idem !== 'string' || idem === '' || idem.length > 64)) {
    return new CometError(400, 'idem must be 1 to 64 characters', 'invalid');
  }
  return null;
}

/**
 * createClient is new Comet(options).
 * @param {CometOptions} [options]
 */
export function createClient(options) {
  return new Comet(options);
}

