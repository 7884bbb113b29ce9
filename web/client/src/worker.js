// @ts-check
// The SharedWorker side: comet.js loaded as a module SharedWorker named
// "comet:..." runs one hub for every tab that connects to it.

import { Hub } from './hub.js';

/**
 * inCometWorker reports whether this script runs as Comet's SharedWorker.
 */
export function inCometWorker() {
  const g = /** @type {any} */ (globalThis);
  return typeof g.SharedWorkerGlobalScope === 'function' && g instanceof g.SharedWorkerGlobalScope && String(g.name).startsWith('comet:');
}

/**
 * startWorker serves the tabs that connect to this SharedWorker with one
 * hub (one connection).
 */
export function startWorker() {
  const g = /** @type {any} */ (globalThis);
  const hub = new Hub();
  g.addEventListener('connect', (/** @type {MessageEvent} */ e) => {
    const port = e.ports[0];
    const take = hub.attach((m) => port.postMessage(m));
    port.onmessage = (ev) => take(ev.data);
    port.start();
  });
}
