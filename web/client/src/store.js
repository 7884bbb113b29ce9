// @ts-check
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
export function storageStore(key, area) {
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
export function memoryStore() {
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
export function sanitize(v) {
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
export class Saver {
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
