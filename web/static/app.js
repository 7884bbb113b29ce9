// The Comet web IM demo: rooms are channels "room:NAME", messages are
// published as {from, text}. Everything goes through comet.js.
//
// URL parameters (handy for demos and tests): name=alice, room=lobby,dev
// (joined at start), transport=websocket|sse|poll|iframe (forced).
import { Comet } from './comet.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ROOM_RE = /^[A-Za-z0-9_-]{1,40}$/;
const TRANSPORT_NAMES = { websocket: 'WebSocket', sse: 'SSE', poll: 'Long-poll', iframe: 'iframe' };

const state = {
  name: '',
  rooms: new Map(), // name -> {sub, msgs: [], unread, el}
  active: null,
};

const client = new Comet({ transport: params.get('transport') || null, debug: params.has('debug') });

// Every client event, newest last (window.demo.events: for the tests and the curious).
const events = [];
for (const ev of ['state', 'connecting', 'connected', 'disconnected', 'fallback', 'gap', 'error', 'subscribed']) {
  client.on(ev, (arg) => {
    events.push({ ev, ...arg, at: Date.now() });
    if (events.length > 500) events.shift();
  });
}

/* ---------------- connection status ---------------- */

function setStatus(kind, text) {
  $('status').dataset.state = kind;
  $('status-text').textContent = text;
}

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

client.on('connecting', ({ transport }) => setStatus('connecting', `Connecting · ${TRANSPORT_NAMES[transport]}…`));
client.on('connected', ({ transport }) => {
  setStatus('connected', `Connected · ${TRANSPORT_NAMES[transport]}`);
  log(`connected over ${TRANSPORT_NAMES[transport]}`, 'ok');
});
client.on('fallback', ({ from, to, reason }) => log(`${TRANSPORT_NAMES[from]} failed (${reason}); trying ${TRANSPORT_NAMES[to]}`, 'warn'));
client.on('disconnected', ({ reason, willReconnect, delay }) => {
  if (willReconnect) {
    setStatus('disconnected', `Reconnecting${delay ? ` in ${(delay / 1000).toFixed(1)} s` : ''}…`);
    log(`disconnected: ${reason}`, 'warn');
  } else {
    setStatus('closed', 'Disconnected');
    log(`disconnected for good: ${reason}`, 'err');
  }
});
client.on('gap', ({ channel, reason }) => {
  const room = state.rooms.get(channel.slice('room:'.length));
  const why =
    reason === 'epoch changed'
      ? 'The server restarted (or the room was reset): messages sent before that may be missing.'
      : 'You were away longer than the server keeps history: some messages may be missing.';
  if (room) addSystem(room, why, 'gap');
  log(`history gap on ${channel}`, 'warn');
});
client.on('error', ({ type, message }) => log(`${type}: ${message}`, 'err'));

/* ---------------- rooms ---------------- */

function join(name, activate = true) {
  if (!ROOM_RE.test(name)) return;
  if (!state.rooms.has(name)) {
    const room = { name, msgs: [], unread: 0, el: null };
    room.sub = client.subscribe(`room:${name}`, (msg) => receive(room, msg));
    room.sub.ready.then(() => {
      if (room.sub.active) room.ready = true;
      if (state.active === room) renderHead();
    });
    state.rooms.set(name, room);
    addSystem(room, `You joined #${name}.`);
  }
  if (activate || !state.active) show(name);
  renderRooms();
}

function leave(name) {
  const room = state.rooms.get(name);
  if (!room) return;
  room.sub.unsubscribe();
  state.rooms.delete(name);
  if (state.active === room) {
    state.active = null;
    const next = state.rooms.keys().next();
    if (!next.done) show(next.value);
    else renderMessages();
  }
  renderRooms();
}

function show(name) {
  const room = state.rooms.get(name);
  if (!room) return;
  state.active = room;
  room.unread = 0;
  const u = new URL(location.href);
  u.searchParams.set('room', [name, ...[...state.rooms.keys()].filter((r) => r !== name)].join(','));
  history.replaceState(null, '', u);
  renderRooms();
  renderMessages();
  $('text').focus();
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const room of state.rooms.values()) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'room' + (room === state.active ? ' active' : '');
    b.dataset.room = room.name;
    const n = document.createElement('span');
    n.textContent = `# ${room.name}`;
    b.append(n);
    if (room.unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = room.unread > 99 ? '99+' : String(room.unread);
      b.append(badge);
    }
    b.onclick = () => show(room.name);
    li.append(b);
    ul.append(li);
  }
}

