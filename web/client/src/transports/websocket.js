// @ts-check
// WebSocket: GET /ws, one JSON object per text frame, both ways.

import { Transport } from './base.js';
import { closeReason, fatalClose } from '../errors.js';

/**
 * WebSocketTransport is the full-duplex transport. Browsers cannot send
 * WebSocket pings, so it sends {"op":"ping"} after pingInterval without
 * traffic and fails when nothing answers within pongTimeout.
 */
export class WebSocketTransport extends Transport {
  open() {
    const u = this.conn.endpoint('ws', this.conn.wsConnectParams());
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(u.href);
    this.ws = ws;
    ws.onopen = () => {
      if (this.dead) return;
      this.lastRx = Date.now();
      this.markOpen();
      this.conn.wsOpened(this);
      this.heartbeat();
    };
    ws.onmessage = (ev) => {
      if (this.dead) return;
      this.lastRx = Date.now();
      this.conn.wsFrame(this, ev.data);
    };
    ws.onclose = (ev) => {
      this.fail(closeReason(ev.code, ev.reason), ev.code, this.opened && fatalClose(ev.code));
    };
    ws.onerror = () => {}; // a close follows
  }

  /** @param {Record<string, any>} msg */
  send(msg) {
    if (!this.ws) throw new Error('comet: not open');
    this.ws.send(JSON.stringify(msg));
  }

  heartbeat() {
    const { pingInterval, pongTimeout } = this.conn.options;
    const tick = () => {
      if (this.dead) return;
      const idle = Date.now() - this.lastRx;
      if (idle < pingInterval) {
        this.hbTimer = setTimeout(tick, pingInterval - idle);
        return;
      }
      const sent = Date.now();
      try {
        this.send({ op: 'ping', id: 'hb' });
      } catch {
        // the close event follows
      }
      this.hbTimer = setTimeout(() => {
        if (this.dead) return;
        if (this.lastRx < sent) this.fail('heartbeat timeout: no pong from the server');
        else tick();
      }, pongTimeout);
    };
    this.hbTimer = setTimeout(tick, pingInterval);
  }

  /**
   * @param {import('../link.js').Channel[]} added
   * @param {import('../link.js').Channel[]} removed
   */
  channelsChanged(added, removed) {
    for (const c of added) this.conn.wsSubscribe(this, c);
    for (const c of removed) {
      try {
        this.send({ op: 'unsub', ch: c.name });
      } catch {
        // the close event follows
      }
    }
  }

  teardown() {
    clearTimeout(this.hbTimer);
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    try {
      if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000);
    } catch {
      // already closed
    }
  }
}
