/*! comet.js 0.3.0: built from web/client/src by web/client/build.mjs; do not edit. */
// @ts-check
// ---- src/emitter.js ----
// Events: the one way the client tells the application what happens.

/**
 * Emitter is a small event emitter whose listeners cannot break it: an
 * exception in a listener is reported as an `error` event of type
 * `listener` (or to `reportError` when nobody listens), and the other
 * listeners still run.
 */
class Emitter {
  constructor() {
    /** @type {Map<string, Set<(arg: any) => void>>} */
    this._listeners = new Map();
  }

  /**
   * on registers fn for event and returns a function that removes it.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void}
   */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /**
   * once is on for one call.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void}
   */
  once(event, fn) {
    const off = this.on(event, (arg) => {
      off();
      fn(arg);
    });
    return off;
  }

  /**
   * off removes fn.
   * @param {string} event
   * @param {(arg: any) => void} fn
   */
  off(event, fn) {
    const set = this._listeners.get(event);
    if (set) set.delete(fn);
  }

  /**
   * emit calls every listener of event; it returns whether there was one.
   * @param {string} event
   * @param {any} [arg]
   * @returns {boolean}
   */
  emit(event, arg) {
    const set = this._listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
    return true;
  }

  /**
   * listenerFailed reports an exception thrown by application code.
   * @param {string} event
   * @param {unknown} err
   */
  listenerFailed(event, err) {
    if (event !== 'error' && this.emit('error', { type: 'listener', event, message: String(err), error: err })) return;
    const g = /** @type {any} */ (globalThis);
    if (typeof g.reportError === 'function') g.reportError(err);
    else console.error(err); // eslint-disable-line no-console
  }
}

// ---- src/errors.js ----
// Errors the client hands the application, and what the server's close
// codes mean for reconnecting (docs/PROTOCOL.md, "Close codes";
// docs/AUTH.md, "Error answers").

/**
 * CometError is how every failure reaches the application: a rejected
 * publish, presence query or ping.
 *
 * `code` is the server's status (400, 403, 413, 429, 503...) when the server
 * answered, else 0. `kind` says what happened in a word:
 * - `'server'`: the server refused the request (see `code`);
 * - `'lost'`: the connection dropped before the answer (a publish from the
 *   send queue is resent; other requests are not);
 * - `'timeout'`: no answer in time;
 * - `'queue-full'`: the offline send queue holds `maxQueued` messages;
 * - `'invalid'`: the request was refused before sending (bad channel, data);
 * - `'unsupported'`: the transport in use cannot carry the request;
 * - `'closed'`: the client was closed.
 */
class CometError extends Error {
  /**
   * @param {number} code the server's status, or 0
   * @param {string} message
   * @param {'server'|'lost'|'timeout'|'queue-full'|'invalid'|'unsupported'|'closed'} [kind]
   */
  constructor(code, message, kind) {
    super(message);
    this.name = 'CometError';
    /** @type {number} */
    this.code = code;
    /** @type {string} */
    this.kind = kind || (code ? 'server' : 'lost');
  }
}

/**
 * errorFromJSON rebuilds a CometError sent across a port (a SharedWorker or
 * the leader tab), where only plain data travels.
 * @param {{code?: number, message?: string, kind?: string}} e
 * @returns {CometError}
 */
function errorFromJSON(e) {
  const kind = /** @type {any} */ (typeof e.kind === 'string' ? e.kind : undefined);
  return new CometError(Number.isInteger(e.code) ? Number(e.code) : 0, String(e.message || 'error'), kind);
}

/**
 * errorToJSON is what errorFromJSON reads.
 * @param {any} err
 * @returns {{code: number, message: string, kind: string}}
 */
function errorToJSON(err) {
  if (err instanceof CometError) return { code: err.code, message: err.message, kind: err.kind };
  return { code: 0, message: String(err && err.message ? err.message : err), kind: 'lost' };
}

// Codes 4000-4499 mean "reconnect", 4500-4999 "do not" (PROTOCOL.md).
/**
 * fatalClose reports whether a close code forbids reconnecting: a client
 * bug (1002, 1003, 1007) or a refusal (4500-4999).
 * @param {number | undefined} code
 */
function fatalClose(code) {
  return code === 1002 || code === 1003 || code === 1007 || (code !== undefined && code >= 4500 && code <= 4999);
}

/**
 * needsToken reports whether a close code or HTTP status asks for a new
 * token before the next try: 4401 (expired), 4501 (invalid: a node that
 * restarted with new keys, as demo mode does) or HTTP 401. With getToken
 * the client gets a new one and tries again (with backoff); without, 4501
 * is final.
 * @param {number | undefined} code
 */
function needsToken(code) {
  return code === 4401 || code === 4501 || code === 401;
}

/** @type {Record<number, string>} */
const CLOSE_REASONS = {
  1000: 'normal closure', 1001: 'server shutting down', 1002: 'protocol error',
  1003: 'unsupported data', 1006: 'connection lost', 1007: 'invalid UTF-8',
  1009: 'message too big', 1011: 'server error', 4001: 'slow consumer',
  4002: 'heartbeat timeout (server side)', 4003: 'message timeout', 4004: 'subscription lost',
  4401: 'token expired', 4450: 'auth unavailable', 4500: 'token required',
  4501: 'invalid token', 4503: 'forbidden',
};

/**
 * closeReason names a close code, falling back to the server's reason.
 * @param {number | undefined} code
 * @param {string} [reason]
 */
function closeReason(code, reason) {
  return (code !== undefined && CLOSE_REASONS[code]) || reason || `closed (${code})`;
}

// ---- src/options.js ----
// The client's options and their defaults (docs/CLIENT.md, "Options").

/**
 * What getToken may resolve with: the token, or the demo endpoint's
 * answer ({token, exp}, exp in Unix seconds).
 * @typedef {string | {token: string, exp?: number}} TokenAnswer
 */

/**
 * Options of a client. Every field is optional; DEFAULTS has the values.
 * @typedef {object} CometOptions
 * @property {string} [url] server base URL; default: where comet.js was loaded from
 * @property {string[]} [transports] fallback order
 * @property {string | null} [transport] force one transport (no fallback)
 * @property {string | null} [token] a connection token, sent as ?token= on every transport
 * @property {(() => TokenAnswer | Promise<TokenAnswer>) | null} [getToken] called for a token before connecting, when one expires (4401, HTTP 401), and before its exp
 * @property {number} [connectTimeout] ms for a transport to open before falling back
 * @property {number} [initialDelay] backoff: the first retry waits random(0, initialDelay)
 * @property {number} [maxDelay] backoff cap, ms
 * @property {number} [stableAfter] ms a connection must live to reset the backoff
 * @property {number} [pingInterval] WebSocket: ping after this long without traffic
 * @property {number} [pongTimeout] WebSocket: give up this long after the ping
 * @property {number} [streamTimeout] SSE/iframe: no byte (heartbeats included) this long: dead
 * @property {number | null} [pollWait] long-poll hold in seconds (null: the server's, 25 s)
 * @property {number} [pollTimeout] ms before a parked poll is considered dead
 * @property {number} [publishTimeout] ms for one attempt of a request to be answered
 * @property {number} [maxQueued] messages the send queue holds while offline
 * @property {number} [sendTimeout] ms a queued message may wait before it is given up (0: never)
 * @property {number} [iframeMaxEvents] events before the forever-frame is replaced
 * @property {'auto' | 'fetch' | 'eventsource'} [sseMode] how SSE is read
 * @property {number} [maxAnswerBytes] the largest poll answer read, bytes
 * @property {boolean} [withCredentials] send cookies on cross-origin HTTP transports
 * @property {'auto' | 'worker' | 'leader' | false} [share] one connection for every tab of the origin: a SharedWorker, a leader tab, or none (false)
 * @property {string} [shareKey] tabs share a connection only with the same url and shareKey (use the user id where tabs may sign in as different users)
 * @property {string | URL} [workerURL] the script of the SharedWorker (default: comet.js itself)
 * @property {boolean | 'session' | PositionStore} [persist] keep positions across reloads: true or 'session' (sessionStorage), or a store
 * @property {string} [persistKey] the storage key of persisted positions
 * @property {string | false | null} [device] the device id for the inbox (sent as device=; a token's client claim wins): null makes one per browser, kept in localStorage; false sends none
 * @property {string} [deviceKey] the localStorage key of the device id
 * @property {boolean} [debug] log to console.debug
 */

