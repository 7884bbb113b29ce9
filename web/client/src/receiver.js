// @ts-check
// Receiving: what each transport delivers (WebSocket frames, stream
// events, poll answers), checked, applied to the channels' positions
// (new, duplicate, gap), and emitted as messages.

import { CometError, closeReason, fatalClose } from './errors.js';
import { accept, adoptEpoch, pollAt, startAt } from './positions.js';
import { decodePollAnswer, frameOp, gapSet, isSeq, parseCursor, validMsg } from './protocol.js';
import { Channel } from './link.js';
import { Sender } from './sender.js';

/** @typedef {import('./transports/base.js').Transport} Transport */
/** @typedef {import('./link.js').Message} Message */

/** Receiver is the down-channel of a link. */
export class Receiver extends Sender {
  /**
   * deliver hands one msg on unless it was delivered before.
   * @param {unknown} m
   */
  deliver(m) {
    if (!validMsg(m)) {
      this.report('protocol', 'malformed msg', { data: m });
      return;
    }
    const c = this.channels.get(m.ch);
    if (!c) return; // unsubscribed meanwhile
    const verdict = accept(c, m.seq);
    if (verdict === 'duplicate') {
      this.stats.duplicates++;
      this.statsChanged();
      return;
    }
    if (verdict === 'new') this.stats.delivered++;
    /** @type {Message} */
    const msg = { channel: m.ch, seq: m.seq, epoch: c.epoch, ts: m.ts, data: m.data };
    if (typeof m.from === 'string') msg.from = m.from;
    if (typeof m.conv === 'string') msg.conv = m.conv;
    this.emit('message', msg);
  }

  /**
   * confirm says a channel is subscribed on this connection.
   * @param {Channel} c
   * @param {boolean} recovered
   */
  confirm(c, recovered) {
    c.live = true;
    this.emit('subscribed', { channel: c.name, epoch: c.epoch, seq: c.seq, recovered });
  }

  /**
   * gap reports a gap.
   * @param {Channel} c
   * @param {import('./positions.js').GapInfo | null} info
   */
  gap(c, info) {
    if (!info) return;
    this.stats.gaps++;
    this.statsChanged();
    this.emit('gap', { channel: c.name, ...info, seq: c.seq });
  }

  /**
   * wsOpened subscribes every channel on a new WebSocket (the personal
   * channel is the server's to join), then sends the queue.
   * @param {Transport} t
   */
  wsOpened(t) {
    for (const c of this.channels.values()) if (c.name !== this.personal) this.wsSubscribe(t, c);
    this.flush();
  }

  /**
   * wsSubscribe sends a sub, from the channel's position.
   * @param {Transport} t
   * @param {Channel} c
   */
  wsSubscribe(t, c) {
    /** @type {Record<string, any>} */
    const m = { op: 'sub', ch: c.name, id: `s${++this.nextId}` };
    if (c.seq != null) {
      m.since = c.seq;
      if (c.epoch != null) m.epoch = c.epoch;
    }
    c.subId = m.id;
    c.live = false;
    t.send(m);
  }

  /**
   * wsFrame handles one WebSocket frame.
   * @param {Transport} t
   * @param {unknown} data
   */
  wsFrame(t, data) {
    const f = frameOp(data);
    if ('error' in f) {
      this.report('protocol', f.error, f.data === undefined ? undefined : { data: f.data });
      return;
    }
    const m = f.m;
    switch (m.op) {
      case 'msg': {
        const c = validMsg(m) && this.channels.get(m.ch);
        // Before the sub reply, messages belong to an older subscription.
        if (c && !c.live) return;
        this.deliver(m);
        return;
      }
      case 'sub':
        this.wsSubReply(m);
        return;
      case 'epoch': {
        const c = this.channels.get(m.ch);
        if (c) adoptEpoch(c, m.epoch);
        return;
      }
      case 'ok':
      case 'pong':
      case 'presence':
      case 'unread':
        this.wsReply(m);
        return;
      case 'err':
        this.wsErr(m);
        return;
      case 'connected':
        this.connectedInfo(m);
        return;
      default:
        this.report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
    }
  }

  /**
   * connectedInfo keeps who the connection is, and its personal channel.
   * @param {Record<string, any>} m
   */
  connectedInfo(m) {
    /** @type {Record<string, any>} */
    const id = {};
    for (const k of ['conn', 'user', 'client', 'personal']) if (typeof m[k] === 'string') id[k] = m[k].slice(0, 128);
    if (isSeq(m.exp)) id.exp = m.exp;
    this.identity = id;
    if (id.personal && id.personal !== this.personal) this.adoptPersonal(id.personal);
    this.emit('identity', id);
  }

