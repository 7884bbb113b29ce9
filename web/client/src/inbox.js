// @ts-check
// The inbox's rules on the client (docs/INBOX.md): what a personal
// channel's delivery may be acknowledged at, conversation ids, and the
// device id. A delivery is acknowledged only once the application's
// handlers finished with it (returned, or their promises resolved), and
// acknowledgements are cumulative, so the position a tab may acknowledge
// is the last seq before its oldest delivery still in the handlers' hands.

/** A user id: 1-128 bytes of the channel-name set (docs/AUTH.md). */
export const USER_RE = /^[A-Za-z0-9_:.@/=+#-]{1,128}$/;

/** The longest user id a DM may name (its conversation id fits 128 bytes). */
export const DM_MAX_USER = 60;

/**
 * dmConversation names the DM between users a and b as the server does:
 * "dm:" + the length of the first + ":" + first + ":" + second, the two
 * ids in byte order (user ids are ASCII, so string order is byte order).
 * @param {string} a
 * @param {string} b
 */
export function dmConversation(a, b) {
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
export function dmPeer(conv, me) {
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
export class AckTracker {
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
export class TabAcks {
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
export function ackLimit(tabs) {
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
export function deviceID(key, make) {
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
