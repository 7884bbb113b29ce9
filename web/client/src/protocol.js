// @ts-check
// Decoding what the server sends (docs/PROTOCOL.md): nothing from the
// network is trusted; every shape is checked before the client acts on it.

/** A channel name: 1-128 bytes of [A-Za-z0-9_:.@/=+#-] (PROTOCOL.md). */
export const CHANNEL_RE = /^[A-Za-z0-9_:.@/=+#-]{1,128}$/;

/**
 * validChannel reports whether name is a channel name.
 * @param {unknown} name
 * @returns {name is string}
 */
export function validChannel(name) {
  return typeof name === 'string' && CHANNEL_RE.test(name);
}

/**
 * isObj reports whether x is a plain JSON object (not an array, not null).
 * @param {unknown} x
 * @returns {x is Record<string, any>}
 */
export function isObj(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * isSeq reports whether x is a sequence number: a safe integer >= 0.
 * @param {unknown} x
 * @returns {x is number}
 */
export function isSeq(x) {
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
export function parseCursor(cursor) {
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
export function positionParam(name, epoch, seq) {
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
export function validMsg(m) {
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
export function parseJSON(text) {
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
export function decodePollAnswer(a) {
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
export function gapSet(gap) {
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
export function decodePresence(m) {
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
export function presenceEntry(c) {
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
export function decodeUnread(m) {
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
export function randomKey(n) {
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
export function frameOp(data, parsed = false) {
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
