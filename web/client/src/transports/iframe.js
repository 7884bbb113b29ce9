// @ts-check
// The iframe forever-frame: GET /iframe, a hidden frame whose script
// elements hand each event to this page. On Comet's own origin each
// script calls a callback; on another origin the server posts each event
// to this page's origin, and only messages from the frame's window and
// Comet's origin are read.

import { HTTPTransport } from './http.js';
import { isObj } from '../protocol.js';

let frames = 0;

/**
 * IframeTransport is the transport of last resort. The frame is added
 * only once the page has loaded: a frame that never finishes loading would
 * otherwise hold the page's own load event (and its spinner) forever.
 */
export class IframeTransport extends HTTPTransport {
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
