// The Comet web IM demo: rooms are channels "room:NAME"; messages are
// published as {text} (plus {from} for nodes without identity). Direct
// messages go through the user's inbox (dm.js). Everything goes through
// comet.js: sign-in by name with demo tokens, one connection shared by
// every tab, history after a reload, who is online, a typing indicator,
// unread badges, "seen" receipts, and messages sent while offline shown
// as pending until sent.
//
// URL parameters (handy for demos and tests): name=alice, room=lobby,dev
// (joined at start), dm=bob (a conversation opened at start),
// transport=websocket|sse|poll|iframe (forced), share=off (a connection of
// its own), debug.
import { Comet } from './comet.js';
import { DirectMessages } from './dm.js';
import * as saved from './history.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ROOM_RE = /^[A-Za-z0-9_-]{1,40}$/;
const NAME_RE = /^[A-Za-z0-9_.-]{1,24}$/;
const TRANSPORT_NAMES = { websocket: 'WebSocket', sse: 'SSE', poll: 'Long-poll', iframe: 'iframe' };
const TYPING_SHOWN = 3000; // ms a typing signal is shown
const TYPING_EVERY = 2000; // ms between the signals this window sends

const state = {
  name: '',
  identity: false, // the node signs names (demo tokens): deliveries carry a trusted "from"
  rooms: new Map(), // name -> {kind: 'room', sub, msgs, unread, ready, online: Map, typing: Map}
  active: null, // the room or DM conversation on screen
  lastTyping: 0,
};
let client = null;
let dms = null; // DirectMessages, on a node with identity
const events = []; // every client event, newest last (window.demo.events)

/* ---------------- sign-in ---------------- */

