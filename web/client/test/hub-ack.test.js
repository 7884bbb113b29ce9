// The hub never acknowledges what no handler ran: when the last tab that
// handles the inbox leaves while another tab keeps the connection (a
// long-poll, whose cursor is its acknowledgement), the next poll still
// names the position before the deliveries the leaving tab held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hub } from '../src/hub.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a poll cursor does not acknowledge deliveries of a tab that left', async () => {
  const polls = [];
  const answers = [];
  const msg = (s) => ({ op: 'msg', ch: 'user:a', seq: s, data: { n: s }, conv: 'system' });
  const realFetch = globalThis.fetch;
  // A scripted node: the answers below, then polls that wait until aborted.
  globalThis.fetch = async (url, init) => {
    const u = new URL(url);
    if (!u.pathname.endsWith('/poll')) return new Response('{"op":"ok"}');
    polls.push(u.searchParams.getAll('ch'));
    const a = answers.shift();
    if (!a) return new Promise((_, rej) => init.signal.addEventListener('abort', () => rej(new Error('aborted'))));
    return new Response(JSON.stringify(a), { headers: { 'content-type': 'application/json' } });
  };
  answers.push({ cursor: 'room:1~e1~0!user:a~e2~4', msgs: [] });
  answers.push({ cursor: 'room:1~e1~0!user:a~e2~7', msgs: [msg(5), msg(6), msg(7)] });
  const hub = new Hub();
  try {
    const got = [];
    const a = hub.attach((m) => got.push(m));
    const b = hub.attach(() => {});
    const opts = { url: 'http://node.test/', transports: ['poll'], device: 'd1' };
    b({ t: 'hello', tab: 'B', options: opts, channels: [{ ch: 'room:1', pos: null }], inbox: false });
    a({ t: 'hello', tab: 'A', options: opts, channels: [], inbox: true });
    for (let i = 0; i < 200 && got.filter((m) => m.t === 'msg').length < 3; i++) await sleep(10);
    assert.deepEqual(got.filter((m) => m.t === 'msg').map((m) => m.m.seq), [5, 6, 7]);
    const before = polls.length;
    a({ t: 'bye' }); // A's handlers never finished 5..7: it closed
    // The next poll goes out once the hub stops waiting for handlers
    // (about 2 s); it must still name 4.
    for (let i = 0; i < 400 && polls.length === before; i++) await sleep(10);
    const next = polls[polls.length - 1];
    assert.ok(polls.length > before, 'no poll after the tab left');
    assert.ok(next.includes('user:a~e2~4'), `the poll after the tab left names ${next.join(' ')}, want user:a~e2~4`);
  } finally {
    hub.close();
    globalThis.fetch = realFetch;
  }
});

test('a tab far behind catches up page by page, however far', async () => {
  const top = 25000; // more than the hub holds (MAX_HELD) and reads in one backfill
  const realFetch = globalThis.fetch;
  let lived = false;
  globalThis.fetch = async (url, init) => {
    const u = new URL(url);
    if (!u.pathname.endsWith('/poll')) return new Response('{"op":"ok"}');
    const ch = u.searchParams.getAll('ch');
    const json = (a) => new Response(JSON.stringify(a), { headers: { 'content-type': 'application/json' } });
    if (u.searchParams.get('wait') === '0' && ch.length === 1 && ch[0].startsWith('room:1~e1~')) {
      // A history read: a page of up to 1000 after the position.
      const after = Number(ch[0].split('~')[2]);
      const msgs = [];
      for (let s = after + 1; s <= Math.min(after + 1000, top); s++) msgs.push({ op: 'msg', ch: 'room:1', seq: s, data: s });
      return json({ cursor: `room:1~e1~${after + msgs.length}`, msgs });
    }
    if (!lived) {
      lived = true; // the shared connection joins at the top
      return json({ cursor: `room:1~e1~${top}`, msgs: [] });
    }
    return new Promise((_, rej) => init.signal.addEventListener('abort', () => rej(new Error('aborted'))));
  };
  const hub = new Hub();
  try {
    const opts = { url: 'http://node.test/', transports: ['poll'], device: 'd1' };
    const b = hub.attach(() => {});
    b({ t: 'hello', tab: 'B', options: opts, channels: [{ ch: 'room:1', pos: null }], inbox: false });
    for (let i = 0; i < 200 && !lived; i++) await sleep(10);
    const got = [];
    const a = hub.attach((m) => { if (m.t === 'msg') got.push(m.m.seq); });
    a({ t: 'hello', tab: 'A', options: opts, channels: [{ ch: 'room:1', pos: { epoch: 'e1', seq: 0 } }], inbox: false });
    for (let i = 0; i < 1000 && got.length < top; i++) await sleep(10);
    assert.equal(got.length, top, `caught up ${got.length} of ${top}`);
    for (let i = 0; i < top; i++) if (got[i] !== i + 1) assert.fail(`message ${i + 1} came as ${got[i]}`);
  } finally {
    hub.close();
    globalThis.fetch = realFetch;
  }
});
