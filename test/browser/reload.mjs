// reload.mjs: with persist, a reload resumes every channel from its saved
// position: messages published while the page reloads arrive after it,
// none is lost and none comes twice. The page keeps what it received in
// sessionStorage, as an application keeps its state.
import assert from 'node:assert/strict';
import { BASE, log, publish, run, step, uniqueRoom } from './lib.mjs';

const setup = async (ch) => {
  const { Comet } = await import('/comet.js');
  const got = JSON.parse(sessionStorage.getItem('got') || '[]');
  window.got = got;
  const c = new Comet({ persist: true });
  window.c = c;
  c.subscribe(ch, (m) => {
    got.push(m.data);
    sessionStorage.setItem('got', JSON.stringify(got));
  });
  c.connect();
  await new Promise((r) => c.once('subscribed', r));
  return c.position(ch);
};

run('reload', async (state) => {
  const ctx = await state.browser.newContext();
  const page = await ctx.newPage();
  const d = { page, name: 'reload', pageErrors: [], describe: async () => JSON.stringify(await page.evaluate(() => window.got)) };
  page.on('pageerror', (err) => d.pageErrors.push(String(err)));
  state.pages.push(d);
  const ch = `room:${uniqueRoom('reload')}`;
  await page.goto(`${BASE}/healthz`);
  await page.evaluate(setup, ch);
  await step('three messages before the reload', async () => {
    for (let i = 1; i <= 3; i++) await publish(ch, i);
    await page.waitForFunction(() => window.got.length === 3, null, { timeout: 10000 });
  });
  const pos = await step('reload while two more are published', async () => {
    const nav = page.reload();
    for (let i = 4; i <= 5; i++) await publish(ch, i);
    await nav;
    return page.evaluate(setup, ch);
  });
  assert.ok(pos && pos.seq >= 3, `resumed from ${JSON.stringify(pos)}`);
  await step('two more after it', async () => {
    for (let i = 6; i <= 7; i++) await publish(ch, i);
    await page.waitForFunction(() => window.got.length >= 7, null, { timeout: 10000 });
  });
  await new Promise((r) => setTimeout(r, 300)); // a late duplicate would show now
  assert.deepEqual(await page.evaluate(() => window.got), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(await page.evaluate(() => window.c.stats.gaps), 0);
  assert.deepEqual(d.pageErrors, []);
  log(`reload resumed from seq ${pos.seq}: 7 messages, none lost, none twice`);
});
