// @ts-check
// Links from a tab to its hub: in the tab itself (share: false), in a
// SharedWorker (one connection for every tab of the origin, alive while
// any tab is), or in a leader tab elected with Web Locks, which relays to
// the other tabs over BroadcastChannel; when the leader closes, the next
// tab in the lock's queue takes over and every tab says hello again.

import { Hub } from './hub.js';

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
export function locks() {
  const n = /** @type {any} */ (globalThis.navigator);
  return n && n.locks && typeof n.locks.request === 'function' ? n.locks : null;
}

/**
 * holdLock takes an exclusive lock and keeps it until release is called
 * (or the page dies); it resolves once the lock is held.
 * @param {string} name
 * @returns {Promise<() => void>}
 */
export function holdLock(name) {
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
export function localLink(owner) {
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
export function workerLink(url, key, owner) {
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
export function leaderLink(key, tabId, owner) {
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
