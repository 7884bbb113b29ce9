// Protocol-level keepalive, against `comet -ping-interval 300ms -pong-timeout 300ms`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from './helpers.mjs';

const PONG_TIMEOUT_MS = 300;

// stallMonitor measures the longest gap between 25 ms timer callbacks: how
// long this process itself could not have answered a ping.
function stallMonitor() {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 25);
    last = now;
  }, 25);
  return { stop() { clearInterval(timer); return Math.round(worst); } };
}

// One attempt: returns null when the connection stayed open for 2 s, or why not.
async function keepOpenFor2s() {
  const c = await connect();
  const mon = stallMonitor();
  await new Promise((r) => setTimeout(r, 2000));
  const stall = mon.stop();
  if (c.closeInfo) return { closeInfo: c.closeInfo, stall };
  assert.ok(c.pings >= 3, `expected at least 3 pings in 2 s at a 300 ms interval, got ${c.pings}`);
  assert.deepEqual(await c.request({ op: 'ping', id: 'still' }), { op: 'pong', id: 'still' });
  await c.close(1000);
  return null;
}

test('server pings are answered automatically and keep the connection open', async () => {
  // A close is a failure unless this client demonstrably stalled past the
  // pong timeout (an overloaded machine): then, and only then, try again.
  const stalled = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const failure = await keepOpenFor2s();
    if (!failure) return;
    assert.ok(failure.stall > PONG_TIMEOUT_MS,
      `connection closed ${JSON.stringify(failure.closeInfo)} although the client never stalled over ` +
      `${failure.stall} ms (pong timeout ${PONG_TIMEOUT_MS} ms)`);
    stalled.push(failure.stall);
  }
  assert.fail(`inconclusive: the client process stalled ${stalled.join(', ')} ms (> pong timeout) in every attempt; the machine is too loaded`);
});

test('a client that never answers pings is closed with 4002', async () => {
  const c = await connect('/ws', { autoPong: false });
  const { code } = await c.waitClose(5000);
  assert.equal(code, 4002);
  assert.ok(c.pings >= 1, 'the server pinged before giving up');
});
