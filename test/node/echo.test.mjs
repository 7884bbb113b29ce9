// GET /echo, enabled by `comet -echo`: every message comes back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from './helpers.mjs';

test('/echo returns text and binary messages exactly', async () => {
  const c = await connect('/echo');
  const cases = [
    { data: 'hello', isBinary: false },
    { data: '', isBinary: false },
    { data: 'ünïcödé ☄ 😀 not JSON {', isBinary: false },
    { data: Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), isBinary: true },
    { data: Buffer.alloc(0), isBinary: true },
    { data: randomBytes(40_000), isBinary: true },
    { data: 'x'.repeat(30_000), isBinary: false },
  ];
  for (const { data, isBinary } of cases) {
    c.ws.send(data, { binary: isBinary });
    const m = await c.next();
    assert.equal(m.isBinary, isBinary, `opcode of echo for ${String(data).slice(0, 20)}`);
    assert.ok(Buffer.from(data).equals(m.data), `payload of ${data.length}-byte ${isBinary ? 'binary' : 'text'} message differs`);
  }
  await c.close(1000);
});

test('/echo returns a fragmented message reassembled', async () => {
  const c = await connect('/echo');
  c.ws.send('frag', { fin: false });
  c.ws.send('ment', { fin: false });
  c.ws.send('ed ☄', { fin: true });
  const t = await c.next();
  assert.equal(t.isBinary, false);
  assert.equal(t.data.toString('utf8'), 'fragmented ☄');
  const bin = randomBytes(3000);
  c.ws.send(bin.subarray(0, 1000), { binary: true, fin: false });
  c.ws.send(bin.subarray(1000, 2000), { binary: true, fin: false });
  c.ws.send(bin.subarray(2000), { binary: true, fin: true });
  const b = await c.next();
  assert.equal(b.isBinary, true);
  assert.ok(bin.equals(b.data), 'reassembled binary differs');
  await c.close(1000);
});