// demoToken asks the node for a token for the name (demo mode), or says
// the node has no identity (null).
async function demoToken(name) {
  const res = await fetch(`/demo/token?user=${encodeURIComponent(name)}`, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET /demo/token: HTTP ${res.status}`);
  const body = await res.json();
  if (!body || typeof body.token !== 'string') throw new Error('GET /demo/token: no token');
  return { token: body.token, exp: body.exp };
}

async function signIn(name) {
  state.name = name;
  sessionStorage.setItem('comet-demo-name', name);
  localStorage.setItem('comet-demo-name', name);
  $('me-name').textContent = name;
  const av = $('me-avatar');
  av.textContent = [...name][0]?.toUpperCase() || '?';
  av.style.background = color(name);
  let first = null;
  try {
    first = await demoToken(name);
  } catch (err) {
    log(`sign-in: ${err.message}`, 'err');
  }
  state.identity = first !== null;
  const share = params.get('share') === 'off' ? false : 'auto';
  client = new Comet({
    transport: params.get('transport') || null,
    share,
    shareKey: name, // tabs signed in as someone else get their own connection
    getToken: state.identity ? () => (first ? Promise.resolve(first).finally(() => (first = null)) : demoToken(name)) : null,
    debug: params.has('debug'),
  });
  wire(client);
  if (state.identity) {
    dms = new DirectMessages(dmUI);
    dms.start(client); // before connect: the inbox replays at once
    window.demo.dms = dms;
  }
  const rooms = (params.get('room') || 'lobby').split(',').filter((r) => ROOM_RE.test(r));
  for (const r of rooms) join(r, false);
  const peer = params.get('dm');
  if (dms && peer) openDM(peer);
  else if (rooms.length) show(state.rooms.get(rooms[0]));
  renderSidebar();
  renderHead();
  client.connect();
  window.demo.client = client;
}

function askName() {
  $('login').hidden = false;
  const input = $('login-name');
  input.value = localStorage.getItem('comet-demo-name') || '';
  input.focus();
  input.select();
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('login-name').value.trim();
  if (!NAME_RE.test(name)) {
    $('login-name').setCustomValidity('1 to 24 letters, digits, . - or _');
    $('login-name').reportValidity();
    return;
  }
  $('login').hidden = true;
  signIn(name);
});
$('login-name').addEventListener('input', (ev) => ev.target.setCustomValidity(''));
$('rename').addEventListener('click', () => {
  // Another name is another user: another connection, another history.
  const u = new URL(location.href);
  u.searchParams.delete('name');
  u.searchParams.delete('dm');
  sessionStorage.removeItem('comet-demo-name');
  location.href = u.href;
});

/* ---------------- connection status ---------------- */

function wire(c) {
  for (const ev of ['state', 'connecting', 'connected', 'disconnected', 'fallback', 'gap', 'error', 'subscribed', 'identity', 'read', 'seen']) {
    c.on(ev, (arg) => {
      events.push({ ev, ...arg, at: Date.now() });
      if (events.length > 500) events.shift();
    });
  }
  c.on('connecting', ({ transport }) => setStatus('connecting', `Connecting · ${TRANSPORT_NAMES[transport]}…`));
  c.on('connected', ({ transport }) => {
    setStatus('connected', `Connected · ${TRANSPORT_NAMES[transport]}`);
    log(`connected over ${TRANSPORT_NAMES[transport]}${c.shared && c.shared !== 'local' ? ` (shared: ${c.shared})` : ''}`, 'ok');
    for (const room of state.rooms.values()) refreshPresence(room);
    if (dms) dms.connected();
    renderPending();
  });
  c.on('fallback', ({ from, to, reason }) => log(`${TRANSPORT_NAMES[from]} failed (${reason}); trying ${TRANSPORT_NAMES[to]}`, 'warn'));
  c.on('disconnected', ({ reason, willReconnect, delay }) => {
    if (willReconnect) {
      setStatus('disconnected', `Reconnecting${delay ? ` in ${(delay / 1000).toFixed(1)} s` : ''}…`);
      log(`disconnected: ${reason}`, 'warn');
    } else {
      setStatus('closed', 'Disconnected');
      log(`disconnected for good: ${reason}`, 'err');
    }
    renderPending();
  });
  c.on('gap', ({ channel, reason }) => {
    const room = state.rooms.get(channel.slice('room:'.length));
    const why =
      reason === 'epoch changed'
        ? 'The server restarted (or the room was reset): messages sent before that may be missing.'
        : 'You were away longer than the server keeps history: some messages may be missing.';
    if (room && room.hadHistory) addSystem(room, why, 'gap');
    log(`history gap on ${channel}`, 'warn');
  });
  c.on('error', ({ type, message }) => log(`${type}: ${message}`, 'err'));
}

function setStatus(kind, text) {
  $('status').dataset.state = kind;
  $('status-text').textContent = text;
  $('retry').hidden = kind !== 'disconnected';
}
$('retry').addEventListener('click', () => client && client.retryNow());

function log(text, kind = '') {
  const li = document.createElement('li');
  li.className = kind;
  const t = document.createElement('time');
  t.textContent = new Date().toLocaleTimeString([], { hour12: false });
  li.append(t, ' ', text);
  const list = $('log');
  list.prepend(li);
  while (list.children.length > 40) list.lastChild.remove();
}

/* ---------------- rooms ---------------- */

function join(name, activate = true) {
  if (!ROOM_RE.test(name) || !client) return;
  if (!state.rooms.has(name)) {
    const kept = saved.load(state.name)[name] || [];
    const room = {
      kind: 'room', name, msgs: [...kept], unread: 0, ready: false,
      online: new Map(), typing: new Map(), hadHistory: kept.length > 0,
    };
    const last = kept[kept.length - 1];
    // After a reload: right after the last message kept. A new room: what
    // the server's history still holds.
    const since = last ? { epoch: last.epoch || null, seq: last.seq } : 0;
    room.sub = client.subscribe(`room:${name}`, (msg) => receive(room, msg), { since });
    room.sub.ready.then(() => {
      if (!room.sub.active) return;
      room.ready = true;
      room.hadHistory = true;
      if (state.active === room) renderHead();
      refreshPresence(room);
    });
    state.rooms.set(name, room);
    if (!last) addSystem(room, `You joined #${name}.`);
  }
  if (activate || !state.active) show(state.rooms.get(name));
  renderSidebar();
}

