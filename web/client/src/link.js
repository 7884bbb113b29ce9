// @ts-check
// The state one link to a Comet node shares between its parts: the
// channels and their positions, the transport in use, the token, the send
// queue, counters. connection.js drives it, sender.js sends through it,
// receiver.js decodes into it.

import { Emitter } from './emitter.js';
import { Backoff } from './backoff.js';
import { Outbox } from './outbox.js';
import { positionParam } from './protocol.js';
import { transportName } from './transports/index.js';

/** @typedef {import('./transports/base.js').Transport} Transport */
/** @typedef {import('./options.js').ResolvedOptions} ResolvedOptions */
/** @typedef {import('./outbox.js').OutboxEntry} OutboxEntry */
/** @typedef {import('./errors.js').CometError} CometError */

/**
 * A delivery as the application sees it. `seq` 0 marks an ephemeral
 * message (typing, join, leave; on a personal channel read events and
 * seen receipts), which is never stored nor replayed. `conv` is the
 * conversation of a personal channel's delivery (a DM, a group, system).
 * @typedef {{channel: string, seq: number, epoch: string | null, ts: number | undefined, data: any, from?: string, conv?: string}} Message
 */

/**
 * Channel is the connection's state for one channel: its position and
 * where its subscription stands on the current transport.
 */
export class Channel {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {string | null} */
    this.epoch = null;
    /** @type {number | null} the last seq delivered (null: from now) */
    this.seq = null;
    /** Confirmed on the current connection. */
    this.live = false;
    /** @type {string | null} WebSocket: the id of the pending sub */
    this.subId = null;
  }
}

let links = 0;

/** LinkBase holds the state of a link and the helpers every part uses. */
export class LinkBase extends Emitter {
  /** @param {ResolvedOptions} options */
  constructor(options) {
    super();
    this.options = options;
    const base = options.url ?? new URL('.', import.meta.url).href;
    this.baseURL = new URL(base, globalThis.location ? globalThis.location.href : undefined);
    if (!/\/$/.test(this.baseURL.pathname)) this.baseURL.pathname += '/';
    /** @type {string[]} */
    this.order = [];
    for (const t of options.transports) {
      const n = transportName(t);
      if (!this.order.includes(n)) this.order.push(n);
    }
    /** @type {string | null} */
    this.forced = options.transport ? transportName(options.transport) : null;
    this.id = ++links;
    /** @type {Map<string, Channel>} */
    this.channels = new Map();
    /** @type {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} */
    this.state = 'idle';
    /** @type {Transport | null} */
    this.current = null;
    /** @type {string | null} the transport that last connected */
    this.good = null;
    this.backoff = new Backoff(options);
    /** @type {string[]} */
    this.round = [];
    this.roundIndex = 0;
    /** Bumped by close and restarts to invalidate async continuations. */
    this.gen = 0;
    /** @type {Record<string, ReturnType<typeof setTimeout> | null>} */
    this.timers = { connect: null, retry: null, stable: null, flush: null, refresh: null, ack: null };
    /** @type {Map<string, {resolve: (m: any) => void, reject: (e: CometError) => void, timer: any, entry?: OutboxEntry}>} */
    this.pending = new Map();
    this.nextId = 0;
    this.outbox = new Outbox(Math.max(1, options.maxQueued) * 16);
    this.httpSending = false;
    /** The session id of the HTTP transports: one presence entry across polls. */
    this.sid = '';
    /** @type {string | null} */
    this.token = options.token || null;
    this.tokenExp = 0;
    this.tokenStale = false;
    /** @type {string | null} the user's personal channel, once known */
    this.personal = null;
    /**
     * The inbox: whether a tab handles the personal channel (on); while a
     * tab's handlers hold deliveries of it, the last seq before them
     * (held; null when none is held: everything delivered is finished);
     * the highest seq acknowledged on this connection (sent); whether the
     * node serves acks ('unknown' until the first answer); an HTTP ack in
     * flight; who waits for the handlers (a long-poll).
     */
    this.inbox = {
      on: false,
      /** @type {number | null} */
      held: null,
      sent: 0,
      /** @type {'unknown' | 'yes' | 'no'} */
      served: /** @type {'unknown' | 'yes' | 'no'} */ ('unknown'),
      posting: false,
      /** @type {(() => void)[]} */
      waiters: [],
    };
    /** @type {Record<string, any> | null} */
    this.identity = null;
    this.stats = { delivered: 0, duplicates: 0, connects: 0, reconnects: 0, errors: 0, gaps: 0 };
    this.statsDirty = false;
  }

  /** The name of the transport in use (or being tried), or null. */
  get transport() {
    return this.current ? this.current.name : null;
  }