  /**
   * adoptPersonal starts keeping the position of the personal channel.
   * @param {string} name
   */
  adoptPersonal(name) {
    if (!/^[A-Za-z0-9_:.@/=+#-]{1,128}$/.test(name)) return;
    this.personal = name;
    if (!this.channels.has(name)) this.channels.set(name, new Channel(name));
    this.emit('personal', name);
  }

  /** @param {Record<string, any>} m */
  wsSubReply(m) {
    const c = this.channels.get(m.ch);
    if (!c) return; // unsubscribed meanwhile
    if (m.id !== undefined && c.subId !== m.id) return; // stale
    if (typeof m.epoch !== 'string' || !isSeq(m.seq)) {
      this.report('protocol', 'malformed sub reply', { channel: m.ch });
      return;
    }
    const resync = m.id === undefined && c.live;
    c.subId = null;
    /** @type {import('./positions.js').GapInfo | null} */
    let gap;
    if (c.seq == null && c.name === this.personal && m.recovered !== undefined) {
      // The inbox started it after the device's acknowledged position
      // (not at the top the reply names): what follows is all new.
      c.epoch = m.epoch;
      gap = m.recovered === false ? { epoch: m.epoch, previousEpoch: null, since: null, reason: 'history gap' } : null;
    } else {
      gap = startAt(c, m.epoch, m.seq, m.recovered === false);
    }
    this.gap(c, gap);
    if (!resync) this.confirm(c, !gap);
  }

  /** @param {Record<string, any>} m */
  wsReply(m) {
    const p = typeof m.id === 'string' ? this.pending.get(m.id) : undefined;
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m);
  }

  /** @param {Record<string, any>} m */
  wsErr(m) {
    const code = Number.isInteger(m.code) ? m.code : 0;
    const reason = typeof m.reason === 'string' ? m.reason.slice(0, 200) : 'error';
    const p = typeof m.id === 'string' ? this.pending.get(m.id) : undefined;
    if (p) {
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.reject(new CometError(code, reason, 'server'));
      return;
    }
    for (const c of this.channels.values()) {
      if (c.subId == null || c.subId !== m.id) continue;
      c.subId = null;
      if (code === 409) {
        // The server joined it without asking: the personal channel. Its
        // own sub reply confirms it.
        this.adoptPersonal(c.name);
        return;
      }
      this.report('subscribe', `subscribe to ${c.name} failed: ${code} ${reason}`, { channel: c.name, code });
      return;
    }
    this.report('server', `${code} ${reason}`, { code, id: m.id });
  }

  /**
   * streamEvent handles an event of SSE or the iframe: open, msg, epoch,
   * hb or close.
   * @param {Transport & {started?: boolean}} t
   * @param {unknown} value
   */
  streamEvent(t, value) {
    const f = frameOp(value, true);
    if ('error' in f) {
      this.report('protocol', f.error === 'message without op' ? 'event without op' : f.error);
      return;
    }
    const m = f.m;
    switch (m.op) {
      case 'msg':
        if (!t.started) this.report('protocol', 'msg before open');
        else this.deliver(m);
        return;
      case 'open':
        this.streamOpen(t, m);
        return;
      case 'hb':
        return;
      case 'epoch': {
        const c = this.channels.get(m.ch);
        if (c) adoptEpoch(c, m.epoch);
        return;
      }
      case 'close': {
        // The server ends the stream and says why, as a WebSocket close would.
        const code = Number.isInteger(m.code) ? m.code : 0;
        const reason = typeof m.reason === 'string' ? m.reason.slice(0, 200) : '';
        t.fail(closeReason(code, reason), code, t.opened && fatalClose(code));
        return;
      }
      default:
        this.report('protocol', `unknown op ${JSON.stringify(m.op).slice(0, 40)}`);
    }
  }

  /**
   * @param {Transport & {started?: boolean}} t
   * @param {Record<string, any>} m
   */
  streamOpen(t, m) {
    const positions = parseCursor(m.cursor);
    if (!positions) {
      this.report('protocol', 'open event with a malformed cursor');
      t.fail('malformed open event');
      return;
    }
    const gaps = gapSet(m.gap);
    t.started = true;
    /** @type {[Channel, boolean][]} */
    const confirmed = [];
    for (const p of positions) {
      const c = this.channelFor(p.channel);
      if (!c) continue;
      const gap = startAt(c, p.epoch, p.seq, gaps.has(p.channel));
      this.gap(c, gap);
      if (!c.live) confirmed.push([c, !gap]);
    }
    t.markOpen();
    for (const [c, ok] of confirmed) this.confirm(c, ok);
  }

  /**
   * channelFor is the channel of a position an HTTP transport returned; a
   * channel the client did not name is the personal one, which the server
   * adds to every request.
   * @param {string} name
   */
  channelFor(name) {
    const c = this.channels.get(name);
    if (c || this.personal) return c;
    this.adoptPersonal(name);
    return this.channels.get(name);
  }

  /**
   * pollAnswer handles one long-poll answer: {cursor, msgs, gap}.
   * @param {Transport} t
   * @param {unknown} raw
   */
  pollAnswer(t, raw) {
    const a = decodePollAnswer(raw);
    if (!a) {
      this.report('protocol', 'malformed poll answer');
      return false;
    }
    /** @type {{c: Channel, seq: number, ok: boolean}[]} */
    const seen = [];
    // The cursor is where the answer ends; its epochs are those of the msgs.
    for (const p of a.positions) {
      const c = this.channelFor(p.channel);
      if (!c) continue;
      const gap = pollAt(c, p.epoch, p.seq, a.gaps.has(p.channel));
      this.gap(c, gap);
      seen.push({ c, seq: p.seq, ok: !gap });
    }
    t.markOpen();
    // Confirmed before the messages, as on the WebSocket (the sub reply,
    // then the replay): a tab attached at the confirmation gets them all.
    for (const s of seen) {
      if (s.c.live || this.channels.get(s.c.name) !== s.c) continue;
      if (s.c.seq == null) {
        const first = a.msgs.find((m) => validMsg(m) && m.ch === s.c.name && m.seq > 0);
        s.c.seq = first ? first.seq - 1 : s.seq;
      }
      this.confirm(s.c, s.ok);
    }
    for (const m of a.msgs) this.deliver(m);
    for (const s of seen) if (this.channels.get(s.c.name) === s.c) s.c.seq = s.seq;
    return true;
  }
}
