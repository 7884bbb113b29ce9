// The node dashboard in headless Chromium: opened on the admin listener
// with the admin token as Basic credentials (as a person's browser would
// ask for it), it must go live over the node's public SSE, show what the
// test set up, and draw without a page error or a CSP violation. Then it
// writes a screenshot. Run by test/ops/dashboard_test.go.
import fs from 'node:fs';

let chromium;
try {
  ({ chromium } = await import(new URL('../browser/node_modules/playwright-core/index.mjs', import.meta.url)));
} catch (err) {
  console.error(`playwright-core is missing from test/browser/node_modules (${err.message}): run make test-deps`);
  process.exit(2);
}

const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set: this script is run by go test ./test/ops`);
    process.exit(2);
  }
  return v;
};
const ADMIN = need('COMET_ADMIN_URL');
const TOKEN = need('COMET_ADMIN_TOKEN');
const WS = need('COMET_EXPECT_WS');
const TOP = need('COMET_EXPECT_TOP');
const SHOT = need('COMET_SCREENSHOT');
const CHROMIUM = process.env.COMET_CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync'],
  timeout: 20000,
});
const problems = [];
try {
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    httpCredentials: { username: 'ops', password: TOKEN },
  });
  const page = await ctx.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(`${ADMIN}/dashboard`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#state[data-state="live"]', { timeout: 15000 });
  // The numbers the test set up, and a few updates for the chart.
  await page.waitForFunction(
    ([ws, top]) => {
      const row = document.querySelector('#conns-ws td.num');
      const first = document.querySelector('#top tbody tr td');
      return row && row.textContent === ws && first && first.textContent === top &&
        Number(document.body.dataset.updates || 0) >= 12;
    },
    [WS, TOP],
    { timeout: 20000 },
  );
  const shown = await page.evaluate(() => ({
    total: document.getElementById('total').textContent,
    pub: document.getElementById('pub-rate').textContent,
    subs: document.getElementById('subs').textContent,
    top: [...document.querySelectorAll('#top tbody tr')].map((r) => r.textContent),
  }));
  console.log('dashboard shows', JSON.stringify(shown));
  if (shown.pub === '0' || shown.pub === '–') problems.push(`messages per second shown as ${shown.pub}`);
  await page.screenshot({ path: SHOT, fullPage: true });
  if (!fs.existsSync(SHOT)) problems.push('no screenshot written');
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('dashboard ok:', SHOT);