/** Default options; see docs/CLIENT.md for each. */
const DEFAULTS = Object.freeze({
  url: /** @type {string | undefined} */ (undefined),
  transports: /** @type {readonly string[]} */ (['websocket', 'sse', 'poll', 'iframe']),
  transport: /** @type {string | null} */ (null),
  token: /** @type {string | null} */ (null),
  getToken: /** @type {(() => TokenAnswer | Promise<TokenAnswer>) | null} */ (null),
  connectTimeout: 10000,
  initialDelay: 1000,
  maxDelay: 30000,
  stableAfter: 10000,
  pingInterval: 20000,
  pongTimeout: 10000,
  streamTimeout: 45000,
  pollWait: /** @type {number | null} */ (null),
  pollTimeout: 40000,
  publishTimeout: 10000,
  maxQueued: 100,
  sendTimeout: 0,
  iframeMaxEvents: 1000,
  sseMode: /** @type {'auto' | 'fetch' | 'eventsource'} */ ('auto'),
  maxAnswerBytes: 16 << 20,
  withCredentials: false,
  share: /** @type {'auto' | 'worker' | 'leader' | false} */ ('auto'),
  shareKey: '',
  workerURL: /** @type {string | URL | undefined} */ (undefined),
  persist: /** @type {boolean | 'session' | PositionStore} */ (false),
  persistKey: 'comet:positions',
  device: /** @type {string | false | null} */ (null),
  deviceKey: 'comet:device',
  debug: false,
});

/** @typedef {{-readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K]}} ResolvedOptions */

/**
 * wireOptions is the part of the options that can travel to a
 * SharedWorker or a leader tab (plain data: no functions, no store).
 * @param {ResolvedOptions} o
 * @returns {Partial<ResolvedOptions>}
 */
function wireOptions(o) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'getToken' || k === 'persist' || k === 'workerURL') continue;
    if (v === undefined || typeof v === 'function') continue;
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

// ---- src/inbox.js ----
// The inbox's rules on the client (docs/INBOX.md): what a personal
// channel's delivery may be acknowledged at, conversation ids, and the
// device id. A delivery is acknowledged only once the application's
// handlers finished with it (returned, or their promises resolved), and
// acknowledgements are cumulative, so the position a tab may acknowledge
// is the last seq before its oldest delivery still in the handlers' hands.

