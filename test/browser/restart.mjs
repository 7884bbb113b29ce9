// restart.mjs: a server restart in the middle of a conversation. One
// window per transport chats in one room; the Go test then stops the server
// (SIGTERM) and starts a new one on the same port; messages published
// through the backend API while the windows are away must arrive once the
// clients reconnect, none twice, and the conversation goes on.
//
// Each window has a connection of its own (share=off): browser offline
// emulation does not reach a SharedWorker's connection.
//
// The windows are kept away (browser offline) from the moment they notice
// the server is gone until the messages are published, so the test knows
// they come from the recovery, not from live delivery.
//
// Handshake with the Go test through files in COMET_CONTROL_DIR:
//   we write "stop"  -> it stops the server, writes "stopped"
//   we write "start" -> it starts the new one, writes "started"
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Demo, TRANSPORTS, log, publish, run, sleep, step, uniqueRoom } from './lib.mjs';

const ctl = process.env.COMET_CONTROL_DIR;
if (!ctl) {
  console.error('COMET_CONTROL_DIR is not set: run by go test ./test/e2e -run TestBrowserRestart');
  process.exit(2);
}
const transports = (process.env.COMET_TRANSPORTS || TRANSPORTS.join(',')).split(',').filter(Boolean);
const AWAY = 5;

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

run('restart', async (state) => {
  const room = uniqueRoom('restart');
  const ch = `room:${room}`;
  const pages = await step('open one window per transport', async () => {
    const ds = await Promise.all(transports.map((t) => Demo.open(state.browser, { name: `user-${t}`, room, transport: t, query: { share: 'off' } })));
    state.pages.push(...ds);
    await Promise.all(ds.map((d, i) => d.connected(transports[i])));
    return ds;
  });
  const expected = [];
  const converse = async (phase) => {
    for (const d of pages) {
      const text = `${d.name}: ${phase}`;
      expected.push(text);
      await d.send(text);
      await Promise.all(pages.map((p) => p.waitMessages(expected.length)));
    }
  };

  await step('chat before the restart', () => converse('before the restart'));

  await step('stop the server', async () => {
    signal('stop');
    await waitFile('stopped');
    // Every window notices, then goes offline so that it stays away.
    await Promise.all(
      pages.map((d) =>
        d.page.waitForFunction(() => window.demo.client.state !== 'connected', null, { timeout: 15000 }).catch(async (err) => {
          throw new Error(`${d.name} did not notice the server stopped: ${err.message}\n${await d.describe()}`);
        }),
      ),
    );
    await Promise.all(pages.map((d) => d.ctx.setOffline(true)));
  });

  await step(`start a new server, publish ${AWAY} messages through the API while the windows are away`, async () => {
    signal('start');
    await waitFile('started');
    for (let i = 1; i <= AWAY; i++) {
      const text = `backend: published while away ${i}`;
      expected.push(text);
      const seq = await publish(ch, { from: 'backend', text });
      assert.equal(seq, i, 'the new server starts a new sequence');
    }
    for (const d of pages) {
      const shown = await d.messages();
      assert.equal(shown.length, transports.length, `${d.name} got messages while away: ${JSON.stringify(shown)}`);
    }
  });

  await step('back online: every window reconnects and recovers', async () => {
    await Promise.all(pages.map((d) => d.ctx.setOffline(false)));
    await Promise.all(pages.map((d, i) => d.connected(transports[i], 20000)));
    await Promise.all(pages.map((p) => p.waitMessages(expected.length)));
  });

  await step('chat after the restart', () => converse('after the restart'));
  await sleep(300); // a late duplicate would show up now

  for (const [i, d] of pages.entries()) {
    const shown = await d.messages();
    const texts = shown.map((m) => m.text);
    assert.deepEqual(texts, expected, `${d.name}: the conversation (none lost, none twice, in order)`);
    const gaps = (await d.events('gap')).filter((g) => g.channel === ch);
    assert.equal(gaps.length, 1, `${d.name}: one history gap for the restarted channel (new epoch): ${JSON.stringify(gaps)}`);
    assert.equal(gaps[0].reason, 'epoch changed');
    const gapNotice = await d.page.$$eval('#messages .system.gap', (els) => els.length);
    assert.equal(gapNotice, 1, `${d.name}: the demo shows the gap`);
    const connected = (await d.events('connected')).map((e) => e.transport);
    assert.deepEqual(connected, [transports[i], transports[i]], `${d.name}: connected twice over ${transports[i]}`);
    const errors = await d.events('error');
    assert.deepEqual(errors, [], `${d.name}: client errors`);
    d.assertClean();
    log(`${d.name}: ${texts.length} messages, none twice; duplicates dropped by the client: ${(await d.stats()).duplicates}`);
  }
});
