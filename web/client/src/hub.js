// @ts-check
// The hub: one connection serving many tabs. It runs in a SharedWorker, in
// the leader tab, or in the tab itself (share: false). Every tab has its
// own subscriptions and positions; the connection reads the union of
// their channels, and the hub hands each tab what it has not seen: a tab
// that comes back behind the connection (a reload, a tab opened later with
// a saved position) is first served the missed messages from history.
//
// The personal channel is read for the tabs that handle the inbox, and
// acknowledged up to where every such tab's handlers finished.
//
// The messages between tabs and hub (plain data, so they cross a
// MessagePort or a BroadcastChannel):
//   tab -> hub  hello {tab, lock, options, hasGetToken, sid, channels: [{ch, pos}], inbox, inboxPos}
//               sub {ch, pos} | unsub {ch} | req {id, msg} | ctl {what, arg}
//               inbox {on, pos, keep} | ack {seq, upto}
//               token {id, answer | error} | bye
//   hub -> tab  welcome {sid, snapshot} | ev {name, arg} | stats {stats}
//               personal {ch} | start {ch, epoch, seq, recovered, gap} | msg {m} | gap {ch, info}
//               confirm {ch, epoch, seq, recovered} | res {id, value | error}
//               token? {id}

import { Connection } from './connection.js';
import { DEFAULTS } from './options.js';
import { before } from './positions.js';
import { errorToJSON, CometError } from './errors.js';
import { TabAcks, ackLimit } from './inbox.js';
import { randomKey } from './protocol.js';

/** @typedef {import('./link.js').Message} Message */
/** @typedef {{epoch: string | null, seq: number | null}} Pos */

/**
 * A tab's channel in the hub: where the tab stands, whether it is served
 * live, what is held for it while its history is read (overflow: some was
 * dropped, to be read from history), and, for the personal channel, how
 * far its handlers got.
 * @typedef {{pos: Pos | null, attached: boolean, held: Message[] | null, overflow?: boolean, acks?: TabAcks}} HubChannel
 */

/**
 * HubTab is the hub's record of one tab: inbox says it handles the
 * personal channel (inboxPos: from where, after a new leader).
 * @typedef {{
 *   id: string,
 *   post: (m: any) => void,
 *   hasGetToken: boolean,
 *   channels: Map<string, HubChannel>,
 *   gone: boolean,
 *   inbox: boolean,
 *   inboxPos: Pos | null,
 * }} HubTab
 */

/** The events of the connection every tab hears. */
const FORWARDED = ['state', 'connecting', 'connected', 'disconnected', 'fallback', 'error', 'identity'];

/** The most live messages held for one tab while its history is read. */
const MAX_HELD = 10000;

/** Hub multiplexes tabs over one Connection. */
export class Hub {
  /**
   * @param {{onEmpty?: () => void}} [o] onEmpty: the last tab left (the
   *   connection is closed then)
   */
  constructor(o = {}) {
    this.onEmpty = o.onEmpty || (() => {});
    /** @type {Map<string, HubTab>} */
    this.tabs = new Map();
    /** @type {Connection | null} */
    this.conn = null;
    this.sid = '';
    /** @type {Map<string, any>} the gap a channel not yet confirmed reported */
    this.pendingGaps = new Map();
    /** @type {Map<string, {resolve: (a: any) => void, reject: (e: Error) => void, timer: any}>} */
    this.tokenAsks = new Map();
    this.nextAsk = 0;
  }

  /**
   * attach adds a tab reachable through post and returns the function that
   * takes the tab's messages.
   * @param {(m: any) => void} post
   * @returns {(m: any) => void}
   */
  attach(post) {
    /** @type {HubTab | null} */
    let tab = null;
    return (m) => {
      if (!m || typeof m !== 'object' || typeof m.t !== 'string') return;
      if (m.t === 'hello') tab = this.hello(post, m);
      else if (tab && !tab.gone) this.handle(tab, m);
    };
  }

