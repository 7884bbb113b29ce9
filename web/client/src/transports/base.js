// @ts-check
// What every transport shares: the open/dead life cycle, failing once, and
// the watchdog that fails a connection that went silent.

/** @typedef {import('../connection.js').Connection} Connection */

/**
 * How a transport ended: `fatal` forbids reconnecting.
 * @typedef {{reason: string, code?: number, fatal?: boolean, retryAfter?: number}} CloseInfo
 */

/**
 * Transport is one attempt at a connection over one transport. It ends
 * once: fail() tells the connection, close() (the connection asked) does
 * not.
 */
export class Transport {
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
   * @param {import('../link.js').Channel[]} added
   * @param {import('../link.js').Channel[]} removed
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
export function errMessage(err) {
  return err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
}
