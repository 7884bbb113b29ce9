// @ts-check
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
 * @property {boolean | 'session' | import('./store.js').PositionStore} [persist] keep positions across reloads: true or 'session' (sessionStorage), or a store
 * @property {string} [persistKey] the storage key of persisted positions
 * @property {string | false | null} [device] the device id for the inbox (sent as device=; a token's client claim wins): null makes one per browser, kept in localStorage; false sends none
 * @property {string} [deviceKey] the localStorage key of the device id
 * @property {boolean} [debug] log to console.debug
 */

/** Default options; see docs/CLIENT.md for each. */
export const DEFAULTS = Object.freeze({
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
  persist: /** @type {boolean | 'session' | import('./store.js').PositionStore} */ (false),
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
export function wireOptions(o) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'getToken' || k === 'persist' || k === 'workerURL') continue;
    if (v === undefined || typeof v === 'function') continue;
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}
