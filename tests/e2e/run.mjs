// End-to-end test of the built page (dist/) in headless Chromium via playwright-core.
// Serves dist/ on 127.0.0.1 itself, fails on any console error or page error, records
// every request (none may leave 127.0.0.1, and none may happen after the first view is
// drawn), and saves screenshots under target/e2e/.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const DIST = path.resolve('dist');
const OUT = path.resolve('target/e2e');
fs.mkdirSync(OUT, { recursive: true });
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const file = path.join(DIST, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname));
  if (!file.startsWith(DIST) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise(r => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

let passed = 0, failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try { await fn(); passed++; console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { failed++; console.log(`FAIL ${name}: ${e.stack ?? e}`); }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** A fresh page that records problems and requests. */
async function open(query = '', { allowErrors = false } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const log = { errors: [], requests: [], afterReady: [] , ready: false };
  page.on('console', m => { if (m.type() === 'error') log.errors.push(`console: ${m.text()}`); });
  page.on('pageerror', e => log.errors.push(`pageerror: ${e.message}`));
  // Every request, including the worker's (the context sees them all).
  page.context().on('request', r => { log.requests.push(r.url()); if (log.ready) log.afterReady.push(r.url()); });
  page.log = log;
  page.allowErrors = allowErrors;
  await page.goto(`${origin}/${query}`);
  return page;
}

async function viewReady(page) {
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=influence-row]').length >= 5, null, { timeout: 20000 });
  page.log.ready = true;
}

function noProblems(page) {
  const outside = page.log.requests.filter(u => !u.startsWith(origin) && !u.startsWith('data:'));
  assert(outside.length === 0, `requests left 127.0.0.1: ${outside.join(', ')}`);
  assert(page.log.afterReady.length === 0, `requests after load: ${page.log.afterReady.join(', ')}`);
  if (!page.allowErrors) assert(page.log.errors.length === 0, page.log.errors.join('\n'));
}

async function canvasInk(page) {
  return page.$eval('[data-testid=main-plot]', c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) ink++;
    return ink;
  });
}

await check('default view: trained model, selected test point, ranked rows with real numbers', async () => {
  const page = await open();
  await viewReady(page);
  const status = await page.textContent('[data-testid=model-status]');
  assert(/Logistic regression: \d+ Newton steps, converged/.test(status), `model status: ${status}`);
  const rows = await page.$$eval('[data-testid=influence-row]', els => els.map(e => [e.textContent, Number(e.dataset.value)]));
  assert(rows.length === 10, `expected 10 ranked rows, got ${rows.length}`);
  assert(rows.every(([, v]) => Number.isFinite(v)), 'every row has a finite score');
  assert(rows[0][1] > 0 && rows[9][1] < 0, `top row helps (${rows[0][1]}), last row harms (${rows[9][1]})`);
  assert(/^Removing #\d+ \(class [AB]\) would raise this point's loss by \d\.\d{4}/.test(rows[0][0]), `sentence: ${rows[0][0]}`);
  const ink = await canvasInk(page);
  assert(ink > 5000, `the plot looks blank (${ink} drawn pixels)`);
  await page.screenshot({ path: `${OUT}/default.png`, fullPage: true });
  await page.waitForTimeout(500); // anything late would show up as a request after load
  noProblems(page);
  await page.close();
});

await check('switching to iris trains softmax and redraws, with no network traffic', async () => {
  const page = await open();
  await viewReady(page);
  await page.selectOption('[data-testid=dataset-select]', 'iris');
  await page.waitForFunction(() => /Softmax regression: \d+ Newton steps/.test(document.querySelector('[data-testid=model-status]').textContent), null, { timeout: 20000 });
  const status = await page.textContent('[data-testid=model-status]');
  assert(/test accuracy 0\.[89]\d\d|test accuracy 1\.000/.test(status), `iris accuracy: ${status}`);
  await page.screenshot({ path: `${OUT}/iris.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('a panic shows the error banner instead of a dead page', async () => {
  const page = await open('?debug=panic', { allowErrors: true });
  await page.waitForSelector('[data-testid=panic-banner]', { timeout: 20000 });
  const text = await page.textContent('[data-testid=panic-banner]');
  assert(text.includes('requested by the URL') && text.includes('Reload'), `banner: ${text}`);
  assert(await page.isVisible('[data-testid=panic-banner]'), 'banner visible');
  await page.screenshot({ path: `${OUT}/panic.png`, fullPage: true });
  await page.close();
});

await browser.close();
server.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