function renderHead() {
  const room = state.active;
  $('room-title').textContent = room ? `#${room.name}` : 'No room';
  const pos = room && room.sub.position;
  $('room-info').textContent = room
    ? `channel room:${room.name}` + (pos ? ` · seq ${pos.seq}` : '') + (room.ready ? '' : ' · subscribing…')
    : '';
  $('text').placeholder = room ? `Message #${room.name}` : 'Join a room first';
  $('composer').classList.toggle('disabled', !room);
  $('leave').hidden = !room;
  $('empty').hidden = !!room;
  $('messages').hidden = !room;
}

/* ---------------- messages ---------------- */

function receive(room, msg) {
  const d = msg.data;
  const from = d && typeof d.from === 'string' ? d.from.slice(0, 40) : '?';
  const text = d && typeof d.text === 'string' ? d.text : JSON.stringify(d);
  const m = { kind: 'msg', seq: msg.seq, ts: msg.ts, from, text, mine: from === state.name };
  room.msgs.push(m);
  if (room.msgs.length > 500) room.msgs.splice(0, room.msgs.length - 500);
  if (room === state.active) {
    appendMessage(m);
    renderHead();
  } else {
    room.unread++;
    renderRooms();
  }
}

function addSystem(room, text, kind = '') {
  const m = { kind: 'system', text, sub: kind };
  room.msgs.push(m);
  if (room === state.active) appendMessage(m);
}

function renderMessages() {
  renderHead();
  const box = $('messages');
  box.replaceChildren();
  const room = state.active;
  if (!room) return;
  let prev = null;
  for (const m of room.msgs) {
    box.append(messageElement(m, prev));
    prev = m;
  }
  box.scrollTop = box.scrollHeight;
}

function appendMessage(m) {
  const box = $('messages');
  const msgs = state.active.msgs;
  const prev = msgs.length > 1 ? msgs[msgs.length - 2] : null;
  const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.append(messageElement(m, prev));
  if (stick || m.mine) box.scrollTop = box.scrollHeight;
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
  const av = avatar(m.from);
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
  el.append(av, body);
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

async function send(text) {
  const room = state.active;
  if (!room || !text.trim()) return;
  try {
    await client.publish(`room:${room.name}`, { from: state.name, text });
  } catch (err) {
    addSystem(room, `Not sent (${err.message}): “${text}”`, 'error');
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
$('leave').addEventListener('click', () => state.active && leave(state.active.name));

/* ---------------- transport picker ---------------- */

const picker = $('transport');
picker.value = client.forcedTransport || 'auto';
picker.addEventListener('change', () => {
  const v = picker.value;
  const u = new URL(location.href);
  if (v === 'auto') u.searchParams.delete('transport');
  else u.searchParams.set('transport', v);
  history.replaceState(null, '', u);
  log(v === 'auto' ? 'transport: automatic fallback' : `transport forced: ${TRANSPORT_NAMES[v]}`);
  client.setTransport(v);
});

/* ---------------- identity ---------------- */

function setName(name) {
  state.name = name.trim().slice(0, 24);
  sessionStorage.setItem('comet-demo-name', state.name);
  localStorage.setItem('comet-demo-name', state.name);
  $('me-name').textContent = state.name;
  const av = $('me-avatar');
  av.textContent = [...state.name][0]?.toUpperCase() || '?';
  av.style.background = color(state.name);
  for (const room of state.rooms.values()) {
    for (const m of room.msgs) if (m.kind === 'msg') m.mine = m.from === state.name;
  }
  renderMessages();
}

function askName() {
  $('login').hidden = false;
  const input = $('login-name');
  input.value = state.name || localStorage.getItem('comet-demo-name') || '';
  input.focus();
  input.select();
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('login-name').value.trim();
  if (!name) return;
  setName(name);
  $('login').hidden = true;
  $('text').focus();
});
$('rename').addEventListener('click', askName);

/* ---------------- start ---------------- */

const initialName = params.get('name') || sessionStorage.getItem('comet-demo-name');
if (initialName) setName(initialName);
else askName();
const rooms = (params.get('room') || 'lobby').split(',').filter((r) => ROOM_RE.test(r));
for (const r of rooms) join(r, false);
if (rooms.length) show(rooms[0]);
renderHead();
client.connect();

// For the browser tests and the curious: window.demo.client is the Comet client.
window.demo = { client, state, events, join, leave, send, setName };