/** A user id: 1-128 bytes of the channel-name set (docs/AUTH.md). */
const USER_RE = /^[A-Za-z0-9_:.@/=+#-]{1,128}$/;

/** The longest user id a DM may name (its conversation id fits 128 bytes). */
const DM_MAX_USER = 60;

/**
 * dmConversation names the DM between users a and b as the server does:
 * "dm:" + the length of the first + ":" + first + ":" + second, the two
 * ids in byte order (user ids are ASCII, so string order is byte order).
 * @param {string} a
 * @param {string} b
 */
function dmConversation(a, b) {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `dm:${x.length}:${x}:${y}`;
}

/**
 * dmPeer returns the other participant of DM conversation conv for user
 * me, or null when conv is not a DM of me's.
 * @param {unknown} conv
 * @param {string} me
 * @returns {string | null}
 */
function dmPeer(conv, me) {
  if (typeof conv !== 'string') return null;
  const m = /^dm:(\d{1,3}):/.exec(conv);
  if (!m) return null;
  const n = Number(m[1]);
  const rest = conv.slice(m[0].length);
  if (rest.length < n + 2 || rest[n] !== ':') return null;
  const a = rest.slice(0, n);
  const b = rest.slice(n + 1);
  if (a === me) return b;
  if (b === me) return a;
  return null;
}

/**
 * One delivery in the handlers' hands: `left` handlers have not settled
 * yet; `failed` once one threw or rejected (it is then never done on this
 * connection); `dead` once the tracker was reset (its late results no
 * longer count).
 * @typedef {{seq: number, left: number, failed: boolean, dead: boolean}} Work
 */

/**
 * AckTracker follows the deliveries of one channel through the
 * application's handlers, oldest first.
 */
class AckTracker {
  constructor() {
    /** @type {Work[]} */
    this.work = [];
  }

  /**
   * start notes the delivery of seq, whose handlers run next.
   * @param {number} seq
   * @returns {Work}
   */
  start(seq) {
    const w = { seq, left: 0, failed: false, dead: false };
    this.work.push(w);
    return w;
  }

  /** settle drops the finished deliveries at the head. */
  settle() {
    while (this.work.length > 0 && this.work[0].left === 0 && !this.work[0].failed) this.work.shift();
  }

  /**
   * watermark is the seq that may be acknowledged: everything delivered up
   * to it is done. pos is the last seq delivered (null: none yet).
   * @param {number | null} pos
   * @returns {number | null}
   */
  watermark(pos) {
    return this.work.length > 0 ? this.work[0].seq - 1 : pos;
  }

  /** busy reports whether a delivery is still in the handlers' hands (or failed). */
  get busy() {
    return this.work.length > 0;
  }

  /** reset forgets every delivery in progress: they are delivered again. */
  reset() {
    for (const w of this.work) w.dead = true;
    this.work = [];
  }
}

/**
 * TabAcks is the hub's view of what one tab holds of the personal
 * channel: the watermark the tab reported while its handlers held
 * deliveries (null: none held), the last seq it had seen when it did,
 * and what the hub sent it since, which the tab cannot have finished (a
 * report may cross a message on the way).
 */
class TabAcks {
  constructor() {
    /** @type {number | null} */
    this.done = null;
    /** @type {number[]} seqs sent after the tab's last report, in order */
    this.unseen = [];
  }

  /** @param {number} seq a delivery sent to the tab */
  sent(seq) {
    if (this.unseen.length < 100000) this.unseen.push(seq);
  }

  /**
   * report applies the tab's {seq: watermark (null: nothing held), upto:
   * last seq it saw}.
   * @param {number | null} done
   * @param {number | null} upto
   */
  report(done, upto) {
    this.done = done;
    if (upto == null) return;
    let i = 0;
    while (i < this.unseen.length && this.unseen[i] <= upto) i++;
    if (i > 0) this.unseen.splice(0, i);
  }

  /**
   * limit is the highest seq this tab allows to acknowledge, or null when
   * it holds nothing back.
   * @returns {number | null}
   */
  limit() {
    if (this.unseen.length === 0) return this.done;
    const before = this.unseen[0] - 1;
    return this.done == null ? before : Math.min(this.done, before);
  }
}

/**
 * ackLimit combines the tabs' limits: the lowest, or null when none holds
 * anything back.
 * @param {Iterable<TabAcks>} tabs
 * @returns {number | null}
 */
function ackLimit(tabs) {
  /** @type {number | null} */
  let min = null;
  for (const t of tabs) {
    const l = t.limit();
    if (l != null && (min == null || l < min)) min = l;
  }
  return min;
}

/**
 * deviceID returns this browser's device id for the inbox: kept in
 * localStorage under key (made once, 128 random bits), or a fresh one per
 * page where storage is off.
 * @param {string} key
 * @param {() => string} make
 * @returns {string}
 */
function deviceID(key, make) {
  try {
    const s = /** @type {any} */ (globalThis).localStorage;
    const got = s && s.getItem(key);
    if (typeof got === 'string' && USER_RE.test(got)) return got;
    const id = make();
    if (s) s.setItem(key, id);
    return id;
  } catch {
    return make();
  }
}

// ---- src/protocol.js ----
// Decoding what the server sends (docs/PROTOCOL.md): nothing from the
// network is trusted; every shape is checked before the client acts on it.

/** A channel name: 1-128 bytes of [A-Za-z0-9_:.@/=+#-] (PROTOCOL.md). */
const CHANNEL_RE = /^[A-Za-z0-9_:.@/=+#-]{1,128}$/;

/**
 * validChannel reports whether name is a channel name.
 * @param {unknown} name
 * @returns {name is string}
 */
function validChannel(name) {
  return typeof name === 'string' && CHANNEL_RE.test(name);
}

/**
 * isObj reports whether x is a plain JSON object (not an array, not null).
 * @param {unknown} x
 * @returns {x is Record<string, any>}
 */
function isObj(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * isSeq reports whether x is a sequence number: a safe integer >= 0.
 * @param {unknown} x
 * @returns {x is number}
 */
function isSeq(x) {
  return Number.isSafeInteger(x) && /** @type {number} */ (x) >= 0;
}

/**
 * A position: a channel, the epoch of its sequence and the last seq seen.
 * @typedef {{channel: string, epoch: string, seq: number}} CursorPosition
 */

/**
 * parseCursor splits a cursor ("NAME~EPOCH~SEQ!NAME~EPOCH~SEQ") into
 * positions, or returns null when it is malformed.
 * @param {unknown} cursor
 * @returns {CursorPosition[] | null}
 */
function parseCursor(cursor) {
  if (typeof cursor !== 'string' || cursor === '' || cursor.length > 65536) return null;
  /** @type {CursorPosition[]} */
  const out = [];
  for (const part of cursor.split('!')) {
    const j = part.lastIndexOf('~');
    const i = j > 0 ? part.lastIndexOf('~', j - 1) : -1;
    if (i <= 0) return null;
    const digits = part.slice(j + 1);
    const seq = /^\d{1,16}$/.test(digits) ? Number(digits) : NaN;
    const channel = part.slice(0, i);
    const epoch = part.slice(i + 1, j);
    if (!isSeq(seq) || !CHANNEL_RE.test(channel) || !/^[a-z0-9.]{0,32}$/.test(epoch)) return null;
    out.push({ channel, epoch, seq });
  }
  return out;
}

/**
 * positionParam is the ch= value that names a channel at a position
 * (NAME~EPOCH~SEQ), or from now (NAME) without one.
 * @param {string} name
 * @param {string | null} epoch
 * @param {number | null} seq
 */
function positionParam(name, epoch, seq) {
  return seq == null ? name : `${name}~${epoch ?? ''}~${seq}`;
}

/**
 * A delivery from the server, checked: seq 0 is an ephemeral message
 * (typing, join and leave, read events and seen receipts), which never
 * moves a position. conv: the conversation of a personal channel's
 * delivery.
 * @typedef {{op: 'msg', ch: string, seq: number, ts?: number, data: any, from?: string, conv?: string}} WireMsg
 */

/**
 * validMsg reports whether m is a well-formed delivery.
 * @param {unknown} m
 * @returns {m is WireMsg}
 */
function validMsg(m) {
  return (
    isObj(m) &&
    validChannel(m.ch) &&
    isSeq(m.seq) &&
    'data' in m &&
    (m.ts === undefined || typeof m.ts === 'number') &&
    (m.from === undefined || typeof m.from === 'string') &&
    (m.conv === undefined || typeof m.conv === 'string')
  );
}

/**
 * parseJSON parses text, or returns undefined (never throws).
 * @param {string} text
 * @returns {unknown}
 */
function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A poll answer, checked.
 * @typedef {{positions: CursorPosition[], msgs: any[], gaps: Set<string>}} PollAnswer
 */

/**
 * decodePollAnswer checks a GET /poll answer: {cursor, msgs, gap}.
 * @param {unknown} a
 * @returns {PollAnswer | null}
 */
function decodePollAnswer(a) {
  if (!isObj(a) || !Array.isArray(a.msgs)) return null;
  const positions = parseCursor(a.cursor);
  if (!positions) return null;
  return { positions, msgs: a.msgs, gaps: gapSet(a.gap) };
}

/**
 * gapSet is the set of channel names of a "gap" list (ignoring junk).
 * @param {unknown} gap
 * @returns {Set<string>}
 */
function gapSet(gap) {
  return new Set(Array.isArray(gap) ? gap.filter((g) => typeof g === 'string') : []);
}

/**
 * A presence entry, as the server lists them.
 * @typedef {{user?: string, client?: string, conn?: string, transport?: string, since?: number}} PresenceEntry
 */

/**
 * decodePresence checks a presence answer and keeps its known fields.
 * @param {unknown} m
 * @returns {{channel: string, connections: number, users: number, clients: PresenceEntry[], truncated: boolean} | null}
 */
function decodePresence(m) {
  if (!isObj(m) || !validChannel(m.ch) || !isSeq(m.connections) || !isSeq(m.users) || !Array.isArray(m.clients)) return null;
  /** @type {PresenceEntry[]} */
  const clients = [];
  for (const c of m.clients.slice(0, 1000)) {
    if (isObj(c)) clients.push(presenceEntry(c));
  }
  return { channel: m.ch, connections: m.connections, users: m.users, clients, truncated: m.truncated === true };
}

/**
 * presenceEntry keeps the string and number fields of a presence entry.
 * @param {Record<string, any>} c
 * @returns {PresenceEntry}
 */
function presenceEntry(c) {
  /** @type {PresenceEntry} */
  const e = {};
  for (const k of /** @type {const} */ (['user', 'client', 'conn', 'transport'])) {
    if (typeof c[k] === 'string') e[k] = c[k].slice(0, 128);
  }
  if (isSeq(c.since)) e.since = c.since;
  return e;
}

/**
 * One conversation of an unread answer: its unread count, the read
 * marker, the last entry's seq and time.
 * @typedef {{conv: string, unread: number, read: number, last: number, ts: number}} UnreadConversation
 */

/**
 * The unread answer: the user's unread total, the top of the log, the
 * conversations (a page of them) and the id to ask for the next page.
 * @typedef {{total: number, top: number, convs: UnreadConversation[], next: string | null}} Unread
 */

/**
 * decodeUnread checks an unread answer and keeps its known fields.
 * @param {unknown} m
 * @returns {Unread | null}
 */
function decodeUnread(m) {
  if (!isObj(m) || !isSeq(m.total) || !Array.isArray(m.convs)) return null;
  /** @type {UnreadConversation[]} */
  const convs = [];
  for (const c of m.convs.slice(0, 1000)) {
    if (!isObj(c) || typeof c.conv !== 'string' || !isSeq(c.unread)) continue;
    convs.push({
      conv: c.conv.slice(0, 128),
      unread: c.unread,
      read: isSeq(c.read) ? c.read : 0,
      last: isSeq(c.last) ? c.last : 0,
      ts: typeof c.ts === 'number' ? c.ts : 0,
    });
  }
  return { total: m.total, top: isSeq(m.top) ? m.top : 0, convs, next: typeof m.next === 'string' && m.next !== '' ? m.next : null };
}

/**
 * randomKey returns n random bytes as base64url (no padding): idempotency
 * keys and session ids.
 * @param {number} n
 */
function randomKey(n) {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * frameOp decodes one frame or event of the server: a JSON text (or, from
 * the iframe, an already parsed value when parsed is set) holding an object
 * with a string op. The error says what was wrong.
 * @param {unknown} data
 * @param {boolean} [parsed]
 * @returns {{m: Record<string, any> & {op: string}} | {error: string, data?: string}}
 */
function frameOp(data, parsed = false) {
  let m = data;
  if (!parsed) {
    if (typeof data !== 'string') return { error: 'binary frame on a JSON WebSocket' };
    m = parseJSON(data);
    if (m === undefined) return { error: 'invalid JSON from the server', data: data.slice(0, 200) };
  }
  if (!isObj(m) || typeof m.op !== 'string') {
    return { error: 'message without op', data: typeof data === 'string' ? data.slice(0, 200) : undefined };
  }
  return { m: /** @type {any} */ (m) };
}

// ---- src/outbox.js ----
// The send queue: what the application published and the server has not
// answered yet. Every entry carries an idempotency key made here, so that
// sending it again after a lost answer (a dropped connection, a server
// restart, a leader tab that closed) is stored once by the server and
// answered with the first seq: exactly once, from the outside.


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
class Outbox {
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
function retryable(code) {
  return code === 429 || code === 503 || code === 0;
}

/** newIdem returns a fresh idempotency key (22 characters, 128 bits). */
function newIdem() {
  return randomKey(16);
}

// ---- src/positions.js ----
// Positions: per channel, the epoch and the last seq delivered, and the
// rules that decide what is new, what is a duplicate, and when history
// failed to reach back (a gap). The connection keeps one per channel, and
// every tab keeps its own, with the same rules.

/**
 * Where a channel stands: `seq` null means "from now" (nothing seen yet).
 * @typedef {{epoch: string | null, seq: number | null}} Position
 */

/**
 * A gap: history could not replay everything after `since`.
 * @typedef {{epoch: string, previousEpoch: string | null, since: number | null, reason: 'history gap' | 'epoch changed'}} GapInfo
 */

/**
 * isEmptyEpoch reports an empty epoch ('.' and a time): the channel had no
 * stream yet, and its first one continues it without a gap.
 * @param {string | null} epoch
 */
function isEmptyEpoch(epoch) {
  return epoch != null && epoch.startsWith('.');
}

/**
 * epochChanged reports whether the server's epoch is another sequence than
 * the one the position counts in.
 * @param {Position} p
 * @param {string} epoch
 */
function epochChanged(p, epoch) {
  return p.epoch != null && !isEmptyEpoch(p.epoch) && p.epoch !== epoch;
}

/**
 * startAt applies the position a subscription starts from (a sub reply, a
 * stream's open cursor): `seq` is the channel's last seq there, `gapped`
 * whether the server said history did not reach back. It returns the gap to
 * report, or null.
 * @param {Position} p
 * @param {string} epoch
 * @param {number} seq
 * @param {boolean} gapped
 * @returns {GapInfo | null}
 */
function startAt(p, epoch, seq, gapped) {
  const prev = { epoch: p.epoch, seq: p.seq };
  const changed = epochChanged(p, epoch);
  if (p.seq == null) p.seq = seq; // from now
  else if (changed || (gapped && seq < p.seq)) p.seq = 0; // what follows is all new
  p.epoch = epoch;
  if (!gapped && !changed) return null;
  return { epoch, previousEpoch: prev.epoch, since: prev.seq, reason: changed ? 'epoch changed' : 'history gap' };
}

/**
 * pollAt is startAt for a poll answer, whose cursor is where the answer
 * ends (endSeq), before its messages are delivered; the caller moves the
 * position to endSeq after them.
 * @param {Position} p
 * @param {string} epoch
 * @param {number} endSeq
 * @param {boolean} gapped
 * @returns {GapInfo | null}
 */
function pollAt(p, epoch, endSeq, gapped) {
  const changed = epochChanged(p, epoch);
  /** @type {GapInfo | null} */
  let gap = null;
  if (gapped || changed) {
    gap = { epoch, previousEpoch: p.epoch, since: p.seq, reason: changed ? 'epoch changed' : 'history gap' };
    if (changed || (p.seq != null && endSeq < p.seq)) p.seq = 0;
  }
  p.epoch = epoch;
  return gap;
}

/**
 * accept decides about one delivery: 'ephemeral' (seq 0: deliver, do not
 * move), 'duplicate' (at or before the position: drop) or 'new' (deliver;
 * the position moves to it).
 * @param {Position} p
 * @param {number} seq
 * @returns {'ephemeral' | 'duplicate' | 'new'}
 */
function accept(p, seq) {
  if (seq === 0) return 'ephemeral';
  if (p.seq != null && seq <= p.seq) return 'duplicate';
  p.seq = seq;
  return 'new';
}

/**
 * adoptEpoch applies {"op":"epoch"}: the stream of a channel joined while
 * it had none began, and its seqs, from 1, belong to this epoch.
 * @param {Position} p
 * @param {unknown} epoch
 */
function adoptEpoch(p, epoch) {
  if (typeof epoch !== 'string' || epoch === '' || isEmptyEpoch(epoch) || epoch.length > 32) return;
  if (p.epoch == null || (isEmptyEpoch(p.epoch) && !p.seq)) p.epoch = epoch;
}

/**
 * before reports whether position a is strictly behind b on the same
 * sequence (so a reader at a still needs what came up to b). A position
 * whose epoch is unknown or empty counts as the same sequence.
 * @param {Position} a
 * @param {Position} b
 */
function before(a, b) {
  if (a.seq == null || b.seq == null) return false;
  if (a.epoch && b.epoch && !isEmptyEpoch(a.epoch) && !isEmptyEpoch(b.epoch) && a.epoch !== b.epoch) return true;
  return a.seq < b.seq;
}

// ---- src/store.js ----
// Persisted positions (opt-in): where each channel stood, saved so that a
// page reload resumes every channel without loss. sessionStorage is the
// default store: it is per tab and survives a reload, which is exactly
// the life of a tab's positions.

/**
 * A place to keep positions: sync (sessionStorage) or async (IndexedDB,
 * or anything the application provides).
 * @typedef {{
 *   load: () => Record<string, {epoch: string | null, seq: number}> | null | Promise<Record<string, {epoch: string | null, seq: number}> | null>,
 *   save: (positions: Record<string, {epoch: string | null, seq: number}>) => void | Promise<void>,
 * }} PositionStore
 */

/**
 * storageStore keeps positions under key in a Web Storage area
 * (sessionStorage by default). Quota errors and disabled storage are
 * ignored: persistence is best effort.
 * @param {string} key
 * @param {Storage} [area]
 * @returns {PositionStore}
 */
function storageStore(key, area) {
  const s = () => area || /** @type {any} */ (globalThis).sessionStorage;
  return {
    load() {
      try {
        const raw = s() && s().getItem(key);
        return raw ? sanitize(JSON.parse(raw)) : null;
      } catch {
        return null;
      }
    },
    save(positions) {
      try {
        if (s()) s().setItem(key, JSON.stringify(positions));
      } catch {
        // full or disabled: keep going without
      }
    },
  };
}

/**
 * memoryStore keeps positions in memory (tests, and pages without storage).
 * @returns {PositionStore & {data: any}}
 */
function memoryStore() {
  return {
    data: null,
    load() {
      return this.data;
    },
    save(p) {
      this.data = JSON.parse(JSON.stringify(p));
    },
  };
}

/**
 * sanitize keeps only well-formed entries of a stored object: storage is
 * input too (another script, an older version of the page may have written
 * it).
 * @param {unknown} v
 * @returns {Record<string, {epoch: string | null, seq: number}> | null}
 */
function sanitize(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  /** @type {Record<string, {epoch: string | null, seq: number}>} */
  const out = {};
  let n = 0;
  for (const [ch, p] of Object.entries(v)) {
    if (n >= 1000) break;
    if (!/^[A-Za-z0-9_:.@/=+#-]{1,128}$/.test(ch) || p === null || typeof p !== 'object') continue;
    const { epoch, seq } = /** @type {any} */ (p);
    if (!Number.isSafeInteger(seq) || seq < 0) continue;
    if (epoch !== null && (typeof epoch !== 'string' || !/^[a-z0-9.]{0,32}$/.test(epoch))) continue;
    out[ch] = { epoch, seq };
    n++;
  }
  return out;
}

/**
 * Saver writes positions at most every `interval` ms (and at once on
 * flush), so a busy channel does not write storage per message.
 */
class Saver {
  /**
   * @param {PositionStore} store
   * @param {() => Record<string, {epoch: string | null, seq: number}>} snapshot
   * @param {number} interval
   */
  constructor(store, snapshot, interval) {
    this.store = store;
    this.snapshot = snapshot;
    this.interval = interval;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
  }

  /** dirty schedules a write. */
  dirty() {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.interval);
  }

  /** flush writes now. */
  flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      const r = this.store.save(this.snapshot());
      if (r && typeof r.catch === 'function') r.catch(() => {});
    } catch {
      // best effort
    }
  }
}

// ---- src/transports/base.js ----
// What every transport shares: the open/dead life cycle, failing once, and
// the watchdog that fails a connection that went silent.


/**
 * How a transport ended: `fatal` forbids reconnecting.
 * @typedef {{reason: string, code?: number, fatal?: boolean, retryAfter?: number}} CloseInfo
 */

/**
 * Transport is one attempt at a connection over one transport. It ends
 * once: fail() tells the connection, close() (the connection asked) does
 * not.
 */
class Transport {
  /**
   * @param {Connection} conn
   * @param {string} name
   */
  constructor(conn, name) {
    this.conn = conn;
    this.name = name;
    /** Reached "connected". */
    this.opened = false;
    /** Ended: nothing it reports counts any more. */
    this.dead = false;
    this.lastRx = Date.now();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchTimer = undefined;
  }

  /** up reports whether the transport is open and alive. */
  get up() {
    return this.opened && !this.dead;
  }

  /** open starts the attempt. */
  open() {}

  /** markOpen tells the connection the transport is up. */
  markOpen() {
    if (this.dead || this.opened) return;
    this.opened = true;
    this.conn.transportOpened(this);
  }

  /**
   * fail ends the transport and tells the connection why.
   * @param {string} reason
   * @param {number} [code]
   * @param {boolean} [fatal]
   */
  fail(reason, code, fatal = false) {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchTimer);
    this.teardown();
    this.conn.transportClosed(this, { reason, code, fatal });
  }

  /** close ends the transport quietly: the connection asked. */
  close() {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchTimer);
    this.teardown();
  }

  /**
   * watch calls onSilence (default: fail) when nothing arrives within
   * window ms.
   * @param {number} window
   * @param {() => void} [onSilence]
   */
  watch(window, onSilence) {
    clearInterval(this.watchTimer);
    this.lastRx = Date.now();
    this.watchTimer = setInterval(() => {
      if (Date.now() - this.lastRx <= window) return;
      if (onSilence) {
        this.lastRx = Date.now();
        onSilence();
      } else {
        this.fail('heartbeat timeout: no data from the server');
      }
    }, Math.max(250, Math.floor(window / 4)));
  }

  /** teardown releases what the transport holds (sockets, requests). */
  teardown() {}

  /**
   * channelsChanged tells the transport channels were added or removed.
   * @param {Channel[]} added
   * @param {Channel[]} removed
   */
  channelsChanged(added, removed) {} // eslint-disable-line no-unused-vars

  /**
   * send writes one client message (WebSocket only).
   * @param {Record<string, any>} msg
   */
  send(msg) { // eslint-disable-line no-unused-vars
    throw new Error('comet: this transport has no up-channel of its own');
  }
}

/**
 * errMessage is a thrown value as text.
 * @param {unknown} err
 */
function errMessage(err) {
  return err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
}

// ---- src/transports/websocket.js ----
// WebSocket: GET /ws, one JSON object per text frame, both ways.


/**
 * WebSocketTransport is the full-duplex transport. Browsers cannot send
 * WebSocket pings, so it sends {"op":"ping"} after pingInterval without
 * traffic and fails when nothing answers within pongTimeout.
 */
class WebSocketTransport extends Transport {
  open() {
    const u = this.conn.endpoint('ws', this.conn.wsConnectParams());
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(u.href);
    this.ws = ws;
    ws.onopen = () => {
      if (this.dead) return;
      this.lastRx = Date.now();
      this.markOpen();
      this.conn.wsOpened(this);
      this.heartbeat();
    };
    ws.onmessage = (ev) => {
      if (this.dead) return;
      this.lastRx = Date.now();
      this.conn.wsFrame(this, ev.data);
    };
    ws.onclose = (ev) => {
      this.fail(closeReason(ev.code, ev.reason), ev.code, this.opened && fatalClose(ev.code));
    };
    ws.onerror = () => {}; // a close follows
  }

  /** @param {Record<string, any>} msg */
  send(msg) {
    if (!this.ws) throw new Error('comet: not open');
    this.ws.send(JSON.stringify(msg));
  }

  heartbeat() {
    const { pingInterval, pongTimeout } = this.conn.options;
    const tick = () => {
      if (this.dead) return;
      const idle = Date.now() - this.lastRx;
      if (idle < pingInterval) {
        this.hbTimer = setTimeout(tick, pingInterval - idle);
        return;
      }
      const sent = Date.now();
      try {
        this.send({ op: 'ping', id: 'hb' });
      } catch {
        // the close event follows
      }
      this.hbTimer = setTimeout(() => {
        if (this.dead) return;
        if (this.lastRx < sent) this.fail('heartbeat timeout: no pong from the server');
        else tick();
      }, pongTimeout);
    };
    this.hbTimer = setTimeout(tick, pingInterval);
  }

  /**
   * @param {Channel[]} added
   * @param {Channel[]} removed
   */
  channelsChanged(added, removed) {
    for (const c of added) this.conn.wsSubscribe(this, c);
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

// ---- src/backoff.js ----
// Reconnect timing: exponential backoff with full jitter, floored by the
// server's own hint (an SSE retry field, a Retry-After header).

/**
 * Backoff computes reconnect delays. The n-th consecutive failure waits
 * hint + random(0, min(maxDelay, initialDelay * 2^n)): the jitter spreads
 * the returns of many clients that lost one node together, the hint is
 * the server asking for room.
 */
class Backoff {
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
function retryAfterMs(value, now = Date.now()) {
  if (!value) return 0;
  if (/^\d{1,6}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : 0;
}

// ---- src/transports/http.js ----
// What SSE, long-poll and the iframe share: the channels are the
// request's, so a change of channels reopens the request (from each
// channel's position) without a visible disconnect.


/**
 * HTTPTransport reads channels named in its request URL. Subclasses
 * implement restart() (issue the request for the current channel set) and
 * stopRequest() (abandon it).
 */
class HTTPTransport extends Transport {
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
 * @param {Connection} conn
 * @param {AbortSignal} signal
 * @param {Record<string, string>} [headers]
 * @returns {RequestInit}
 */
function fetchInit(conn, signal, headers) {
  return {
    cache: 'no-store',
    credentials: conn.options.withCredentials ? 'include' : 'same-origin',
    signal,
    headers,
  };
}

// ---- src/sse-parser.js ----
// The text/event-stream format (WHATWG HTML §9.2.6), for SSE read with
// fetch streaming.

/**
 * SSEParser calls onEvent(data) for each event and onRetry(ms) for a retry
 * field; comments (the heartbeat) only count as traffic. A line longer
 * than maxLine fails the stream (onTooLong): a hostile server cannot make
 * the client buffer without bound.
 */
class SSEParser {
  /**
   * @param {(data: string) => void} onEvent
   * @param {{onRetry?: (ms: number) => void, onTooLong?: () => void, maxLine?: number}} [o]
   */
  constructor(onEvent, o = {}) {
    this.onEvent = onEvent;
    this.onRetry = o.onRetry || (() => {});
    this.onTooLong = o.onTooLong || (() => {});
    this.maxLine = o.maxLine || 1 << 20;
    this.buf = '';
    /** @type {string[]} */
    this.data = [];
    this.dataBytes = 0;
  }

  /**
   * push feeds one decoded chunk.
   * @param {string} chunk
   */
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
    if (this.buf.length > this.maxLine) {
      this.buf = '';
      this.onTooLong();
    }
  }

  /** @param {string} line */
  line(line) {
    if (line === '') {
      // Every event carries its op in its data, whatever its type.
      if (this.data.length > 0) this.onEvent(this.data.join('\n'));
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line[0] === ':') return; // a comment: the heartbeat
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') {
      this.dataBytes += value.length;
      if (this.dataBytes > this.maxLine) {
        this.data = [];
        this.dataBytes = 0;
        this.onTooLong();
        return;
      }
      this.data.push(value);
    } else if (field === 'retry' && /^\d{1,9}$/.test(value)) {
      this.onRetry(Number(value));
    }
    // id: positions are the client's own; event: the op says.
  }
}

// ---- src/transports/sse.js ----
// Server-Sent Events: GET /sse, read with fetch streaming (which sees the
// heartbeat comments) or EventSource.


/** SSETransport is the one-way stream of events, with POST /send up. */
class SSETransport extends HTTPTransport {
  restart() {
    this.started = false;
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const url = this.conn.endpoint('sse', this.conn.httpParams());
    const mode = this.conn.options.sseMode;
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

  /**
   * @param {string} url
   * @param {number} gen
   */
  openFetch(url, gen) {
    const ac = new AbortController();
    this.ac = ac;
    const live = () => !this.dead && gen === this.gen;
    fetch(url, fetchInit(this.conn, ac.signal, { Accept: 'text/event-stream' }))
      .then(async (res) => {
        if (!live()) return;
        const type = res.headers.get('content-type') || '';
        if (!res.ok || !/^text\/event-stream/i.test(type) || !res.body) {
          this.failHTTP('GET /sse', res);
          return;
        }
        this.watch(this.conn.options.streamTimeout);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const parser = new SSEParser((data) => live() && this.event(data), {
          onRetry: (ms) => this.conn.backoff.suggest(ms),
          onTooLong: () => this.fail('SSE event over 1 MiB'),
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (!live()) {
            reader.cancel().catch(() => {});
            return;
          }
          if (done) break;
          this.lastRx = Date.now();
          parser.push(decoder.decode(value, { stream: true }));
        }
        this.fail('the server ended the event stream');
      })
      .catch((err) => {
        if (live()) this.fail(`GET /sse failed: ${errMessage(err)}`);
      });
  }

  // The EventSource mode cannot see heartbeat comments, so it relies on the
  // browser to notice a dead connection.
  /**
   * @param {string} url
   * @param {number} gen
   */
  openEventSource(url, gen) {
    const es = new EventSource(url, { withCredentials: this.conn.options.withCredentials });
    this.es = es;
    es.onmessage = (ev) => {
      if (this.dead || gen !== this.gen) return;
      this.lastRx = Date.now();
      this.event(ev.data);
    };
    // Reconnects are the client's (with positions and backoff), not the browser's.
    es.onerror = () => {
      if (!this.dead && gen === this.gen) this.fail('event stream error');
    };
  }

  /** @param {string} data */
  event(data) {
    const m = parseJSON(data);
    if (m === undefined) {
      this.conn.report('protocol', 'invalid JSON in an SSE event', { data: String(data).slice(0, 200) });
      return;
    }
    this.conn.streamEvent(this, m);
  }
}

// ---- src/transports/poll.js ----
// Long-poll: GET /poll, one request parked at a time; the cursor of each
// answer is the acknowledgement.


/**
 * ACK_HOLD bounds, in ms, how long the next poll waits for the inbox's
 * handlers: a poll names the personal channel at what they finished (its
 * cursor is the acknowledgement), and one named behind what arrived is
 * answered at once with it again.
 */
const ACK_HOLD = 2000;

/** PollTransport reads by long-polls, with POST /send up. */
class PollTransport extends HTTPTransport {
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
async function readLimited(res, max) {
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

// ---- src/transports/iframe.js ----
// The iframe forever-frame: GET /iframe, a hidden frame whose script
// elements hand each event to this page. On Comet's own origin each
// script calls a callback; on another origin the server posts each event
// to this page's origin, and only messages from the frame's window and
// Comet's origin are read.


let frames = 0;

/**
 * IframeTransport is the transport of last resort. The frame is added
 * only once the page has loaded: a frame that never finishes loading would
 * otherwise hold the page's own load event (and its spinner) forever.
 */
class IframeTransport extends HTTPTransport {
  restart() {
    const doc = globalThis.document;
    if (doc.readyState !== 'complete') {
      if (this.waitingLoad) return;
      this.waitingLoad = () => {
        this.waitingLoad = null;
        if (!this.dead) this.restart();
      };
      globalThis.addEventListener('load', this.waitingLoad, { once: true });
      return;
    }
    this.started = false;
    this.events = 0;
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const cb = `__comet${++frames}_${gen}_${Math.floor(Math.random() * 1e9)}`;
    this.cb = cb;
    const base = this.conn.baseURL;
    const cross = !globalThis.location || base.origin !== globalThis.location.origin;
    /** @param {unknown} ev */
    const handle = (ev) => {
      if (this.dead || gen !== this.gen) return;
      this.lastRx = Date.now();
      this.watchDocument();
      let m;
      try {
        m = JSON.parse(JSON.stringify(ev)); // into this realm, as plain JSON
      } catch {
        this.conn.report('protocol', 'iframe event is not JSON');
        return;
      }
      this.conn.streamEvent(this, m);
      this.events = (this.events || 0) + 1;
      if (this.events >= this.conn.options.iframeMaxEvents && !this.dead && gen === this.gen) {
        // A forever-frame's document only grows: start a fresh one.
        this.stopRequest();
        this.restart();
      }
    };
    const q = this.conn.httpParams();
    q.set('cb', cb);
    const g = /** @type {any} */ (globalThis);
    if (cross) {
      q.set('origin', globalThis.location.origin);
      this.onMessage = (/** @type {MessageEvent} */ e) => {
        if (e.origin !== base.origin || !this.frame || e.source !== this.frame.contentWindow) return;
        if (!isObj(e.data) || e.data.comet !== cb) return;
        handle(e.data.ev);
      };
      globalThis.addEventListener('message', this.onMessage);
    } else {
      g[cb] = handle;
    }
    const url = this.conn.endpoint('iframe', q);
    const f = doc.createElement('iframe');
    f.setAttribute('aria-hidden', 'true');
    f.tabIndex = -1;
    f.title = 'comet';
    f.style.cssText = 'position:absolute;width:0;height:0;border:0;left:-9999px;top:-9999px;visibility:hidden';
    f.src = url.href;
    // load fires when the response ends: the server closed it, or it was an
    // error page (whatever the frame's origin).
    f.onload = () => {
      if (!this.dead && gen === this.gen) this.fail(this.started ? 'the server ended the forever-frame' : 'GET /iframe did not open');
    };
    (doc.body || doc.documentElement).appendChild(f);
    this.frame = f;
    // On another origin the heartbeats (HTML comments) cannot be seen:
    // a silent frame is replaced, with positions, instead of failed.
    this.watch(this.conn.options.streamTimeout, cross ? () => this.recycle() : undefined);
  }

  recycle() {
    if (this.dead) return;
    this.stopRequest();
    this.restart();
  }

  // watchDocument counts the heartbeat comments the frame receives (on the
  // same origin only).
  watchDocument() {
    if (this.observer !== undefined) return;
    this.observer = null;
    try {
      const doc = this.frame && this.frame.contentDocument;
      if (doc && typeof MutationObserver === 'function') {
        this.observer = new MutationObserver(() => {
          this.lastRx = Date.now();
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
    if (this.waitingLoad) {
      globalThis.removeEventListener('load', this.waitingLoad);
      this.waitingLoad = null;
    }
    if (this.observer) this.observer.disconnect();
    this.observer = undefined;
    if (this.onMessage) {
      globalThis.removeEventListener('message', this.onMessage);
      this.onMessage = null;
    }
    if (this.cb) {
      const g = /** @type {any} */ (globalThis);
      const cb = this.cb;
      if (g[cb]) {
        g[cb] = () => {}; // scripts still in flight
        setTimeout(() => delete g[cb], 5000);
      }
      this.cb = null;
    }
    if (this.frame) {
      this.frame.onload = null;
      this.frame.remove();
      this.frame = null;
    }
  }
}

// ---- src/transports/index.js ----
// The transports by name, and which ones this environment can run.


/** Transport names, in the default fallback order. */
const TRANSPORTS = Object.freeze(['websocket', 'sse', 'poll', 'iframe']);

/** @type {Record<string, string>} */
const ALIASES = {
  websocket: 'websocket', ws: 'websocket',
  sse: 'sse', eventsource: 'sse',
  poll: 'poll', longpoll: 'poll', 'long-poll': 'poll',
  iframe: 'iframe', 'forever-frame': 'iframe',
};

/** The implementation of each transport. */
const IMPLS = { websocket: WebSocketTransport, sse: SSETransport, poll: PollTransport, iframe: IframeTransport };

/**
 * transportName returns the canonical name of a transport (aliases such as
 * 'ws' and 'long-poll' accepted), or throws a TypeError.
 * @param {unknown} name
 * @returns {'websocket' | 'sse' | 'poll' | 'iframe'}
 */
function transportName(name) {
  const n = ALIASES[String(name).toLowerCase()];
  if (!n) throw new TypeError(`comet: unknown transport ${name}`);
  return /** @type {any} */ (n);
}

/**
 * supported reports whether this environment (a page, a worker) can run a
 * transport.
 * @param {string} name
 */
function supported(name) {
  const g = /** @type {any} */ (globalThis);
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

// ---- src/link.js ----
// The state one link to a Comet node shares between its parts: the
// channels and their positions, the transport in use, the token, the send
// queue, counters. connection.js drives it, sender.js sends through it,
// receiver.js decodes into it.



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
class Channel {
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
class LinkBase extends Emitter {
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

// ---- src/sender.js ----
// Sending: the send queue (publications and DMs, resent with their
// idempotency key until the server answers), requests that wait for a
// reply (presence, ping, typing, refresh, the inbox's read and unread)
// over the WebSocket or POST /send, the inbox's acknowledgements, and the
// short poll that reads a channel's history for a tab that comes back
// behind.



/** The ops POST /send carries (docs/PROTOCOL.md): all but sub, unsub, refresh. */
const SEND_OPS = new Set(['pub', 'dm', 'typing', 'presence', 'ping', 'ack', 'read', 'unread']);

/** The answers of POST /send that are not errors. */
const SEND_ANSWERS = new Set(['ok', 'pong', 'presence', 'unread']);

/** Sender is the up-channel of a link. */
class Sender extends LinkBase {
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

// ---- src/receiver.js ----
// Receiving: what each transport delivers (WebSocket frames, stream
// events, poll answers), checked, applied to the channels' positions
// (new, duplicate, gap), and emitted as messages.



/** Receiver is the down-channel of a link. */
class Receiver extends Sender {
  /**
   * deliver hands one msg on unless it was delivered before.
   * @param {unknown} m
   */
  deliver(m) {
    if (!validMsg(m)) {
      this.report('protocol', 'malformed msg', { data: m });
      return;
    }
    const c = this.channels.get(m.ch);
    if (!c) return; // unsubscribed meanwhile
    const verdict = accept(c, m.seq);
    if (verdict === 'duplicate') {
      this.stats.duplicates++;
      this.statsChanged();
      return;
    }
    if (verdict === 'new') this.stats.delivered++;
    /** @type {Message} */
    const msg = { channel: m.ch, seq: m.seq, epoch: c.epoch, ts: m.ts, data: m.data };
    if (typeof m.from === 'string') msg.from = m.from;
    if (typeof m.conv === 'string') msg.conv = m.conv;
    this.emit('message', msg);
  }

  /**
   * confirm says a channel is subscribed on this connection.
   * @param {Channel} c
   * @param {boolean} recovered
   */
  confirm(c, recovered) {
    c.live = true;
    this.emit('subscribed', { channel: c.name, epoch: c.epoch, seq: c.seq, recovered });
  }

  /**
   * gap reports a gap.
   * @param {Channel} c
   * @param {GapInfo | null} info
   */
  gap(c, info) {
    if (!info) return;
    this.stats.gaps++;
    this.statsChanged();
    this.emit('gap', { channel: c.name, ...info, seq: c.seq });
  }

  /**
   * wsOpened subscribes every channel on a new WebSocket (the personal
   * channel is the server's to join), then sends the queue.
   * @param {Transport} t
   */
  wsOpened(t) {
    for (const c of this.channels.values()) if (c.name !== this.personal) this.wsSubscribe(t, c);
    this.flush();
  }

  /**
   * wsSubscribe sends a sub, from the channel's position.
   * @param {Transport} t
   * @param {Channel} c
   */
  wsSubscribe(t, c) {
    /** @type {Record<string, any>} */
    const m = { op: 'sub', ch: c.name, id: `s${++this.nextId}` };
    if (c.seq != null) {
      m.since = c.seq;
      if (c.epoch != null) m.epoch = c.epoch;
    }
    c.subId = m.id;
    c.live = false;
    t.send(m);
  }

  /**
   * wsFrame handles one WebSocket frame.
   * @param {Transport} t
   * @param {unknown} data
   */
  wsFrame(t, data) {
    const f = frameOp(data);
    if ('error' in f) {
      this.report('protocol', f.error, f.data === undefined ? undefined : { data: f.data });
      return;
    }
    const m = f.m;
    switch (m.op) {
      case 'msg': {
        const c = validMsg(m) && this.channels.get(m.ch);
        // Before the sub reply, messages belong to an older subscription.
        if (c && !c.live) return;
        this.deliver(m);
        return;
      }
      case 'sub':
        this.wsSubReply(m);
        return;
      case 'epoch': {
        const c = this.channels.get(m.ch);
        if (c) adoptEpoch(c, m.epoch);
        return;
      }
      case 'ok':
      case 'pong':
      case 'presence':
      case 'unread':
        this.wsReply(m);
        return;
      case 'err':
        this.wsErr(m);
        return;
      case 'connected':
        this.connectedInfo(m);
        return;
      default:
        this.report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
    }
  }

  /**
   * connectedInfo keeps who the connection is, and its personal channel.
   * @param {Record<string, any>} m
   */
  connectedInfo(m) {
    /** @type {Record<string, any>} */
    const id = {};
    for (const k of ['conn', 'user', 'client', 'personal']) if (typeof m[k] === 'string') id[k] = m[k].slice(0, 128);
    if (isSeq(m.exp)) id.exp = m.exp;
    this.identity = id;
    if (id.personal && id.personal !== this.personal) this.adoptPersonal(id.personal);
    this.emit('identity', id);
  }

  /**
   * adoptPersonal starts keeping the position of the personal channel.
   * @param {string} name
   */
  adoptPersonal(name) {
    if (!/^[A-Za-z0-9_:.@/=+#-]{1,128}$/.test(name)) return;
    this.personal = name;
    if (!this.channels.has(name)) this.channels.set(name, new Channel(name));
    this.emit('personal', name);
  }

  /** @param {Record<string, any>} m */
  wsSubReply(m) {
    const c = this.channels.get(m.ch);
    if (!c) return; // unsubscribed meanwhile
    if (m.id !== undefined && c.subId !== m.id) return; // stale
    if (typeof m.epoch !== 'string' || !isSeq(m.seq)) {
      this.report('protocol', 'malformed sub reply', { channel: m.ch });
      return;
    }
    const resync = m.id === undefined && c.live;
    c.subId = null;
    /** @type {GapInfo | null} */
    let gap;
    if (c.seq == null && c.name === this.personal && m.recovered !== undefined) {
      // The inbox started it after the device's acknowledged position
      // (not at the top the reply names): what follows is all new.
      c.epoch = m.epoch;
      gap = m.recovered === false ? { epoch: m.epoch, previousEpoch: null, since: null, reason: 'history gap' } : null;
    } else {
      gap = startAt(c, m.epoch, m.seq, m.recovered === false);
    }
    this.gap(c, gap);
    if (!resync) this.confirm(c, !gap);
  }

  /** @param {Record<string, any>} m */
  wsReply(m) {
    const p = typeof m.id === 'string' ? this.pending.get(m.id) : undefined;
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m);
  }

  /** @param {Record<string, any>} m */
  wsErr(m) {
    const code = Number.isInteger(m.code) ? m.code : 0;
    const reason = typeof m.reason === 'string' ? m.reason.slice(0, 200) : 'error';
    const p = typeof m.id === 'string' ? this.pending.get(m.id) : undefined;
    if (p) {
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.reject(new CometError(code, reason, 'server'));
      return;
    }
    for (const c of this.channels.values()) {
      if (c.subId == null || c.subId !== m.id) continue;
      c.subId = null;
      if (code === 409) {
        // The server joined it without asking: the personal channel. Its
        // own sub reply confirms it.
        this.adoptPersonal(c.name);
        return;
      }
      this.report('subscribe', `subscribe to ${c.name} failed: ${code} ${reason}`, { channel: c.name, code });
      return;
    }
    this.report('server', `${code} ${reason}`, { code, id: m.id });
  }

  /**
   * streamEvent handles an event of SSE or the iframe: open, msg, epoch,
   * hb or close.
   * @param {Transport & {started?: boolean}} t
   * @param {unknown} value
   */
  streamEvent(t, value) {
    const f = frameOp(value, true);
    if ('error' in f) {
      this.report('protocol', f.error === 'message without op' ? 'event without op' : f.error);
      return;
    }
    const m = f.m;
    switch (m.op) {
      case 'msg':
        if (!t.started) this.report('protocol', 'msg before open');
        else this.deliver(m);
        return;
      case 'open':
        this.streamOpen(t, m);
        return;
      case 'hb':
        return;
      case 'epoch': {
        const c = this.channels.get(m.ch);
        if (c) adoptEpoch(c, m.epoch);
        return;
      }
      case 'close': {
        // The server ends the stream and says why, as a WebSocket close would.
        const code = Number.isInteger(m.code) ? m.code : 0;
        const reason = typeof m.reason === 'string' ? m.reason.slice(0, 200) : '';
        t.fail(closeReason(code, reason), code, t.opened && fatalClose(code));
        return;
      }
      default:
        this.report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
    }
  }

  /**
   * @param {Transport & {started?: boolean}} t
   * @param {Record<string, any>} m
   */
  streamOpen(t, m) {
    const positions = parseCursor(m.cursor);
    if (!positions) {
      this.report('protocol', 'open event with a malformed cursor');
      t.fail('malformed open event');
      return;
    }
    const gaps = gapSet(m.gap);
    t.started = true;
    /** @type {[Channel, boolean][]} */
    const confirmed = [];
    for (const p of positions) {
      const c = this.channelFor(p.channel);
      if (!c) continue;
      const gap = startAt(c, p.epoch, p.seq, gaps.has(p.channel));
      this.gap(c, gap);
      if (!c.live) confirmed.push([c, !gap]);
    }
    t.markOpen();
    for (const [c, ok] of confirmed) this.confirm(c, ok);
  }

  /**
   * channelFor is the channel of a position an HTTP transport returned; a
   * channel the client did not name is the personal one, which the server
   * adds to every request.
   * @param {string} name
   */
  channelFor(name) {
    const c = this.channels.get(name);
    if (c || this.personal) return c;
    this.adoptPersonal(name);
    return this.channels.get(name);
  }

  /**
   * pollAnswer handles one long-poll answer: {cursor, msgs, gap}.
   * @param {Transport} t
   * @param {unknown} raw
   */
  pollAnswer(t, raw) {
    const a = decodePollAnswer(raw);
    if (!a) {
      this.report('protocol', 'malformed poll answer');
      return false;
    }
    /** @type {{c: Channel, seq: number, ok: boolean}[]} */
    const seen = [];
    // The cursor is where the answer ends; its epochs are those of the msgs.
    for (const p of a.positions) {
      const c = this.channelFor(p.channel);
      if (!c) continue;
      const gap = pollAt(c, p.epoch, p.seq, a.gaps.has(p.channel));
      this.gap(c, gap);
      seen.push({ c, seq: p.seq, ok: !gap });
    }
    t.markOpen();
    // Confirmed before the messages, as on the WebSocket (the sub reply,
    // then the replay): a tab attached at the confirmation gets them all.
    for (const s of seen) {
      if (s.c.live || this.channels.get(s.c.name) !== s.c) continue;
      if (s.c.seq == null) {
        const first = a.msgs.find((m) => validMsg(m) && m.ch === s.c.name && m.seq > 0);
        s.c.seq = first ? first.seq - 1 : s.seq;
      }
      this.confirm(s.c, s.ok);
    }
    for (const m of a.msgs) this.deliver(m);
    for (const s of seen) if (this.channels.get(s.c.name) === s.c) s.c.seq = s.seq;
    return true;
  }
}

// ---- src/connection.js ----
// The connection: one logical link to a Comet node, kept up across
// transports. It tries transports in order and falls back, reconnects with
// backoff, resumes every channel from its position, and sends the send
// queue. It serves a Hub (hub.js), which serves the tabs.
//
// States: idle -> connecting -> connected -> disconnected (waiting to
// retry) -> connecting ...; close() -> closed from any state; a close
// code that forbids reconnecting -> closed.



/** Connection is the state machine of one link to the server. */
class Connection extends Receiver {
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

  /** @param {TokenAnswer} answer */
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

// ---- src/hub.js ----
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
class Hub {
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

// ---- src/share.js ----
// Links from a tab to its hub: in the tab itself (share: false), in a
// SharedWorker (one connection for every tab of the origin, alive while
// any tab is), or in a leader tab elected with Web Locks, which relays to
// the other tabs over BroadcastChannel; when the leader closes, the next
// tab in the lock's queue takes over and every tab says hello again.


/**
 * A link: post sends to the hub; the hub's messages come to onMessage.
 * @typedef {{mode: 'local' | 'worker' | 'leader', post: (m: any) => void, close: () => void, leading?: boolean}} Link
 */

/**
 * The callbacks of a link's owner.
 * @typedef {{onMessage: (m: any) => void, onReset: () => void, onDown: (why: string) => void}} LinkOwner
 */

/**
 * locks is the Web Locks API, where there is one.
 * @returns {any}
 */
function locks() {
  const n = /** @type {any} */ (globalThis.navigator);
  return n && n.locks && typeof n.locks.request === 'function' ? n.locks : null;
}

/**
 * holdLock takes an exclusive lock and keeps it until release is called
 * (or the page dies); it resolves once the lock is held.
 * @param {string} name
 * @returns {Promise<() => void>}
 */
function holdLock(name) {
  const l = locks();
  if (!l) return Promise.resolve(() => {});
  return new Promise((granted, failed) => {
    l.request(name, () => new Promise((release) => granted(() => release(undefined)))).catch(failed);
  });
}

/**
 * localLink runs the hub in this tab.
 * @param {LinkOwner} owner
 * @returns {Link}
 */
function localLink(owner) {
  const hub = new Hub();
  let open = true;
  // Microtasks keep the order and the asynchrony of a real port.
  const take = hub.attach((m) => queueMicrotask(() => open && owner.onMessage(m)));
  return {
    mode: 'local',
    post: (m) => queueMicrotask(() => take(m)),
    close() {
      if (!open) return;
      take({ t: 'bye' });
      open = false;
    },
  };
}

/**
 * workerLink connects to the SharedWorker of key (comet.js itself, or
 * workerURL). It throws where a SharedWorker cannot start (none, or a
 * script on another origin), and calls onDown when the worker fails.
 * @param {string | URL} url
 * @param {string} key
 * @param {LinkOwner} owner
 * @returns {Link}
 */
function workerLink(url, key, owner) {
  const W = /** @type {any} */ (globalThis).SharedWorker;
  if (typeof W !== 'function') throw new Error('no SharedWorker');
  const w = new W(url, { type: 'module', name: `comet:${key}` });
  const port = w.port;
  let open = true;
  port.onmessage = (/** @type {MessageEvent} */ e) => open && owner.onMessage(e.data);
  w.onerror = () => open && owner.onDown('the shared worker failed');
  port.start();
  return {
    mode: 'worker',
    post: (m) => open && port.postMessage(m),
    close() {
      if (!open) return;
      port.postMessage({ t: 'bye' });
      open = false;
      port.close();
    },
  };
}

/**
 * leaderLink joins the tabs of key: this tab becomes the leader when it
 * gets the lock, else it talks to the leader over BroadcastChannel.
 * @param {string} key
 * @param {string} tabId
 * @param {LinkOwner} owner
 * @returns {Link}
 */
function leaderLink(key, tabId, owner) {
  const l = locks();
  if (!l || typeof BroadcastChannel !== 'function') throw new Error('no Web Locks or BroadcastChannel');
  const base = `comet:${key}`;
  const all = new BroadcastChannel(`${base}:all`);
  const down = new BroadcastChannel(`${base}:tab:${tabId}`);
  const up = new BroadcastChannel(`${base}:hub`);
  let open = true;
  /** @type {((m: any) => void) | null} */
  let local = null;
  /** @type {BroadcastChannel | null} */
  let hubUp = null;
  /** @type {Map<string, BroadcastChannel>} */
  const downs = new Map();
  /** @type {(() => void) | null} */
  let release = null;
  const ac = new AbortController();

  down.onmessage = (e) => open && owner.onMessage(e.data);
  all.onmessage = (e) => {
    // A new leader: say hello to it (a lost hello, a dead leader's state).
    if (open && e.data && e.data.t === 'leader' && e.data.tab !== tabId) owner.onReset();
  };

  /** @type {Hub | null} */
  let leading = null;
  const lead = () => {
    const hub = new Hub();
    leading = hub;
    /** @type {Map<string, (m: any) => void>} */
    const takes = new Map();
    hubUp = new BroadcastChannel(`${base}:hub`);
    hubUp.onmessage = (e) => {
      const m = e.data;
      if (!m || typeof m.from !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(m.from)) return;
      let take = takes.get(m.from);
      if (!take) {
        const to = new BroadcastChannel(`${base}:tab:${m.from}`);
        downs.set(m.from, to);
        take = hub.attach((x) => to.postMessage(x));
        takes.set(m.from, take);
      }
      take(m);
    };
    local = hub.attach((m) => queueMicrotask(() => open && owner.onMessage(m)));
    all.postMessage({ t: 'leader', tab: tabId });
    owner.onReset(); // this tab's own hello, to its own hub
  };

  l.request(`${base}:leader`, { signal: ac.signal }, () => {
    if (!open) return undefined;
    lead();
    return new Promise((r) => (release = () => r(undefined)));
  }).catch(() => {}); // aborted: the tab closed its client before leading

  return {
    mode: 'leader',
    get leading() {
      return leading !== null;
    },
    post(m) {
      if (!open) return;
      if (local) {
        const take = local;
        queueMicrotask(() => take(m));
      } else {
        up.postMessage({ ...m, from: tabId });
      }
    },
    close() {
      if (!open) return;
      if (leading) leading.close(); // the next tab in the lock's queue leads
      else up.postMessage({ t: 'bye', from: tabId });
      open = false;
      ac.abort();
      if (release) release();
      for (const c of [all, down, up, hubUp, ...downs.values()]) if (c) c.close();
    },
  };
}

// ---- src/subscription.js ----
// A tab's subscriptions: the handlers of a channel and the tab's own
// position in it.


/**
 * Subscription is what subscribe returns: one handler of one channel.
 */
class Subscription {
  /**
   * @param {{position: (ch: string) => {epoch: string | null, seq: number} | null, drop: (s: Subscription) => void}} owner
   * @param {string} channel
   * @param {(msg: Message) => void} handler
   */
  constructor(owner, channel, handler) {
    this._owner = owner;
    /** The channel's name. */
    this.channel = channel;
    /** The handler, called with each message. */
    this.handler = handler;
    /** False once unsubscribed. */
    this.active = true;
    /** @type {(info: {epoch: string | null, seq: number | null, recovered: boolean}) => void} */
    this._resolveReady = () => {};
    /**
     * ready resolves with {epoch, seq, recovered} once the server confirmed
     * the subscription: from then on nothing published on the channel is
     * missed.
     * @type {Promise<{epoch: string | null, seq: number | null, recovered: boolean}>}
     */
    this.ready = new Promise((resolve) => {
      this._resolveReady = resolve;
    });
  }

  /** The channel's position: {epoch, seq} of the last message delivered, or null. */
  get position() {
    return this._owner.position(this.channel);
  }

  /** unsubscribe stops this handler; the channel is left with its last handler. */
  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._owner.drop(this);
  }
}

/**
 * InboxHandler is what inbox returns: one handler of the personal
 * channel's stored deliveries.
 */
class InboxHandler {
  /**
   * @param {(h: InboxHandler) => void} drop
   * @param {(msg: Message) => any} handler
   */
  constructor(drop, handler) {
    this._drop = drop;
    /** The handler, called with each delivery; the delivery is acknowledged once it returned or its promise resolved. */
    this.handler = handler;
    /** False once unsubscribed. */
    this.active = true;
  }

  /** unsubscribe stops this handler. */
  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._drop(this);
  }
}

/**
 * TabChannel is a tab's state for one channel.
 */
class TabChannel {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {Set<Subscription>} */
    this.subs = new Set();
    /** @type {{epoch: string | null, seq: number | null}} */
    this.pos = { epoch: null, seq: null };
    /** The hub started it for this tab. */
    this.live = false;
    /** Subscribed "from now" on purpose: a saved position does not apply. */
    this.fromNow = false;
    /** @type {AckTracker | null} the personal channel's deliveries in the handlers' hands */
    this.acks = null;
    /** @type {{seq: number | null, upto: number | null} | null} the last ack report to the hub */
    this.reported = null;
  }
}

// ---- src/comet.js ----
// Comet: the client an application uses. Each instance has its own
// subscriptions, positions and send queue; the connection itself lives in
// a hub (hub.js) that it shares with the other tabs of the origin, or has
// to itself (share: false).



/**
 * Comet is a client of a Comet node. Nothing happens until connect().
 */
class Comet extends Emitter {
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
   * @param {OutboxEntry} e
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
function createClient(options) {
  return new Comet(options);
}

// ---- src/worker.js ----
// The SharedWorker side: comet.js loaded as a module SharedWorker named
// "comet:..." runs one hub for every tab that connects to it.


/**
 * inCometWorker reports whether this script runs as Comet's SharedWorker.
 */
function inCometWorker() {
  const g = /** @type {any} */ (globalThis);
  return typeof g.SharedWorkerGlobalScope === 'function' && g instanceof g.SharedWorkerGlobalScope && String(g.name).startsWith('comet:');
}

/**
 * startWorker serves the tabs that connect to this SharedWorker with one
 * hub (one connection).
 */
function startWorker() {
  const g = /** @type {any} */ (globalThis);
  const hub = new Hub();
  g.addEventListener('connect', (/** @type {MessageEvent} */ e) => {
    const port = e.ports[0];
    const take = hub.attach((m) => port.postMessage(m));
    port.onmessage = (ev) => take(ev.data);
    port.start();
  });
}

// ---- src/index.js ----
/*!
 * comet.js: the browser client of the Comet push server.
 *
 * A dependency-free ES module. It speaks the wire protocol of
 * docs/PROTOCOL.md over WebSocket, Server-Sent Events, long-poll and an
 * iframe forever-frame, falls back from one to the next, reconnects with
 * backoff and full jitter, resumes every channel from the last seq it
 * delivered (nothing lost, nothing twice), shares one connection between
 * the tabs of an origin, and keeps what is published offline until it is
 * sent, exactly once. On a node with an inbox it sends direct messages,
 * moves read markers, counts unread messages, and acknowledges what the
 * application's handlers finished. See docs/CLIENT.md.
 *
 *   import { Comet } from '/comet.js';
 *   const comet = new Comet();
 *   comet.subscribe('room:lobby', (msg) => console.log(msg.seq, msg.data));
 *   comet.connect();
 *   const seq = await comet.publish('room:lobby', { text: 'hi' });
 *   comet.inbox(async (msg) => show(msg.conv, msg.from, msg.data));
 *   await comet.dm('bob', { text: 'hello' });
 */


/** VERSION is the version of this client. */
export const VERSION = '0.3.0';

// Loaded as Comet's SharedWorker, this module serves the tabs.
if (inCometWorker()) startWorker();

export { Comet, createClient, CometError, DEFAULTS, TRANSPORTS, Subscription, InboxHandler, parseCursor, dmConversation, dmPeer };
export default Comet;