function leave(name) {
  const room = state.rooms.get(name);
  if (!room) return;
  room.sub.unsubscribe();
  state.rooms.delete(name);
  saved.save(state.name, state.rooms);
  if (state.active === room) {
    state.active = null;
    const next = state.rooms.values().next();
    if (!next.done) show(next.value);
    else renderMessages();
  }
  renderSidebar();
}

// show puts a room or a DM conversation on screen.
function show(view) {
  if (!view) return;
  state.active = view;
  const u = new URL(location.href);
  if (view.kind === 'room') {
    view.unread = 0;
    u.searchParams.set('room', [view.name, ...[...state.rooms.keys()].filter((r) => r !== view.name)].join(','));
    u.searchParams.delete('dm');
  } else {
    u.searchParams.set('dm', view.peer);
    dms.markRead(view);
  }
  history.replaceState(null, '', u);
  renderSidebar();
  renderMessages();
  $('text').focus();
}

function openDM(peer) {
  const c = dms && dms.open(peer);
  if (c) show(c);
  return c;
}

/* ---------------- the sidebar ---------------- */

function renderSidebar() {
  renderRooms();
  renderDMs();
  renderPeople();
}

// sideButton is one entry of a sidebar list: a label, an unread badge.
function sideButton(label, unread, active, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'room' + (active ? ' active' : '');
  const n = document.createElement('span');
  n.className = 'label';
  n.textContent = label;
  b.append(n);
  if (unread > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = unread > 99 ? '99+' : String(unread);
    b.append(badge);
  }
  b.onclick = onclick;
  const li = document.createElement('li');
  li.append(b);
  return { li, b };
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const room of state.rooms.values()) {
    const { li, b } = sideButton(`# ${room.name}`, room.unread, room === state.active, () => show(room));
    b.dataset.room = room.name;
    ul.append(li);
  }
}

function renderDMs() {
  $('dm-section').hidden = !dms || !dms.served;
  if (!dms) return;
  const ul = $('dms');
  ul.replaceChildren();
  const online = onlineUsers();
  for (const c of dms.convs.values()) {
    const { li, b } = sideButton(`@ ${c.peer}`, c.unread, c === state.active, () => show(c));
    b.dataset.peer = c.peer;
    if (online.has(c.peer)) b.classList.add('online-peer');
    ul.append(li);
  }
}

// onlineUsers is everyone present in a joined room (presence).
function onlineUsers() {
  const users = new Set();
  for (const room of state.rooms.values()) for (const u of room.online.values()) users.add(u);
  users.delete(state.name);
  return users;
}

function renderPeople() {
  $('people-section').hidden = !state.identity;
  const ul = $('people');
  ul.replaceChildren();
  const users = [...onlineUsers()].sort();
  for (const u of users) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'person';
    b.dataset.user = u;
    b.title = dms && dms.served ? `Message ${u}` : u;
    b.disabled = !(dms && dms.served);
    b.append(avatar(u), document.createTextNode(u));
    b.onclick = () => openDM(u);
    li.append(b);
    ul.append(li);
  }
  $('people-empty').hidden = users.length > 0;
}

/* ---------------- the conversation head ---------------- */

