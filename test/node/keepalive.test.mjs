// Protocol-level keepalive, against `comet -ping-interval 500ms -pong-timeout 1500ms`
// (a race-instrumented node on a loaded machine can stall for several hundred ms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from './helpers.mjs';

const PONG_TIMEOUT_MS = 1500;
const WINDOW_MS = 4000; // pings at about 0.5, 2.0 and 3.5 s: one per pong timeout once answered

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

// One attempt: returns null when the connection stayed open for the window, or why not.
async function keepOpen() {
  const c = await connect();
  const mon = stallMonitor();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const stall = mon.stop();
  if (c.closeInfo) return { closeInfo: c.closeInfo, stall };
  assert.ok(c.pings >= 2, `expected at least 2 pings in ${WINDOW_MS} ms, got ${c.pings}`);
  assert.deepEqual(await c.request({ op: 'ping', id: 'still' }), { op: 'pong', id: 'still' });
  await c.close(1000);
  return null;
}

test('server pings are answered automatically and keep the connection open', async () => {
  // A close is a failure unless this client demonstrably stalled past the
  // pong timeout (an overloaded machine): then, and only then, try again.
  const stalled = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const failure = await keepOpen();
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
  const { code } = await c.waitClose(15000);
  assert.equal(code, 4002);
  assert.ok(c.pings >= 1, 'the server pinged before giving up');
});
