// offline.mjs: a message published while the server is down waits in the
// send queue (the demo shows it as queued), and is delivered once when the
// server is back. The tabs share one connection (a SharedWorker).
//
// Handshake with the Go test through files in COMET_CONTROL_DIR, as in
// restart.mjs: "stop" -> "stopped", "start" -> "started".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Demo, log, run, sleep, step, uniqueRoom } from './lib.mjs';

const ctl = process.env.COMET_CONTROL_DIR;
if (!ctl) {
  console.error('COMET_CONTROL_DIR is not set: run by go test ./test/e2e -run TestBrowserOffline');
  process.exit(2);
}
function signal(name) {
  const tmp = path.join(ctl, `.${name}`);
  fs.writeFileSync(tmp, String(Date.now()));
  fs.renameSync(tmp, path.join(ctl, name));
}
async function waitFile(name, timeout = 20000) {
  const file = path.join(ctl, name);
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (fs.existsSync(file)) {
      const body = fs.readFileSync(file, 'utf8');
      if (body.startsWith('error')) throw new Error(`the Go test could not ${name.replace(/ed$/, '')} the server: ${body}`);
      return;
    }
    await sleep(20);
  }
  throw new Error(`no ${name} from the Go test within ${timeout} ms`);
}

run('offline', async (state) => {
  const room = uniqueRoom('offline');
  const alice = await Demo.open(state.browser, { name: 'alice', room });
  state.pages.push(alice);
  await alice.connected();
  assert.equal(await alice.page.evaluate(() => window.demo.client.shared), 'worker');
  await alice.send('before');
  await alice.waitMessages(1);

  await step('stop the server; a message typed meanwhile is queued', async () => {
    signal('stop');
    await waitFile('stopped');
    await alice.page.waitForFunction(() => window.demo.client.state !== 'connected', null, { timeout: 15000 });
    await alice.send('typed while the server was down');
    await alice.page.waitForFunction(() => {
      const p = document.querySelector('#pending-list .pending-msg .pending-state');
      return p && /queued|sending/.test(p.textContent);
    }, null, { timeout: 5000 });
    assert.equal((await alice.messages()).length, 1, 'not shown as sent');
    assert.equal(await alice.page.evaluate(() => window.demo.client.pending.length), 1);
  });

  await step('start the server: the message is sent, once', async () => {
    signal('start');
    await waitFile('started');
    // The server is back: try now, not when the backoff (grown up to 30 s
    // while it was down) says.
    await alice.page.evaluate(() => window.demo.client.retryNow());
    await alice.page.waitForFunction(() => window.demo.client.state === 'connected', null, { timeout: 20000 });
    const shown = await alice.waitMessages(2, 20000);
    assert.deepEqual(shown.map((m) => m.text), ['before', 'typed while the server was down']);
    await alice.page.waitForFunction(() => document.querySelectorAll('#pending-list .pending-msg').length === 0, null, { timeout: 5000 });
    assert.equal(await alice.page.evaluate(() => window.demo.client.pending.length), 0);
  });

  await step('a new window reads the room from history: the message is there once', async () => {
    const bob = await Demo.open(state.browser, { name: 'bob', room });
    state.pages.push(bob);
    await bob.connected();
    const shown = await bob.waitMessages(1);
    await sleep(300);
    assert.deepEqual((await bob.messages()).map((m) => m.text), ['typed while the server was down']);
    log(`delivered once after the restart: seq ${shown[0].seq}`);
  });
  alice.assertClean();
});