function renderHead() {
  const v = state.active;
  if (!v) $('room-title').textContent = 'No room';
  else $('room-title').textContent = v.kind === 'room' ? `#${v.name}` : `@${v.peer}`;
  if (v && v.kind === 'room') {
    const pos = v.sub.position;
    $('room-info').textContent = `channel room:${v.name}` + (pos ? ` · seq ${pos.seq}` : '') + (v.ready ? '' : ' · subscribing…');
  } else if (v) {
    $('room-info').textContent = `direct messages · ${onlineUsers().has(v.peer) ? 'online' : 'not in your rooms now'}`;
  } else {
    $('room-info').textContent = '';
  }
  $('text').placeholder = v ? `Message ${v.kind === 'room' ? '#' + v.name : '@' + v.peer}` : 'Join a room first';
  $('composer').classList.toggle('disabled', !v);
  $('leave').hidden = !v || v.kind !== 'room';
  $('empty').hidden = !!v;
  $('messages').hidden = !v;
  renderOnline();
  renderTyping();
}

/* ---------------- presence and typing ---------------- */

// refreshPresence asks who is in the room (on the WebSocket, or with
// POST /send on the HTTP transports), then follows join and leave events.
function refreshPresence(room) {
  if (!client || client.state !== 'connected' || !room.ready) return;
  client.presence(`room:${room.name}`).then(
    (p) => {
      room.online = new Map();
      for (const c of p.clients) if (c.user) room.online.set(c.conn || c.user, c.user);
      presenceChanged(room);
    },
    () => {},
  );
}

function presenceChanged(room) {
  renderPeople();
  renderDMs();
  if (state.active === room) renderOnline();
  else if (state.active && state.active.kind === 'dm') renderHead();
}

function renderOnline() {
  const room = state.active;
  const el = $('online');
  el.replaceChildren();
  if (!room || room.kind !== 'room') return;
  const users = new Set(room.online.values());
  if (state.identity) users.add(state.name);
  for (const u of [...users].sort()) {
    const span = document.createElement('span');
    span.className = 'who';
    span.dataset.user = u;
    span.textContent = u;
    el.append(span);
  }
}

function presenceEvent(room, data) {
  const ev = data.join || data.leave;
  if (!ev || typeof ev.user !== 'string') return;
  const key = typeof ev.conn === 'string' ? ev.conn : ev.user;
  if (data.join) room.online.set(key, ev.user.slice(0, 64));
  else room.online.delete(key);
  presenceChanged(room);
}

function typingEvent(room, from) {
  if (from === state.name) return;
  clearTimeout(room.typing.get(from));
  room.typing.set(from, setTimeout(() => {
    room.typing.delete(from);
    if (state.active === room) renderTyping();
  }, TYPING_SHOWN));
  if (state.active === room) renderTyping();
}

function renderTyping() {
  const room = state.active;
  const who = room ? [...room.typing.keys()] : [];
  $('typing').textContent = who.length === 0 ? '' : `${who.slice(0, 3).join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`;
}

$('text').addEventListener('input', () => {
  const room = state.active;
  if (!room || room.kind !== 'room' || !client || Date.now() - state.lastTyping < TYPING_EVERY) return;
  state.lastTyping = Date.now();
  client.typing(`room:${room.name}`).catch(() => {}); // best effort
});

/* ---------------- messages ---------------- */

function receive(room, msg) {
  const d = msg.data;
  if (msg.seq === 0) {
    // Ephemeral: typing, join, leave. Never stored, never shown as messages.
    if (d && (d.join || d.leave)) presenceEvent(room, d);
    else if (d && d.typing && msg.from) typingEvent(room, msg.from);
    return;
  }
  const from = (state.identity && msg.from) || (d && typeof d.from === 'string' ? d.from.slice(0, 40) : msg.from || '?');
  const text = d && typeof d.text === 'string' ? d.text : JSON.stringify(d);
  const m = { kind: 'msg', seq: msg.seq, epoch: msg.epoch, ts: msg.ts, from, text, mine: from === state.name };
  room.msgs.push(m);
  if (room.msgs.length > 500) room.msgs.splice(0, room.msgs.length - 500);
  if (room.typing.has(from)) {
    clearTimeout(room.typing.get(from));
    room.typing.delete(from);
  }
  saveSoon();
  if (room === state.active) {
    appendMessage(m);
    renderHead();
  } else {
    room.unread++;
    renderRooms();
  }
  renderPending();
}

