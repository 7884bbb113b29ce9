// chat.mjs: for each forced transport, two users in two browser contexts
// chat through the demo UI and both see every message once, in the same
// order; then a screenshot of the demo is written as an artifact.
//
// COMET_TRANSPORTS (default: all four) limits the transports;
// COMET_SCREENSHOT is the screenshot's path.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, Demo, TRANSPORTS, checkConversation, log, run, step, uniqueRoom } from './lib.mjs';

const transports = (process.env.COMET_TRANSPORTS || TRANSPORTS.join(',')).split(',').filter(Boolean);
const screenshot = process.env.COMET_SCREENSHOT || path.join(ARTIFACTS, 'demo.png');
const N = 4; // messages per user

async function chat(state, transport) {
  const room = uniqueRoom(transport);
  const [alice, bob] = await Promise.all([
    Demo.open(state.browser, { name: `alice-${transport}`, room, transport }),
    Demo.open(state.browser, { name: `bob-${transport}`, room, transport }),
  ]);
  state.pages.push(alice, bob);
  await Promise.all([alice.connected(transport), bob.connected(transport)]);
  // Both type at once, without waiting for each other: the server orders.
  const said = { [alice.name]: [], [bob.name]: [] };
  const talk = async (d) => {
    for (let i = 1; i <= N; i++) {
      const text = `${d.name} says ${i}`;
      said[d.name].push(text);
      await d.send(text);
    }
  };
  await Promise.all([talk(alice), talk(bob)]);
  const [a, b] = await Promise.all([alice.waitMessages(2 * N), bob.waitMessages(2 * N)]);
  checkConversation(alice.name, a, said);
  checkConversation(bob.name, b, said);
  assert.deepEqual(a, b, `${transport}: the two windows show different conversations`);
  assert.equal(await alice.transport(), transport);
  assert.equal(await bob.transport(), transport);
  for (const d of [alice, bob]) {
    d.assertClean();
    const errors = await d.events('error');
    assert.deepEqual(errors, [], `${d.name}: client errors`);
    const shown = await d.page.$eval('#status-text', (e) => e.textContent);
    assert.match(shown, /^Connected · /, `${d.name}: status shows ${shown}`);
  }
  log(`${transport}: ${a.length} messages, same order in both windows, seq ${a[0].seq}..${a.at(-1).seq}`);
  return { alice, bob, room };
}

// The screenshot: a lived-in demo window with two rooms and a few messages.
async function takeScreenshot(state) {
  const room = uniqueRoom('lobby').replace(/-\d+-\d+$/, '');
  const ada = await Demo.open(state.browser, { name: 'Ada', room: `${room},random`, transport: 'websocket' });
  const linus = await Demo.open(state.browser, { name: 'Linus', room: `${room},random`, transport: 'poll' });
  state.pages.push(ada, linus);
  await Promise.all([ada.connected('websocket'), linus.connected('poll')]);
  const lines = [
    [linus, 'Hi Ada! Is the new push server up?'],
    [ada, 'Yes: WebSocket here, and it falls back to SSE, long-poll or an iframe.'],
    [linus, 'Nice. I forced long-poll in my window and your messages still arrive in order.'],
    [linus, 'Even across a server restart?'],
    [ada, 'Even then: the client resumes every room from its last seq, and says so when history has a gap.'],
  ];
  let n = (await ada.messages()).length;
  for (const [d, text] of lines) {
    await d.send(text);
    await ada.waitMessages(++n);
  }
  await linus.page.evaluate(() => window.demo.client.publish('room:random', { from: 'Linus', text: 'psst' }));
  await ada.page.waitForFunction(() => document.querySelector('.badge'));
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await ada.page.screenshot({ path: screenshot });
  const size = fs.statSync(screenshot).size;
  assert.ok(size > 10000, `screenshot ${screenshot} is only ${size} bytes`);
  log(`screenshot: ${screenshot} (${size} bytes)`);
}

run('chat', async (state) => {
  await step(`chat over ${transports.join(', ')} (in parallel)`, () => Promise.all(transports.map((t) => chat(state, t))));
  await step('screenshot', () => takeScreenshot(state));
});
