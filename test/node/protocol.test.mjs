// The native JSON protocol on /ws, spoken by node's ws client. Run by
// test/e2e against `comet -api-key $COMET_TEST_API_KEY` with default limits
// (COMET_TEST_MAX_MESSAGE_BYTES says the -max-message-bytes in force).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, uniq, apiPublish, checkMsg } from './helpers.mjs';

const maxMessageBytes = Number(process.env.COMET_TEST_MAX_MESSAGE_BYTES || 65536);

test('sub, pub and msg round trip with exact replies', async () => {
  const c = await connect();
  const ch = uniq('room');
  const sub = await c.request({ op: 'sub', ch, id: 's1' });
  assert.equal(typeof sub.epoch, 'string');
  assert.ok(sub.epoch.length > 0, 'epoch must not be empty');
  assert.deepEqual(sub, { op: 'sub', id: 's1', ch, seq: 0, epoch: sub.epoch });

  const data = { text: 'héllo ☄', n: 1.5, list: [1, null, true], nested: { a: {} } };
  c.send({ op: 'pub', ch, data, id: 'p1' });
  const got = [await c.json(), await c.json()];
  const ok = got.find((m) => m.op === 'ok');
  const msg = got.find((m) => m.op === 'msg');
  assert.deepEqual(ok, { op: 'ok', id: 'p1', seq: 1 }, JSON.stringify(got));
  checkMsg(msg, ch, 1, data);

  // The next publish gets the next seq; a pub without id is not acked.
  c.send({ op: 'pub', ch, data: 'two' });
  checkMsg(await c.json(), ch, 2, 'two');
  await c.silence(150);

  // unsub is acked, and no delivery follows it.
  assert.deepEqual(await c.request({ op: 'unsub', ch, id: 'u1' }), { op: 'ok', id: 'u1' });
  const other = await connect();
  other.send({ op: 'pub', ch, data: 3, id: 'p3' });
  assert.deepEqual(await other.json(), { op: 'ok', id: 'p3', seq: 3 });
  await c.silence(200);
  await other.close(1000);
  // The server echoes the status code of a client's close (RFC 6455 §5.5.1).
  assert.equal((await c.close(1000, 'bye')).code, 1000);
});

test('errors: duplicate sub 409, bad channel 400, bad JSON 400', async () => {
  const c = await connect();
  const ch = uniq('room');
  await c.subscribe(ch);
  const dup = await c.request({ op: 'sub', ch, id: 'dup' });
  assert.equal(typeof dup.reason, 'string');
  assert.deepEqual(dup, { op: 'err', id: 'dup', code: 409, reason: dup.reason });
  const bad = await c.request({ op: 'pub', ch: 'has space', data: 1, id: 'bad' });
  assert.deepEqual(bad, { op: 'err', id: 'bad', code: 400, reason: bad.reason });
  const long = await c.request({ op: 'sub', ch: 'x'.repeat(129), id: 'long' });
  assert.equal(long.code, 400, JSON.stringify(long));
  const ok128 = await c.request({ op: 'sub', ch: 'A-z_0.9:@/=+#'.padEnd(128, 'x'), id: 'ok128' });
  assert.equal(ok128.op, 'sub', `a 128-byte channel of allowed characters is valid: ${JSON.stringify(ok128)}`);
  const junk = await c.request('{"op":');
  assert.equal(junk.op, 'err');
  assert.equal(junk.code, 400);
  // The connection survives request errors.
  assert.deepEqual(await c.request({ op: 'ping', id: 'alive' }), { op: 'pong', id: 'alive' });
  await c.close(1000);
});

test('two clients on one channel both receive every message in order', async () => {
  const ch = uniq('pair');
  const a = await connect();
  const b = await connect();
  await a.subscribe(ch);
  await b.subscribe(ch);
  const n = 10;
  for (let i = 1; i <= n; i++) a.send({ op: 'pub', ch, data: { i } });
  for (const c of [a, b]) {
    for (let i = 1; i <= n; i++) checkMsg(await c.json(), ch, i, { i });
  }
  await a.silence(100);
  await b.silence(0);
  await a.close(1000);
  await b.close(1000);
});