// What dm.js needs of the page.
const dmUI = {
  get me() {
    return state.name;
  },
  isActive: (c) => state.active === c,
  visible: () => document.visibilityState === 'visible',
  changed(c) {
    renderSidebar();
    if (!c || state.active === c) {
      renderHead();
      renderSeen();
    }
  },
  appended(c, m) {
    renderSidebar();
    if (state.active !== c) return;
    if (c.msgs[c.msgs.length - 1] === m) appendMessage(m);
    else renderMessages();
    renderSeen();
    renderPending();
  },
};

let saveTimer = null;
function saveSoon() {
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = null;
    saved.save(state.name, state.rooms);
  }, 300);
}
addEventListener('pagehide', () => {
  saved.save(state.name, state.rooms);
  if (dms) dms.save();
});

function addSystem(room, text, kind = '') {
  const m = { kind: 'system', text, sub: kind };
  room.msgs.push(m);
  if (room === state.active) appendMessage(m);
}

function renderMessages() {
  renderHead();
  const box = $('messages');
  box.replaceChildren();
  const v = state.active;
  if (!v) return;
  let prev = null;
  for (const m of v.msgs) {
    box.append(messageElement(m, prev));
    prev = m;
  }
  renderSeen();
  renderPending();
  box.scrollTop = box.scrollHeight;
}

function appendMessage(m) {
  const box = $('messages');
  const msgs = state.active.msgs;
  const prev = msgs.length > 1 ? msgs[msgs.length - 2] : null;
  const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.insertBefore(messageElement(m, prev), $('pending-list'));
  if (stick || m.mine) box.scrollTop = box.scrollHeight;
}

// renderSeen marks, in a DM, the last message of this user that the
// other participant has read.
function renderSeen() {
  const box = $('messages');
  for (const el of box.querySelectorAll('.seen')) el.remove();
  const c = state.active;
  if (!c || c.kind !== 'dm' || !c.seenUpTo) return;
  const mine = c.msgs.filter((m) => m.kind === 'msg' && m.mine && m.seq <= c.seenUpTo);
  const last = mine[mine.length - 1];
  const el = last && box.querySelector(`.msg[data-seq="${last.seq}"]`);
  if (!el) return;
  const seen = document.createElement('div');
  seen.className = 'seen';
  seen.dataset.seq = String(last.seq);
  seen.textContent = `Seen by ${c.peer}`;
  el.after(seen);
}

function messageElement(m, prev) {
  const el = document.createElement('div');
  if (m.kind === 'system') {
    el.className = `system ${m.sub || ''}`;
    el.textContent = m.text;
    return el;
  }
  // Consecutive messages of one author within 5 minutes form a group.
  const cont = prev && prev.kind === 'msg' && prev.from === m.from && m.ts - prev.ts < 300000;
  el.className = `msg${m.mine ? ' mine' : ''}${cont ? ' cont' : ''}`;
  el.dataset.seq = String(m.seq);
  el.dataset.from = m.from;
  const body = document.createElement('div');
  body.className = 'body';
  if (!cont) {
    const head = document.createElement('div');
    head.className = 'head';
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = m.from;
    who.style.color = color(m.from);
    const when = document.createElement('time');
    when.textContent = Number.isFinite(m.ts) ? new Date(m.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }) : '';
    const seq = document.createElement('span');
    seq.className = 'seq';
    seq.textContent = `#${m.seq}`;
    head.append(who, when, seq);
    body.append(head);
  }
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = m.text;
  body.append(text);
  el.append(avatar(m.from), body);
  return el;
}

