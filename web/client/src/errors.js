// @ts-check
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
export class CometError extends Error {
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
export function errorFromJSON(e) {
  const kind = /** @type {any} */ (typeof e.kind === 'string' ? e.kind : undefined);
  return new CometError(Number.isInteger(e.code) ? Number(e.code) : 0, String(e.message || 'error'), kind);
}

/**
 * errorToJSON is what errorFromJSON reads.
 * @param {any} err
 * @returns {{code: number, message: string, kind: string}}
 */
export function errorToJSON(err) {
  if (err instanceof CometError) return { code: err.code, message: err.message, kind: err.kind };
  return { code: 0, message: String(err && err.message ? err.message : err), kind: 'lost' };
}

// Codes 4000-4499 mean "reconnect", 4500-4999 "do not" (PROTOCOL.md).
/**
 * fatalClose reports whether a close code forbids reconnecting: a client
 * bug (1002, 1003, 1007) or a refusal (4500-4999).
 * @param {number | undefined} code
 */
export function fatalClose(code) {
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
export function needsToken(code) {
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
export function closeReason(code, reason) {
  return (code !== undefined && CLOSE_REASONS[code]) || reason || `closed (${code})`;
}