  /**
   * hello registers a tab, starting the connection with the first tab's
   * options.
   * @param {(m: any) => void} post
   * @param {Record<string, any>} m
   * @returns {HubTab}
   */
  hello(post, m) {
    // A tab says hello again after a new leader or a lost hello: its new
    // record replaces the old one without dropping its channels meanwhile.
    const old = this.tabs.get(m.tab);
    if (old) old.gone = true;
    /** @type {HubTab} */
    const tab = {
      id: String(m.tab), post, hasGetToken: !!m.hasGetToken, channels: new Map(), gone: false,
      inbox: m.inbox === true, inboxPos: m.inbox === true ? position(m.inboxPos) : null,
    };
    this.tabs.set(tab.id, tab);
    const conn = this.conn || this.start(m);
    this.watchTab(tab, m.lock);
    tab.post({
      t: 'welcome',
      sid: this.sid,
      snapshot: { state: conn.state, transport: conn.transport, identity: conn.identity, stats: { ...conn.stats } },
    });
    for (const c of Array.isArray(m.channels) ? m.channels.slice(0, 1000) : []) this.subscribe(tab, c.ch, c.pos);
    if (old) for (const ch of old.channels.keys()) if (!this.wanted(ch)) conn.removeChannel(ch);
    if (conn.personal) {
      tab.post({ t: 'personal', ch: conn.personal });
      if (tab.inbox) this.subscribe(tab, conn.personal, tab.inboxPos);
    }
    this.updateInbox();
    conn.connect();
    return tab;
  }

  /**
   * start makes the connection from the first tab's options.
   * @param {Record<string, any>} m
   */
  start(m) {
    const options = { ...DEFAULTS, ...(m.options || {}) };
    options.getToken = m.hasGetToken || (m.options && m.options.getToken) ? () => this.askToken() : null;
    const conn = new Connection(/** @type {any} */ (options));
    this.conn = conn;
    // A new leader keeps the session id of the one before: the server's
    // presence sees one long-poller all along.
    this.sid = typeof m.sid === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(m.sid) ? m.sid : randomKey(12).replace(/[^A-Za-z0-9_-]/g, '');
    conn.sid = this.sid;
    for (const name of FORWARDED) conn.on(name, (arg) => this.broadcast({ t: 'ev', name, arg: plain(arg) }));
    conn.on('stats', (stats) => this.broadcast({ t: 'stats', stats }));
    conn.on('message', (msg) => this.message(msg));
    conn.on('gap', (info) => this.gap(info));
    conn.on('subscribed', (info) => this.subscribed(info));
    conn.on('personal', (name) => this.personal(name));
    return conn;
  }

  /**
   * watchTab detaches a tab when its lock is released (the tab closed or
   * crashed): the lock is granted to the hub only then.
   * @param {HubTab} tab
   * @param {unknown} lock
   */
  watchTab(tab, lock) {
    const locks = globalThis.navigator && /** @type {any} */ (globalThis.navigator).locks;
    if (!locks || typeof lock !== 'string' || !lock.startsWith('comet:')) return;
    locks.request(lock, () => {
      if (this.tabs.get(tab.id) === tab) this.detach(tab);
    }).catch(() => {});
  }

  /**
   * handle takes one message of a tab.
   * @param {HubTab} tab
   * @param {Record<string, any>} m
   */
  handle(tab, m) {
    const conn = this.conn;
    if (!conn) return;
    switch (m.t) {
      case 'sub':
        this.subscribe(tab, m.ch, m.pos);
        return;
      case 'unsub':
        tab.channels.delete(m.ch);
        if (!this.wanted(m.ch)) conn.removeChannel(m.ch);
        this.updateInbox();
        return;
      case 'inbox':
        tab.inbox = m.on === true;
        tab.inboxPos = tab.inbox ? position(m.pos) : null;
        if (conn.personal) {
          if (tab.inbox && !tab.channels.has(conn.personal)) this.subscribe(tab, conn.personal, tab.inboxPos);
          if (!tab.inbox && m.keep !== true) tab.channels.delete(conn.personal);
        }
        this.updateInbox();
        return;
      case 'ack': {
        const ts = conn.personal ? tab.channels.get(conn.personal) : undefined;
        if (!ts || !ts.acks) return;
        ts.acks.report(seqOrNull(m.seq), seqOrNull(m.upto));
        this.updateInbox();
        return;
      }
      case 'req':
        this.request(tab, m.id, m.msg, m.queue === true);
        return;
      case 'ctl':
        if (m.what === 'retry') conn.retryNow();
        else if (m.what === 'transport') {
          try {
            conn.setTransport(m.arg);
          } catch (err) {
            tab.post({ t: 'ev', name: 'error', arg: { type: 'unsupported', message: String(err) } });
          }
        }
        return;
      case 'token': {
        const ask = this.tokenAsks.get(m.id);
        if (!ask) return;
        this.tokenAsks.delete(m.id);
        clearTimeout(ask.timer);
        if (m.error) ask.reject(new Error(String(m.error)));
        else ask.resolve(m.answer);
        return;
      }
      case 'bye':
        this.detach(tab);
    }
  }