test('application ping is answered with pong carrying the id', async () => {
  const c = await connect();
  assert.deepEqual(await c.request({ op: 'ping', id: 'p-1' }), { op: 'pong', id: 'p-1' });
  assert.deepEqual(await c.request({ op: 'ping', id: 'p-2' }), { op: 'pong', id: 'p-2' });
  await c.close(1000);
});

test('a fragmented text message is reassembled and processed', async () => {
  const c = await connect();
  const ch = uniq('frag');
  await c.subscribe(ch);
  // Split inside multi-byte UTF-8 sequences: é (c3 a9), € (e2 82 ac), 😀 (f0 9f 98 80).
  const text = JSON.stringify({ op: 'pub', ch, id: 'fp', data: 'é€😀' });
  const buf = Buffer.from(text, 'utf8');
  const cuts = [];
  for (const s of ['é', '€', '😀']) cuts.push(buf.indexOf(Buffer.from(s, 'utf8')) + 1);
  let prev = 0;
  for (const cut of [...cuts, buf.length]) {
    const part = buf.subarray(prev, cut);
    c.ws.send(part, { binary: false, fin: cut === buf.length });
    prev = cut;
  }
  const got = [await c.json(), await c.json()];
  assert.deepEqual(got.find((m) => m.op === 'ok'), { op: 'ok', id: 'fp', seq: 1 }, JSON.stringify(got));
  checkMsg(got.find((m) => m.op === 'msg'), ch, 1, 'é€😀');
  // A control frame between fragments is allowed (RFC 6455 §5.4).
  c.ws.send('{"op":"pi', { fin: false });
  c.ws.ping();
  c.ws.send('ng","id":"fp2"}', { fin: true });
  assert.deepEqual(await c.json(), { op: 'pong', id: 'fp2' });
  await c.close(1000);
});

test(`a message of exactly max-message-bytes (${maxMessageBytes}) is accepted`, async () => {
  const c = await connect();
  const head = '{"op":"ping","id":"big"}';
  c.send(head + ' '.repeat(maxMessageBytes - head.length));
  assert.deepEqual(await c.json(), { op: 'pong', id: 'big' });
  await c.close(1000);
});

test('a message over max-message-bytes closes with 1009', async () => {
  const c = await connect();
  const head = '{"op":"ping","id":"big"}';
  c.send(head + ' '.repeat(maxMessageBytes + 1 - head.length));
  const { code } = await c.waitClose();
  assert.equal(code, 1009);
});

test('a fragmented message over max-message-bytes closes with 1009', async () => {
  const c = await connect();
  const part = ' '.repeat(Math.ceil(maxMessageBytes / 4));
  for (let i = 0; i < 4; i++) c.ws.send(part, { fin: false });
  c.ws.send('{"op":"ping","id":"x"}', { fin: true });
  const { code } = await c.waitClose();
  assert.equal(code, 1009);
  assert.deepEqual(c.queue, [], 'no reply to an oversized message');
});

test('invalid UTF-8 in a text message closes with 1007', async () => {
  const c = await connect();
  c.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  const { code } = await c.waitClose();
  assert.equal(code, 1007);
});

test('invalid UTF-8 split across fragments closes with 1007', async () => {
  const c = await connect();
  // c3 must be followed by a continuation byte; 0x28 is not one.
  c.ws.send(Buffer.from('{"op":"ping","id":"\xc3', 'latin1'), { binary: false, fin: false });
  c.ws.send(Buffer.from('("}', 'latin1'), { binary: false, fin: true });
  const { code } = await c.waitClose();
  assert.equal(code, 1007);
});

test('a binary message on /ws closes with 1003', async () => {
  const c = await connect();
  c.ws.send(Buffer.from('{"op":"ping","id":"b"}'), { binary: true });
  const { code } = await c.waitClose();
  assert.equal(code, 1003);
  assert.deepEqual(c.queue, [], 'no reply to a binary message');
});

