// Direct messages in the demo: the user's inbox (docs/INBOX.md) through
// comet.js. Each DM conversation ("dm:<len>:<a>:<b>") is a view like a
// room. Messages come from the inbox handler (acknowledged for this
// browser's device once handled, so a reload gets only what it has not
// handled), unread counts from the node (unread, and read events from the
// user's other devices), and "seen" receipts from the other participant.
// What was shown is kept in localStorage, next to the device id: every
// tab of this browser shows the same conversations.
import { dmConversation, dmPeer } from './comet.js';
import * as saved from './history.js';

const USER_RE = /^[A-Za-z0-9_.-]{1,60}$/;

/**
 * DirectMessages keeps the DM conversations of the signed-in user. ui
 * is what it needs of the page: the user's name, whether a conversation
 * is on screen, and what to call when something changed.
 */
export class DirectMessages {
  constructor(ui) {
    this.ui = ui;
    this.client = null;
    this.served = false; // the node keeps an inbox (learned from the first unread answer)
    this.convs = new Map(); // conversation id -> conversation
    for (const c of saved.loadDMs(ui.me)) this.convs.set(c.key, this.make(c.key, c));
  }

  // make builds a conversation view (kind 'dm').
  make(key, kept = {}) {
    const peer = dmPeer(key, this.ui.me) || key;
    return {
      kind: 'dm', key, peer, ready: true,
      msgs: Array.isArray(kept.msgs) ? kept.msgs : [],
      unread: 0,
      seenUpTo: Number.isSafeInteger(kept.seenUpTo) ? kept.seenUpTo : 0,
      typing: new Map(),
    };
  }

  // start registers the inbox handler (before connect: what the node
  // replays at connect is handled too) and the receipts.
  start(client) {
    this.client = client;
    client.inbox((msg) => this.receive(msg));
    client.on('read', ({ conv, unread }) => {
      const c = this.convs.get(conv);
      if (!c) return;
      c.unread = unread; // read on another device of this user
      this.ui.changed(c);
    });
    client.on('seen', ({ conv, ts }) => this.seen(conv, ts));
  }

  // connected asks the node for the unread counts; it also says whether
  // the node keeps an inbox at all (501: it does not).
  async connected() {
    let u;
    try {
      u = await this.client.unread();
    } catch (err) {
      if (err.code === 501 || err.code === 403) this.setServed(false);
      return;
    }
    this.setServed(true);
    for (const r of u.convs) {
      if (!dmPeer(r.conv, this.ui.me)) continue;
      const c = this.get(r.conv);
      c.unread = this.ui.isActive(c) ? 0 : r.unread;
      c.last = r.last;
    }
    for (const c of this.convs.values()) {
      if (this.ui.isActive(c)) this.markRead(c);
    }
    this.ui.changed(null);
  }

  setServed(on) {
    if (this.served === on) return;
    this.served = on;
    this.ui.changed(null);
  }

  // get returns the conversation of id key, made on first use.
  get(key) {
    let c = this.convs.get(key);
    if (!c) {
      c = this.make(key);
      this.convs.set(key, c);
    }
    return c;
  }

  // open returns the conversation with user peer.
  open(peer) {
    if (!USER_RE.test(peer) || peer === this.ui.me) return null;
    return this.get(dmConversation(this.ui.me, peer));
  }

  // receive is the inbox handler: a stored message of the user's log.
  receive(msg) {
    if (typeof msg.conv !== 'string' || !dmPeer(msg.conv, this.ui.me)) return;
    const c = this.get(msg.conv);
    if (c.msgs.some((m) => m.seq === msg.seq)) return; // shown already (sent from here, or kept)
    const d = msg.data;
    const from = msg.from || '?';
    const m = {
      kind: 'msg', seq: msg.seq, ts: msg.ts, from,
      text: d && typeof d.text === 'string' ? d.text : JSON.stringify(d),
      mine: from === this.ui.me,
    };
    insert(c.msgs, m);
    if (!m.mine) {
      if (this.ui.isActive(c) && this.ui.visible()) this.markRead(c);
      else c.unread++;
    }
    this.saveSoon();
    this.ui.appended(c, m);
  }

  // send sends text to the conversation's peer: queued while offline,
  // sent exactly once. The answer's seq is the message's in this user's
  // log (the one a replay would bring).
  async send(c, text) {
    const seq = await this.client.dm(c.peer, { text });
    if (!c.msgs.some((m) => m.seq === seq)) {
      const m = { kind: 'msg', seq, ts: Date.now(), from: this.ui.me, text, mine: true };
      insert(c.msgs, m);
      this.saveSoon();
      this.ui.appended(c, m);
    }
    return seq;
  }

  // markRead moves the read marker to the last message of the
  // conversation (the peer's devices then show "seen").
  markRead(c) {
    const last = Math.max(c.last || 0, ...c.msgs.map((m) => m.seq || 0));
    c.unread = 0;
    this.ui.changed(c);
    if (!last || !this.client || !this.served) return;
    this.client.read(c.key, last).then(
      (r) => {
        c.unread = r.unread;
        this.ui.changed(c);
      },
      () => {}, // offline: read again when connected
    );
  }

  // seen: the peer read the conversation up to the entry of time ts. An
  // entry's time is the same in both logs, so the conversation's last
  // entry in this user's log says whether the peer caught up with it.
  async seen(key, ts) {
    const c = this.convs.get(key);
    if (!c) return;
    let cursor;
    for (let page = 0; page < 10; page++) {
      let u;
      try {
        u = await this.client.unread(cursor ? { conv: cursor } : {});
      } catch {
        return;
      }
      const r = u.convs.find((x) => x.conv === key);
      if (r) {
        if (ts >= r.ts && r.last > c.seenUpTo) {
          c.seenUpTo = r.last;
          this.saveSoon();
          this.ui.changed(c);
        }
        return;
      }
      if (!u.next) return;
      cursor = u.next;
    }
  }

  // unreadTotal is the sum of the conversations' unread counts.
  unreadTotal() {
    let n = 0;
    for (const c of this.convs.values()) n += c.unread;
    return n;
  }

  saveSoon() {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.save(), 300);
  }

  save() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    saved.saveDMs(this.ui.me, this.convs.values());
  }
}

// insert adds m to msgs in seq order (a replay may bring an older one).
function insert(msgs, m) {
  let i = msgs.length;
  while (i > 0 && msgs[i - 1].seq > m.seq) i--;
  msgs.splice(i, 0, m);
  if (msgs.length > 500) msgs.splice(0, msgs.length - 500);
}