  /**
   * request runs a tab's request and posts the answer.
   * @param {HubTab} tab
   * @param {string} id
   * @param {Record<string, any>} msg
   * @param {boolean} queue a publication (kept and resent until answered)
   */
  request(tab, id, msg, queue) {
    const conn = /** @type {Connection} */ (this.conn);
    /** @type {Promise<any>} */
    let p;
    if (!msg || typeof msg !== 'object') p = Promise.reject(new CometError(400, 'bad request', 'invalid'));
    else if (queue) p = conn.enqueue(msg).then((r) => r.seq);
    else if (msg.op === 'presence') p = conn.presence(msg.ch);
    else p = conn.request(msg);
    p.then(
      (value) => !tab.gone && tab.post({ t: 'res', id, value }),
      (err) => !tab.gone && tab.post({ t: 'res', id, error: errorToJSON(err) }),
    );
  }

  /**
   * subscribe adds a tab's channel at the tab's position.
   * @param {HubTab} tab
   * @param {unknown} ch
   * @param {Pos | null} pos
   */
  subscribe(tab, ch, pos) {
    const conn = /** @type {Connection} */ (this.conn);
    if (typeof ch !== 'string' || !/^[A-Za-z0-9_:.@/=+#-]{1,128}$/.test(ch)) return;
    const p = pos && Number.isSafeInteger(pos.seq) ? { epoch: typeof pos.epoch === 'string' ? pos.epoch : null, seq: pos.seq } : null;
    const ts = { pos: p, attached: false, held: null };
    tab.channels.set(ch, ts);
    const c = conn.channels.get(ch);
    if (!c) {
      conn.addChannel(ch, p);
      return; // attached when the connection confirms it
    }
    if (c.live) this.attachTab(tab, ch, true, null);
  }

  /**
   * personal: the connection learned its personal channel. Every tab is
   * told; those that handle the inbox read it.
   * @param {string} name
   */
  personal(name) {
    for (const tab of this.tabs.values()) {
      tab.post({ t: 'personal', ch: name });
      if (tab.inbox && !tab.channels.has(name)) this.subscribe(tab, name, tab.inboxPos);
    }
    this.updateInbox();
  }

  /**
   * updateInbox tells the connection whether a tab handles the inbox and,
   * while tabs hold deliveries of it, the last seq before the oldest one
   * held: what may be acknowledged.
   */
  updateInbox() {
    const conn = this.conn;
    if (!conn) return;
    let on = false;
    /** @type {TabAcks[]} */
    const acks = [];
    for (const tab of this.tabs.values()) {
      const ts = conn.personal ? tab.channels.get(conn.personal) : undefined;
      if (tab.inbox || ts) on = true;
      if (ts && ts.acks) acks.push(ts.acks);
    }
    // No tab runs handlers (the last inbox tab left, or one is still
    // reading history): nothing more is acknowledged than now, even while
    // another tab keeps the connection open.
    const held = acks.length > 0 ? ackLimit(acks) : conn.inbox.on ? conn.ackPosition() : null;
    conn.setInbox(on || held != null, held);
  }

  /**
   * send posts a delivery to a tab, noting, on the personal channel, that
   * the tab has it in hand.
   * @param {HubTab} tab
   * @param {HubChannel} ts
   * @param {Message} m
   */
  send(tab, ts, m) {
    tab.post({ t: 'msg', m });
    if (ts.acks && m.seq > 0) {
      ts.acks.sent(m.seq);
      this.updateInbox(); // held from now: a request named before the tab reports must not acknowledge it
    }
  }

  /**
   * wanted reports whether any tab reads ch.
   * @param {string} ch
   */
  wanted(ch) {
    for (const t of this.tabs.values()) if (t.channels.has(ch)) return true;
    return false;
  }

  /**
   * subscribed: the connection confirmed a channel (again).
   * @param {{channel: string, epoch: string | null, seq: number | null, recovered: boolean}} info
   */
  subscribed(info) {
    const gap = this.pendingGaps.get(info.channel) || null;
    this.pendingGaps.delete(info.channel);
    for (const tab of this.tabs.values()) {
      const ts = tab.channels.get(info.channel);
      if (!ts) continue;
      if (!ts.attached && !ts.held) this.attachTab(tab, info.channel, info.recovered, gap);
      else if (ts.attached) tab.post({ t: 'confirm', ch: info.channel, epoch: info.epoch, seq: info.seq, recovered: info.recovered });
    }
  }

  /**
   * attachTab starts a tab's channel where the connection stands: at
   * once when the tab is not behind, after its history otherwise.
   * @param {HubTab} tab
   * @param {string} ch
   * @param {boolean} recovered
   * @param {any} gap
   */
  attachTab(tab, ch, recovered, gap) {
    const c = /** @type {Connection} */ (this.conn).channels.get(ch);
    const ts = tab.channels.get(ch);
    if (!c || !ts) return;
    const here = { epoch: c.epoch, seq: c.seq };
    const conn = /** @type {Connection} */ (this.conn);
    const personal = ch === conn.personal;
    let pos = ts.pos;
    if (personal && !pos) {
      // What other tabs' handlers still hold is not acknowledged: a tab
      // that comes now gets it too (from the log), not only what follows.
      const held = conn.positionOf(c);
      if (held.seq != null && here.seq != null && held.seq < here.seq) pos = { epoch: held.epoch, seq: held.seq };
    }
    if (!pos || !before(pos, here)) {
      ts.attached = true;
      if (personal) ts.acks = new TabAcks();
      tab.post({ t: 'start', ch, epoch: here.epoch, seq: here.seq, recovered, gap });
      if (personal) this.updateInbox();
      return;
    }
    ts.held = [];
    if (personal) {
      // Held from where its history starts until the tab has run it.
      ts.acks = new TabAcks();
      ts.acks.done = pos.seq;
      this.updateInbox();
    }
    this.catchUp(tab, ch, ts, /** @type {{epoch: string | null, seq: number}} */ (pos)).then(() => {
      if (tab.gone || tab.channels.get(ch) !== ts) return;
      const held = ts.held || [];
      ts.held = null;
      ts.attached = true;
      for (const m of held) this.send(tab, ts, m);
      if (personal) this.updateInbox();
    });
  }

  /**
   * catchUp reads a tab's channel from history from pos until it reaches
   * where the connection stands, a page of backfill at a time, and sends
   * it. While it reads, live messages are held for the tab (ts.held); when
   * they pass MAX_HELD the hold is dropped and the next page reads them
   * from history instead: nothing is lost however far behind the tab is.
   * @param {HubTab} tab
   * @param {string} ch
   * @param {HubChannel} ts
   * @param {{epoch: string | null, seq: number}} pos
   */
  async catchUp(tab, ch, ts, pos) {
    const conn = /** @type {Connection} */ (this.conn);
    let from = pos;
    for (let first = true; ; first = false) {
      const c = conn.channels.get(ch);
      const here = { epoch: c ? c.epoch : null, seq: c ? c.seq : null };
      ts.overflow = false;
      const r = await this.backfill(tab, ch, from, here);
      if (tab.gone || tab.channels.get(ch) !== ts) return;
      if (first) tab.post({ t: 'start', ch, epoch: r.epoch, seq: r.seq, recovered: !r.gap, gap: r.gap });
      else if (r.gap) tab.post({ t: 'gap', ch, info: plain({ channel: ch, ...r.gap }) });
      for (const m of r.msgs) this.send(tab, ts, m);
      // Done when the page reached where the connection stood and nothing
      // held was dropped meanwhile.
      if (!ts.overflow && !r.short) return;
      // On from the last message sent, or, when history had nothing more,
      // from where the connection stood (what overflowed came after it).
      const last = r.msgs.length > 0 ? r.msgs[r.msgs.length - 1] : null;
      const next = last ? { epoch: last.epoch, seq: last.seq } : here;
      if (next.seq == null) return;
      ts.held = [];
      from = { epoch: next.epoch, seq: next.seq };
    }
  }

  /**
   * backfill reads from history what a tab at pos missed up to here.
   * @param {HubTab} tab
   * @param {string} ch
   * @param {{epoch: string | null, seq: number}} pos
   * @param {Pos} here
   * @returns {Promise<{epoch: string | null, seq: number | null, gap: any, msgs: Message[], short: boolean}>}
   */
  async backfill(tab, ch, pos, here) {
    const conn = /** @type {Connection} */ (this.conn);
    /** @type {Message[]} */
    const msgs = [];
    let at = { epoch: pos.epoch, seq: pos.seq };
    let gap = null;
    let start = { epoch: pos.epoch, seq: pos.seq };
    try {
      let short = false;
      for (let round = 0; !tab.gone; round++) {
        if (msgs.length >= MAX_HELD) {
          short = true; // a page at a time: catchUp reads on from the last one sent
          break;
        }
        const r = await conn.fetchHistory(ch, at);
        const changed = at.epoch && !at.epoch.startsWith('.') && r.epoch !== at.epoch;
        if (round === 0 && (r.gapped || changed)) {
          gap = { epoch: r.epoch, previousEpoch: pos.epoch, since: pos.seq, reason: changed ? 'epoch changed' : 'history gap' };
          if (changed) start = { epoch: r.epoch, seq: 0 };
        }
        for (const m of r.msgs) msgs.push({ channel: ch, seq: m.seq, epoch: r.epoch, ts: m.ts, data: m.data, from: m.from, conv: m.conv });
        at = { epoch: r.epoch, seq: r.seq };
        if (r.msgs.length === 0 || here.seq == null || r.seq >= here.seq || r.epoch !== here.epoch) break;
      }
      if (start.epoch == null) start.epoch = at.epoch;
      return { epoch: start.epoch, seq: start.seq, gap, msgs, short };
    } catch (err) {
      // History cannot be read: start where the connection is, and say so.
      gap = { epoch: here.epoch, previousEpoch: pos.epoch, since: pos.seq, reason: 'history gap' };
      return { epoch: here.epoch, seq: here.seq, gap, msgs: [], short: false };
    }
  }

  /**
   * message hands a delivery to the tabs that read its channel.
   * @param {Message} m
   */
  message(m) {
    for (const tab of this.tabs.values()) {
      const ts = tab.channels.get(m.channel);
      if (!ts) continue;
      if (ts.held) {
        if (m.seq === 0) continue;
        if (ts.held.length < MAX_HELD) ts.held.push(m);
        else ts.overflow = true; // catchUp reads it from history
      } else if (ts.attached) {
        this.send(tab, ts, m);
      }
    }
  }

  /**
   * gap tells the tabs of a channel its position restarted.
   * @param {Record<string, any>} info
   */
  gap(info) {
    let told = false;
    for (const tab of this.tabs.values()) {
      const ts = tab.channels.get(info.channel);
      if (!ts || !ts.attached) continue;
      tab.post({ t: 'gap', ch: info.channel, info: plain(info) });
      told = true;
    }
    if (!told) this.pendingGaps.set(info.channel, plain(info));
  }

  /** askToken gets a token from a tab that has getToken (the newest first). */
  askToken() {
    const tabs = [...this.tabs.values()].filter((t) => t.hasGetToken && !t.gone).reverse();
    if (tabs.length === 0) return Promise.reject(new Error('no tab can get a token'));
    const id = `k${++this.nextAsk}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.tokenAsks.delete(id);
        reject(new Error('no tab answered the token request'));
      }, 10000);
      this.tokenAsks.set(id, { resolve, reject, timer });
      tabs[0].post({ t: 'token?', id });
    });
  }

  /** close ends the connection, whatever tabs remain (a leader tab leaving). */
  close() {
    for (const tab of this.tabs.values()) tab.gone = true;
    this.tabs.clear();
    if (this.conn) this.conn.close();
    this.conn = null;
  }

  /** @param {any} m */
  broadcast(m) {
    for (const tab of this.tabs.values()) tab.post(m);
  }

  /**
   * detach forgets a tab; channels no tab reads are dropped, and the
   * connection closes with the last tab.
   * @param {HubTab} tab
   */
  detach(tab) {
    if (tab.gone) return;
    tab.gone = true;
    if (this.tabs.get(tab.id) === tab) this.tabs.delete(tab.id);
    const conn = this.conn;
    if (!conn) return;
    for (const ch of tab.channels.keys()) if (!this.wanted(ch)) conn.removeChannel(ch);
    this.updateInbox();
    if (this.tabs.size === 0) {
      conn.close();
      this.conn = null;
      this.onEmpty();
    }
  }
}

/**
 * position checks a position a tab sent.
 * @param {any} p
 * @returns {Pos | null}
 */
function position(p) {
  return p && Number.isSafeInteger(p.seq) && p.seq >= 0 ? { epoch: typeof p.epoch === 'string' ? p.epoch : null, seq: p.seq } : null;
}

/**
 * seqOrNull is x when it is a seq, else null.
 * @param {unknown} x
 * @returns {number | null}
 */
function seqOrNull(x) {
  return Number.isSafeInteger(x) && /** @type {number} */ (x) >= 0 ? /** @type {number} */ (x) : null;
}

/**
 * plain copies an event argument as plain data (no Error objects), so it
 * crosses a port.
 * @param {any} arg
 */
function plain(arg) {
  if (!arg || typeof arg !== 'object') return arg;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(arg)) {
    if (v instanceof Error) out[k] = String(v);
    else if (typeof v !== 'function') out[k] = v;
  }
  return out;
}