test('POST /api/publish needs the bearer key', async () => {
  const ch = uniq('api');
  const denied = await apiPublish(ch, 1, { key: '' });
  assert.equal(denied.status, 401, denied.text);
  const wrong = await apiPublish(ch, 1, { key: 'wrong-key' });
  assert.equal(wrong.status, 401, wrong.text);
  const bad = await apiPublish(ch, undefined, { body: '{"channel":' });
  assert.equal(bad.status, 400, bad.text);
  const ok = await apiPublish(ch, { a: 1 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(JSON.parse(ok.text).seq, 1, ok.text);
});

test('reconnect with since recovers exactly the missed messages', async () => {
  const ch = uniq('recover');
  const c1 = await connect();
  const sub = await c1.subscribe(ch);
  assert.equal(sub.seq, 0);
  for (let i = 1; i <= 3; i++) {
    const r = await apiPublish(ch, { i });
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).seq, i, r.text);
  }
  for (let i = 1; i <= 3; i++) checkMsg(await c1.json(), ch, i, { i });
  // The channel had no stream when c1 joined (an empty epoch): the
  // stream's epoch came with its first message.
  assert.ok(sub.epoch.startsWith('.'), sub.epoch);
  const epoch = c1.epochs.get(ch);
  assert.ok(epoch && !epoch.startsWith('.'), String(epoch));
  await c1.close(1000);

  for (let i = 4; i <= 6; i++) {
    const r = await apiPublish(ch, { i });
    assert.equal(JSON.parse(r.text).seq, i, r.text);
  }

  const c2 = await connect();
  const re = await c2.request({ op: 'sub', ch, id: 're', since: 3, epoch });
  assert.deepEqual(re, { op: 'sub', id: 're', ch, seq: 6, epoch, recovered: true });
  for (let i = 4; i <= 6; i++) checkMsg(await c2.json(), ch, i, { i });
  await c2.silence(200);
  // Live delivery continues after the replay without a gap or duplicate.
  const r = await apiPublish(ch, { i: 7 });
  assert.equal(JSON.parse(r.text).seq, 7, r.text);
  checkMsg(await c2.json(), ch, 7, { i: 7 });

  // A since from another epoch cannot be recovered.
  const c3 = await connect();
  const wrong = await c3.request({ op: 'sub', ch, id: 'we', since: 3, epoch: 'x' + epoch });
  assert.equal(wrong.recovered, false, JSON.stringify(wrong));
  assert.equal(wrong.seq, 7);
  // since == current seq: nothing missed, recovered, nothing replayed.
  const c4 = await connect();
  const upToDate = await c4.request({ op: 'sub', ch, id: 'ud', since: 7, epoch });
  assert.deepEqual(upToDate, { op: 'sub', id: 'ud', ch, seq: 7, epoch, recovered: true });
  await c4.silence(150);
  for (const c of [c2, c3, c4]) await c.close(1000);
});

test('200 messages from one publisher reach 20 subscribers complete and in order', async () => {
  const ch = uniq('fan');
  const subs = await Promise.all(Array.from({ length: 20 }, () => connect()));
  for (const s of subs) await s.subscribe(ch);
  const pub = await connect();
  const n = 200;
  for (let i = 1; i <= n; i++) pub.send({ op: 'pub', ch, data: { i, pad: 'x'.repeat(i % 50) }, id: `m${i}` });
  for (let i = 1; i <= n; i++) assert.deepEqual(await pub.json(), { op: 'ok', id: `m${i}`, seq: i });
  await Promise.all(subs.map(async (s, k) => {
    for (let i = 1; i <= n; i++) {
      const m = await s.json();
      assert.equal(m.seq, i, `subscriber ${k}: expected seq ${i}, got ${JSON.stringify(m)}`);
      checkMsg(m, ch, i, { i, pad: 'x'.repeat(i % 50) });
    }
  }));
  await Promise.all(subs.map((s) => s.silence(100)));
  await Promise.all([...subs, pub].map((c) => c.close(1000)));
});