function color(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 42%)`;
}

function avatar(name) {
  const a = document.createElement('span');
  a.className = 'avatar';
  a.textContent = [...name.trim()][0]?.toUpperCase() || '?';
  a.style.background = color(name);
  return a;
}

/* ---------------- sending ---------------- */

// Sends not answered yet, shown under the conversation: "sending" while
// connected, "queued" while offline; a send is shown once, as a message,
// as soon as the server answered (its seq) and the message arrived.
const outgoing = []; // {view, text, seq: null | number, failed: string | null}

async function send(text) {
  const view = state.active;
  if (!view || !text.trim() || !client) return;
  const o = { view, text, seq: null, failed: null };
  outgoing.push(o);
  renderPending();
  try {
    if (view.kind === 'dm') {
      o.seq = await dms.send(view, text);
    } else {
      const data = state.identity ? { text } : { from: state.name, text };
      o.seq = await client.publish(`room:${view.name}`, data);
    }
  } catch (err) {
    o.failed = err.message;
  }
  renderPending();
}

function renderPending() {
  for (let i = outgoing.length - 1; i >= 0; i--) {
    const o = outgoing[i];
    if (o.seq != null && o.view.msgs.some((m) => m.kind === 'msg' && m.seq === o.seq)) outgoing.splice(i, 1);
  }
  const box = $('messages');
  let list = $('pending-list');
  if (!list) {
    list = document.createElement('div');
    list.id = 'pending-list';
  }
  box.append(list); // always last
  list.replaceChildren();
  const offline = !client || client.state !== 'connected';
  for (const o of outgoing) {
    if (o.view !== state.active) continue;
    const el = document.createElement('div');
    el.className = `pending-msg${o.failed ? ' failed' : ''}`;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = o.text;
    const st = document.createElement('span');
    st.className = 'pending-state';
    st.textContent = o.failed ? `not sent: ${o.failed}` : o.seq != null ? 'sent' : offline ? 'queued: sent when back online' : 'sending…';
    el.append(text, st);
    list.append(el);
  }
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('text');
  const text = input.value;
  input.value = '';
  send(text);
});

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('join-input');
  const name = input.value.trim();
  if (!ROOM_RE.test(name)) {
    input.setCustomValidity('letters, digits, - and _ only');
    input.reportValidity();
    return;
  }
  input.value = '';
  join(name);
});
$('join-input').addEventListener('input', (ev) => ev.target.setCustomValidity(''));
$('dm-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('dm-input');
  const name = input.value.trim();
  if (!NAME_RE.test(name) || name === state.name) {
    input.setCustomValidity(name === state.name ? 'that is you' : '1 to 24 letters, digits, . - or _');
    input.reportValidity();
    return;
  }
  input.value = '';
  openDM(name);
});
$('dm-input').addEventListener('input', (ev) => ev.target.setCustomValidity(''));
$('leave').addEventListener('click', () => state.active && state.active.kind === 'room' && leave(state.active.name));
// Back to the page: what arrived in the open DM meanwhile is read now.
document.addEventListener('visibilitychange', () => {
  const v = state.active;
  if (document.visibilityState === 'visible' && v && v.kind === 'dm' && v.unread > 0) dms.markRead(v);
});

/* ---------------- transport picker ---------------- */

const picker = $('transport');
picker.value = params.get('transport') || 'auto';
picker.addEventListener('change', () => {
  const v = picker.value;
  const u = new URL(location.href);
  if (v === 'auto') u.searchParams.delete('transport');
  else u.searchParams.set('transport', v);
  history.replaceState(null, '', u);
  log(v === 'auto' ? 'transport: automatic fallback' : `transport forced: ${TRANSPORT_NAMES[v]}`);
  if (client) client.setTransport(v);
});

/* ---------------- start ---------------- */

// For the browser tests and the curious: window.demo.client is the Comet
// client, window.demo.dms the direct messages.
window.demo = { client: null, dms: null, state, events, join, leave, send, outgoing, openDM };
const initialName = params.get('name') || sessionStorage.getItem('comet-demo-name');
if (initialName && NAME_RE.test(initialName)) signIn(initialName);
else askName();
renderHead();
