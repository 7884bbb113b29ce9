// @ts-check
// The transports by name, and which ones this environment can run.

import { WebSocketTransport } from './websocket.js';
import { SSETransport } from './sse.js';
import { PollTransport } from './poll.js';
import { IframeTransport } from './iframe.js';

/** Transport names, in the default fallback order. */
export const TRANSPORTS = Object.freeze(['websocket', 'sse', 'poll', 'iframe']);

/** @type {Record<string, string>} */
const ALIASES = {
  websocket: 'websocket', ws: 'websocket',
  sse: 'sse', eventsource: 'sse',
  poll: 'poll', longpoll: 'poll', 'long-poll': 'poll',
  iframe: 'iframe', 'forever-frame': 'iframe',
};

/** The implementation of each transport. */
export const IMPLS = { websocket: WebSocketTransport, sse: SSETransport, poll: PollTransport, iframe: IframeTransport };

/**
 * transportName returns the canonical name of a transport (aliases such as
 * 'ws' and 'long-poll' accepted), or throws a TypeError.
 * @param {unknown} name
 * @returns {'websocket' | 'sse' | 'poll' | 'iframe'}
 */
export function transportName(name) {
  const n = ALIASES[String(name).toLowerCase()];
  if (!n) throw new TypeError(`comet: unknown transport ${name}`);
  return /** @type {any} */ (n);
}

/**
 * supported reports whether this environment (a page, a worker) can run a
 * transport.
 * @param {string} name
 */
export function supported(name) {
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