  /** @param {...any} args */
  log(...args) {
    if (this.options.debug) console.debug('[comet]', ...args); // eslint-disable-line no-console
  }

  /**
   * @param {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} state
   * @param {string | null} [transport]
   */
  setState(state, transport = this.transport) {
    const prev = this.state;
    if (prev === state && this.stateTransport === transport) return;
    this.state = state;
    this.stateTransport = transport;
    this.log('state', prev, '->', state, transport || '');
    this.emit('state', { state, prev, transport });
  }

  /**
   * report emits an error event (never throws).
   * @param {string} type
   * @param {string} message
   * @param {Record<string, any>} [extra]
   */
  report(type, message, extra) {
    this.stats.errors++;
    this.statsChanged();
    const ev = { type, message, ...extra };
    this.log('error', ev);
    if (!this.emit('error', ev)) console.warn('comet:', type, message); // eslint-disable-line no-console
  }

  statsChanged() {
    if (this.statsDirty) return;
    this.statsDirty = true;
    queueMicrotask(() => {
      this.statsDirty = false;
      this.emit('stats', { ...this.stats });
    });
  }

  /* ---------------- channels ---------------- */
  /* ---------------- channels ---------------- */

  /**
   * addChannel starts reading a channel from pos (null: from now), or
   * returns the channel already read.
   * @param {string} name
   * @param {{epoch: string | null, seq: number | null} | null} pos
   */
  addChannel(name, pos) {
    let c = this.channels.get(name);
    if (c) return c;
    c = new Channel(name);
    if (pos && pos.seq != null) {
      c.seq = pos.seq;
      c.epoch = pos.epoch || null;
    }
    this.channels.set(name, c);
    const t = this.current;
    if (t && !t.dead && (t.opened || t.name !== 'websocket') && name !== this.personal) t.channelsChanged([c], []);
    return c;
  }

  /**
   * removeChannel stops reading a channel (the personal channel is kept:
   * the server joined it, and the inbox arrives there).
   * @param {string} name
   */
  removeChannel(name) {
    const c = this.channels.get(name);
    if (!c || name === this.personal) return;
    this.channels.delete(name);
    const t = this.current;
    if (t && !t.dead && (t.opened || t.name !== 'websocket')) t.channelsChanged([], [c]);
  }

  /** channelCount is the number of channels read. */
  channelCount() {
    return this.channels.size;
  }

  /**
   * reads reports whether an HTTP transport has anything to read: a
   * channel, or the inbox (the server adds the personal channel to every
   * request, named or not).
   */
  reads() {
    return this.channels.size > 0 || this.inbox.on;
  }

  /**
   * positionOf is where a channel is named from in a request: its last
   * delivery, except for the personal channel of an inbox while the
   * handlers hold deliveries of it: then before them (a position named is
   * an acknowledgement there, and what is not finished must come again).
   * @param {Channel} c
   * @returns {{epoch: string | null, seq: number | null}}
   */
  positionOf(c) {
    const held = this.inbox.held;
    if (c.name === this.personal && this.inbox.on && held != null && c.seq != null && held < c.seq) return { epoch: c.epoch, seq: held };
    return c;
  }

  /** ackPosition is the personal channel's seq that may be acknowledged, or null. */
  ackPosition() {
    const c = this.personal ? this.channels.get(this.personal) : undefined;
    return c ? this.positionOf(c).seq : null;
  }

  /** channelList lists the channels read. */
  channelList() {
    return [...this.channels.values()];
  }

  /**
   * httpParams builds the query of an HTTP transport: one ch per channel,
   * as a position when there is one.
   */
  httpParams() {
    const q = new URLSearchParams();
    for (const c of this.channels.values()) {
      const p = this.positionOf(c);
      q.append('ch', positionParam(c.name, p.epoch, p.seq));
    }
    if (this.sid) q.set('sid', this.sid);
    return q;
  }

  /**
   * wsConnectParams names, in the upgrade URL, the channels the server
   * joins at connect: the personal channel at its position, so that what
   * reached the user's inbox while away is replayed.
   */
  wsConnectParams() {
    const q = new URLSearchParams();
    const c = this.personal && this.channels.get(this.personal);
    const p = c && this.positionOf(c);
    if (c && p && p.seq != null) q.append('ch', positionParam(c.name, p.epoch, p.seq));
    return q;
  }

  /**
   * endpoint is the URL of a server path with q, the token and the device
   * id (which the token's client claim overrides on the server).
   * @param {string} path
   * @param {URLSearchParams} q
   */
  endpoint(path, q) {
    const u = new URL(path, this.baseURL);
    if (this.token) q.set('token', this.token);
    if (this.options.device) q.set('device', this.options.device);
    u.search = q.toString();
    return u;
  }
}
