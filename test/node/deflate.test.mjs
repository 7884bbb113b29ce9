// permessage-deflate (RFC 7692) against a server started with
// -ws-compression on, through test/e2e's wire tap, which checks on its
// side which frames were compressed (ws does not say).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Client, DEFAULT_TIMEOUT, apiPublish, checkMsg, uniq, withTimeout, wsURL } from './helpers.mjs';

// open connects with ws options and returns the client and the 101's
// Sec-WebSocket-Extensions.
async function open(opts, path = '/ws') {
  const ws = new WebSocket(wsURL(path), opts);
  const c = new Client(ws);
  let ext = null;
  ws.once('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] ?? ''; });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), DEFAULT_TIMEOUT, 'the WebSocket to open');
  return { c, ext };
}

// Compress everything, not only messages over ws's 1 KiB default.
const deflate = { perMessageDeflate: { threshold: 0 } };

// A roster: the kind of payload compression is for.
const roster = { users: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `user ${i}`, status: 'online', room: `room:${i % 3}` })) };

test('negotiates permessage-deflate without context takeover', async () => {
  const { c, ext } = await open(deflate);
  assert.equal(c.ws.extensions, 'permessage-deflate',
    'not negotiated: the server must run with -ws-compression on, as test/e2e TestNodeDeflate starts it');
  assert.match(ext, /^permessage-deflate/);
  assert.match(ext, /server_no_context_takeover/);
  assert.match(ext, /client_no_context_takeover/);
  await c.close(1000);
});

test('broadcasts arrive intact on compressed and plain connections alike', async () => {
  const ch = uniq('room');
  const { c: z } = await open(deflate);
  const { c: plain, ext } = await open({ perMessageDeflate: false });
  assert.equal(ext, '', 'no offer, no extension');
  assert.equal(plain.ws.extensions, '');
  await z.subscribe(ch);
  await plain.subscribe(ch);
  const sent = [roster, { text: 'see you at 8, bring the slides' }, 'ünïcödé ☄ 😀'.repeat(20)];
  for (const data of sent) {
    const r = await apiPublish(ch, data);
    assert.equal(r.status, 200, r.text);
  }
  for (const c of [z, plain]) {
    for (const [i, data] of sent.entries()) checkMsg(await c.json(), ch, i + 1, data);
  }
  await z.close(1000);
  await plain.close(1000);
});

test('a compressed publish is inflated and delivered', async () => {
  const ch = uniq('room');
  const { c: pub } = await open(deflate);
  const { c: sub } = await open(deflate);
  const { c: plain } = await open({ perMessageDeflate: false });
  await sub.subscribe(ch);
  await plain.subscribe(ch);
  for (const [i, data] of [roster, { text: 'short' }].entries()) {
    const reply = await pub.request({ op: 'pub', ch, data, id: `p${i}` });
    assert.deepEqual(reply, { op: 'ok', id: `p${i}`, seq: i + 1 }, JSON.stringify(reply));
    checkMsg(await sub.json(), ch, i + 1, data);
    checkMsg(await plain.json(), ch, i + 1, data);
  }
  await pub.close(1000);
  await sub.close(1000);
  await plain.close(1000);
});

test('a compression bomb is cut with 1009; the node serves on', async () => {
  const ch = uniq('room');
  const { c: bystander } = await open(deflate);
  await bystander.subscribe(ch);
  const { c: bomb } = await open(deflate);
  // 16 MiB of one letter: some KiB compressed, 256 times the message cap.
  bomb.send(JSON.stringify({ op: 'pub', ch, data: 'A'.repeat(16 << 20) }));
  const { code } = await bomb.waitClose();
  assert.equal(code, 1009);
  const r = await apiPublish(ch, roster);
  assert.equal(r.status, 200, r.text);
  checkMsg(await bystander.json(), ch, 1, roster);
  await bystander.close(1000);
});
