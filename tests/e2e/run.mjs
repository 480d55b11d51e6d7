// End-to-end test of the built page (dist/) in headless Chromium via playwright-core.
// Serves dist/ on 127.0.0.1 itself, fails on any console error or page error, records
// every request (none may leave 127.0.0.1, and none may happen after the first view is
// drawn), and saves screenshots under target/e2e/.
import { serve, servePage, launch, numbersCsv } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const OUT = path.resolve('target/e2e');
const AXE = fs.readFileSync(path.resolve('node_modules/axe-core/axe.min.js'), 'utf8');
fs.mkdirSync(OUT, { recursive: true });
const { origin, close } = await serve();
const browser = await launch();

let passed = 0, failed = 0;
// Main-thread tasks over 50 ms (the Long Tasks API), per journey: recorded, not asserted
// (a timing is a benchmark, not a test); the longest is printed with each journey. The
// test's own heavy work in the page (axe-core, reading canvas pixels) runs through
// `testWork`, and tasks overlapping it are not counted: they are not the page's.
let longTasks = [];
const longest = [];
async function check(name, fn) {
  // E2E_ONLY=words runs only the journeys whose name contains them (while developing).
  if (process.env.E2E_ONLY && !name.includes(process.env.E2E_ONLY)) return;
  const t0 = Date.now();
  longTasks = [];
  try { await fn(); passed++; console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { failed++; console.log(`FAIL ${name}: ${e.stack ?? e}`); }
  const worst = Math.max(0, ...longTasks);
  longest.push([worst, name]);
  console.log(`     longest main-thread task: ${worst ? `${worst.toFixed(0)} ms (${longTasks.length} over 50 ms)` : 'none over 50 ms'}`);
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** A fresh page that records problems and requests. */
async function open(query = '', { allowErrors = false, colorScheme = 'light' } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme });
  const log = { errors: [], requests: [], afterReady: [] , ready: false };
  page.on('console', m => { if (m.type() === 'error') log.errors.push(`console: ${m.text()}`); });
  page.on('pageerror', e => log.errors.push(`pageerror: ${e.message}`));
  // Every request, including the worker's (the context sees them all).
  page.context().on('request', r => {
    const url = r.url();
    log.requests.push(url);
    // The service worker's own requests (it copies this build for offline use) stay in
    // `requests`, which must all be this origin's; they are not the page's traffic.
    const own = r.serviceWorker() !== null;
    if (log.ready && !own && !url.startsWith('blob:') && !url.startsWith('data:')) log.afterReady.push(url);
  });
  page.log = log;
  page.allowErrors = allowErrors;
  await page.addInitScript(() => {
    window.__longTasks = [];
    window.__testWork = [];
    new PerformanceObserver(l => l.getEntries().forEach(e => window.__longTasks.push([e.startTime, e.duration])))
      .observe({ type: 'longtask', buffered: true });
  });
  // A screenshot is the test's work too: a full-page capture lays the page out again at
  // its full height, and the charts redraw for the new size.
  const screenshot = page.screenshot.bind(page);
  page.screenshot = async options => {
    const t0 = await page.evaluate(() => performance.now());
    try { return await screenshot(options); }
    finally { await page.evaluate(t0 => window.__testWork?.push([t0, performance.now()]), t0).catch(() => {}); }
  };
  const close = page.close.bind(page);
  page.close = async () => {
    longTasks.push(...await page.evaluate(() => window.__longTasks
      .filter(([t, d]) => !window.__testWork.some(([a, b]) => t < b && t + d > a))
      .map(([, d]) => d)).catch(() => []));
    await close();
  };
  await page.goto(`${origin}/${query}`);
  return page;
}

/** `page.evaluate(fn, arg)` for the test's own heavy work, kept out of the long tasks. */
async function testWork(page, fn, arg) {
  const t0 = await page.evaluate(() => performance.now());
  try { return await page.evaluate(fn, arg); }
  finally { await page.evaluate(t0 => window.__testWork?.push([t0, performance.now()]), t0).catch(() => {}); }
}

/** Record every value the progress bar `testid` shows, as the page shows it, in
 * `window[name]` (fractions of its maximum). */
async function recordBar(page, name, testid) {
  await testWork(page, ([name, testid]) => {
    window[name] = [];
    new MutationObserver(() => {
      const p = document.querySelector(`[data-testid=${testid}]`);
      if (p) window[name].push(Number(p.value) / Number(p.max));
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  }, [name, testid]);
}

async function viewReady(page) {
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=influence-row]').length >= 5, null, { timeout: 20000 });
  page.log.ready = true;
}

function noProblems(page) {
  // data: and blob: URLs never leave the page (exports are blob: downloads).
  const outside = page.log.requests.filter(u => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert(outside.length === 0, `requests left 127.0.0.1: ${outside.join(', ')}`);
  assert(page.log.afterReady.length === 0, `requests after load: ${page.log.afterReady.join(', ')}`);
  if (!page.allowErrors) assert(page.log.errors.length === 0, page.log.errors.join('\n'));
}

/** axe-core's WCAG 2 A and AA rules on the page as it is now: no violation allowed. */
async function accessible(page, name) {
  if (!await page.evaluate(() => typeof window.axe !== 'undefined')) await testWork(page, AXE);
  const found = await testWork(page, async () => (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } }))
    .violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}`));
  assert(found.length === 0, `axe on ${name}: ${found.join('; ')}`);
}

async function canvasInk(page) {
  return testWork(page, () => {
    const c = document.querySelector('[data-testid=main-plot]');
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
  assert(/^Removing #\d+, labelled [AB], would raise this point's loss by \d\.\d{4}/.test(rows[0][0]), `sentence: ${rows[0][0]}`);
  const ink = await canvasInk(page);
  assert(ink > 5000, `the plot looks blank (${ink} drawn pixels)`);
  await accessible(page, 'the default view');
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


/** A CSV the test writes: two numeric features and a yes/no label with some overlap. */
function makeCsv(n = 80) {
  let s = 'size;weight;label\n';
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < n; i++) {
    const a = rnd() * 4 - 2, b = rnd() * 4 - 2;
    s += `${a.toFixed(4)};${b.toFixed(4)};${a + 0.5 * b + (rnd() - 0.5) > 0 ? 'yes' : 'no'}\n`;
  }
  return s;
}

async function upload(page, name, text) {
  await page.setInputFiles('[data-testid=csv-input]', { name, mimeType: 'text/csv', buffer: Buffer.from(text) });
}

await check('uploading a CSV trains on it and explains a prediction, locally', async () => {
  const page = await open();
  await viewReady(page);
  await upload(page, 'mine.csv', makeCsv());
  await page.waitForFunction(() => document.querySelector('[data-testid=target-select]') !== null, null, { timeout: 20000 });
  await page.waitForFunction(() => /Logistic regression: \d+ Newton steps, converged/.test(document.querySelector('[data-testid=model-status]').textContent)
    && /prob\. of '(yes|no)'/.test(document.querySelector('[data-testid=explained]').textContent), null, { timeout: 20000 });
  const hint = await page.textContent('.data-panel');
  assert(hint.includes('mine.csv: 80 rows, 3 columns'), `upload summary: ${hint}`);
  // Away to a built-in dataset and back to the uploaded file.
  await page.selectOption('[data-testid=dataset-select]', 'iris');
  await page.waitForFunction(() => /Softmax regression/.test(document.querySelector('[data-testid=model-status]').textContent), null, { timeout: 20000 });
  await page.selectOption('[data-testid=dataset-select]', 'upload');
  await page.waitForFunction(() => /Logistic regression/.test(document.querySelector('[data-testid=model-status]').textContent)
    && /prob\. of '(yes|no)'/.test(document.querySelector('[data-testid=explained]').textContent), null, { timeout: 20000 });
  assert((await page.$$('[data-testid=influence-row]')).length >= 5, 'ranked rows for the uploaded data');
  // The page reads a training row's features where they arrived (no copy of them all):
  // a hovered point's tooltip shows its row's values as the file has them.
  const lines = makeCsv().split('\n');
  const plot = await page.locator('[data-testid=main-plot]').boundingBox();
  let tip = '';
  for (let k = 0; k < 400 && !tip.startsWith('Training'); k++) {
    await page.mouse.move(plot.x + plot.width * (0.1 + 0.8 * ((k * 37) % 100) / 100), plot.y + plot.height * (0.1 + 0.8 * ((k * 61) % 97) / 97));
    tip = (await page.$('[data-testid=tooltip]')) ? await page.textContent('[data-testid=tooltip]') : '';
  }
  const [, line, size, weight] = tip.match(/\(line (\d+)\): size = (-?[\d.]+), weight = (-?[\d.]+)/) ?? [];
  assert(line, `a training point's tooltip names its line and values: ${tip}`);
  const cells = lines[Number(line) - 1].split(';');
  assert(Math.abs(Number(size) - Number(cells[0])) < 1e-4 && Math.abs(Number(weight) - Number(cells[1])) < 1e-4,
    `the tooltip's values ${size}, ${weight} are line ${line}'s: ${cells}`);
  await page.mouse.move(0, 0);
  // The group lab's "by feature" rule reads one feature of every training row: size
  // above 0 and below 0 split the training points between them, all above -100.
  await page.selectOption('[data-testid=group-rule]', 'feature');
  const members = async (side, value) => {
    await page.locator('.panel.group .params select').nth(2).selectOption(side);
    await page.locator('.panel.group .params input[step=any]').fill(String(value));
    await page.locator('.panel.group .params input[step=any]').press('Tab');
    return Number((await page.textContent('[data-testid=group-button]')).match(/\d+/)[0]);
  };
  const [above, below, all] = [await members('above', 0), await members('below', 0), await members('above', -100)];
  const train = (await page.textContent('.data-panel')).match(/(\d+) training and \d+ test points/);
  assert(train && above > 0 && below > 0 && above + below === all && all === Number(train[1]),
    `by feature: ${above} above 0, ${below} below, ${all} in all (${train?.[0]})`);
  console.log(`     tooltip: line ${line}, size = ${size}, weight = ${weight}; by feature: ${above} + ${below} = ${all} training points (${train?.[0]})`);
  await page.screenshot({ path: `${OUT}/upload.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('audit: review three candidates by keyboard, export the cleaned CSV and the log, re-upload it', async () => {
  const page = await open();
  await viewReady(page);
  const original = makeCsv();
  await upload(page, 'mine.csv', original);
  await page.waitForFunction(() => /Logistic regression: \d+ Newton steps, converged/.test(document.querySelector('[data-testid=model-status]').textContent), null, { timeout: 20000 });
  await page.click('[data-testid=tab-audit]');
  await page.click('[data-testid=audit-rank]');
  await page.waitForSelector('[data-testid=audit-candidate]', { timeout: 20000 });
  assert((await page.$$('[data-testid=audit-candidate]')).length === 30, 'thirty candidates');
  const decisions = () => page.getAttribute('[data-testid=audit-metrics]', 'data-decisions').then(Number);
  const retrained = async n => page.waitForFunction(k => {
    const m = document.querySelector('[data-testid=audit-metrics]');
    return m && m.dataset.decisions === String(k) && m.dataset.now !== '';
  }, n, { timeout: 20000 });
  await page.focus('[data-testid=audit-queue]');
  await page.keyboard.press('d');           // remove the first candidate
  await retrained(1);
  await page.focus('[data-testid=audit-queue]');
  await page.keyboard.press('r');           // relabel the second to the class the model prefers
  await retrained(2);
  await page.focus('[data-testid=audit-queue]');
  await page.keyboard.press('k');           // keep the third
  await retrained(3);
  // Undo and redo the last one with the keyboard; arrows move the focus back.
  await page.keyboard.press('u');
  assert(await decisions() === 2, 'undo removes one decision');
  await page.keyboard.press('k');
  assert(await decisions() === 3, 'decided again');
  const verdicts = await page.$$eval('[data-testid=audit-candidate]', els => els.slice(0, 4).map(e => e.dataset.verdict));
  assert(verdicts[0] === 'some(remove)' && verdicts[1].startsWith('some(relabel(') && verdicts[2] === 'some(keep)' && verdicts[3] === 'none', `verdicts ${verdicts}`);
  console.log(`     ${await page.textContent('[data-testid=audit-metrics]')}`);
  const removal = await page.textContent('[data-testid=audit-removal]');
  assert(/would change by [+-]\d\.\d{4} \(influence\), and really changes by [+-]\d\.\d{4} \(retrained\)/.test(removal), removal);
  await accessible(page, 'the Audit tab');
  await page.screenshot({ path: `${OUT}/audit.png`, fullPage: true });
  // The cleaned file: the removed row gone, one label changed, same columns and delimiter.
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=audit-export-csv]')]);
  assert(csvDownload.suggestedFilename() === 'mine-cleaned.csv', csvDownload.suggestedFilename());
  const cleaned = fs.readFileSync(await csvDownload.path(), 'utf8');
  const a = original.trim().split('\n'), b = cleaned.trim().split('\n');
  assert(b[0] === a[0] && b.length === a.length - 1, `header ${b[0]}, ${b.length} lines`);
  const onlyNew = b.filter(l => !a.includes(l)), onlyOld = a.filter(l => !b.includes(l));
  assert(onlyNew.length === 1 && onlyOld.length === 2, `changed lines: new ${onlyNew}, old ${onlyOld}`);
  const [logDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=audit-export-log]')]);
  const log = JSON.parse(fs.readFileSync(await logDownload.path(), 'utf8'));
  assert(log.ranking === 'self_influence' && log.decisions.length === 3, JSON.stringify(log).slice(0, 300));
  assert(log.decisions[0].verdict === 'remove' && 'relabel' in log.decisions[1].verdict && log.decisions[2].verdict === 'keep', JSON.stringify(log.decisions));
  assert(log.decisions.every(d => Number.isFinite(d.score) && d.before && d.after), 'scores and metrics with every decision');
  // Re-upload: the decisions are in the data now.
  await page.click('[data-testid=tab-explore]');
  await upload(page, 'mine-cleaned.csv', cleaned);
  await page.waitForFunction(() => document.querySelector('.data-panel').textContent.includes('mine-cleaned.csv: 79 rows'), null, { timeout: 20000 });
  noProblems(page);
  await page.close();
});

await check('your rows: a text ID column is skipped, missing values dropped on request, rows named by line or ID', async () => {
  const page = await open();
  await viewReady(page);
  let text = 'line_id,size,weight,label\n';
  makeCsv(60).trim().split('\n').slice(1).forEach((l, i) => {
    const [a, b, y] = l.split(';');
    text += `A${i},${a},${i === 5 ? 'NA' : b},${y}\n`;
  });
  await upload(page, 'ids.csv', text);
  // The missing cell is refused with its line and what to do; the previous view stays.
  await page.waitForFunction(() => /line 7.*drop rows with missing values/.test(document.body.textContent), null, { timeout: 20000 });
  const failed = await page.textContent('[data-testid=upload-failed]');
  assert(failed.includes('“ids.csv” did not train'), failed);
  await page.check('[data-testid=drop-missing]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=data-note]')].map(n => n.textContent).join(' ').includes('1 of 60 rows had a missing value'), null, { timeout: 20000 });
  const notes = await page.$$eval('[data-testid=data-note]', ns => ns.map(n => n.textContent).join(' '));
  assert(notes.includes('“line_id” holds text (line 2: “A0”)'), notes);
  await page.waitForFunction(() => /\(line \d+\)/.test(document.querySelector('[data-testid=influence-row]')?.textContent ?? ''), null, { timeout: 20000 });
  // Name the rows by the ID column: the list says which row of the file each point is.
  await page.selectOption('[data-testid=id-select]', 'line_id');
  await page.waitForFunction(() => /\(“A\d+”, line \d+\)/.test(document.querySelector('[data-testid=influence-row]')?.textContent ?? ''), null, { timeout: 20000 });
  const row = await page.textContent('[data-testid=influence-row]');
  const [, id, line] = row.match(/“A(\d+)”, line (\d+)\)/);
  assert(Number(line) === Number(id) + 2, `ID A${id} is on line ${id + 2}, not ${line}`);
  // Leave a feature out: one feature left, drawn against the target.
  await page.uncheck('[data-testid=column-use][data-column=weight]');
  await page.waitForFunction(() => /1 feature/.test(document.querySelector('.data-panel').textContent), null, { timeout: 20000 });
  await accessible(page, 'the column choices');
  await page.screenshot({ path: `${OUT}/columns.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('broken CSVs show the error with its line and keep the previous view working', async () => {
  const page = await open();
  await viewReady(page);
  const before = await page.textContent('[data-testid=explained]');
  const cases = [
    ['ragged.csv', 'a,b,y\n1,2,0\n3,4\n', /ragged\.csv: line 3: expected 3 fields/],
    ['text.csv', 'a,y\nfoo,0\nbar,1\nbaz,0\n', /text\.csv: no feature column is left/],
    ['oneclass.csv', 'a,b,y\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n', /single class/],
    ['empty.csv', '', /empty/],
  ];
  for (const [name, text, pattern] of cases) {
    await upload(page, name, text);
    await page.waitForSelector('[data-testid=error-banner]', { timeout: 20000 });
    await page.waitForFunction(p => new RegExp(p).test(document.querySelector('[data-testid=error-banner]').textContent), pattern.source, { timeout: 20000 });
    assert(await page.textContent('[data-testid=explained]') === before, `${name}: the previous explanation is gone`);
    assert(/Logistic regression/.test(await page.textContent('[data-testid=model-status]')), `${name}: the previous model is gone`);
  }
  await page.screenshot({ path: `${OUT}/broken-csv.png`, fullPage: true });
  // The engine sends the error as a sentence: the language switch rewords it on screen.
  const banner = () => page.textContent('[data-testid=error-banner]');
  await page.selectOption('[data-testid=lang-select]', 'ja');
  await page.waitForFunction(() => document.querySelector('[data-testid=error-banner]').textContent.includes('ファイルが空です'), null, { timeout: 5000 });
  assert((await banner()).includes('empty.csv'), `the file's name stays: ${await banner()}`);
  await page.selectOption('[data-testid=lang-select]', 'en');
  await page.waitForFunction(() => document.querySelector('[data-testid=error-banner]').textContent.includes('the file is empty'), null, { timeout: 5000 });
  // The previous view still works: pick a row and scrub it.
  await page.click('[data-testid=influence-row]');
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  noProblems(page);
  await page.close();
});

await check('HTML in a CSV (header, class names, cells) is shown as text, never run', async () => {
  const page = await open();
  await viewReady(page);
  let dialogs = 0;
  page.on('dialog', d => { dialogs++; d.dismiss(); });
  const evil = '<img src=x onerror=alert(1)>';
  let text = `"${evil}",b,label\n`;
  for (let i = 0; i < 40; i++) text += `${(i % 7) - 3},${(i % 5) - 2},${i % 2 ? '<b onmouseover=alert(2)>yes</b>' : '<script>alert(3)</script>'}\n`;
  await upload(page, 'evil.csv', text);
  await page.waitForFunction(() => /evil\.csv/.test(document.body.textContent) && document.querySelectorAll('[data-testid=influence-row]').length >= 5, null, { timeout: 20000 });
  await page.hover('[data-testid=influence-row]');
  const options = await page.$$eval('[data-testid=target-select] option', els => els.map(e => e.textContent));
  assert(options.includes(evil), `the header shows as literal text: ${options}`);
  // A text cell's text reaches the notice that skips its column, as text.
  await upload(page, 'evil2.csv', `a,b,y\n1,2,0\n3,${evil},1\n5,6,0\n7,8,1\n9,1,0\n`);
  await page.waitForSelector('[data-testid=data-note]', { timeout: 20000 });
  const note = await page.textContent('[data-testid=data-note]');
  assert(note.includes(evil), `the cell shows as literal text: ${note}`);
  assert(await page.$$eval('img, script:not([src]):not([type])', els => els.filter(e => !e.closest('head')).length) === 0, 'no element was made from the file');
  assert(dialogs === 0, `${dialogs} dialogs opened`);
  await page.screenshot({ path: `${OUT}/evil-csv.png`, fullPage: true });
  await page.close();
});

await check('huge files (100,000 × 500, one 50 MB line) get a clear message and the view survives; a 10 MB cell is cut short', async () => {
  const page = await open();
  await viewReady(page);
  const before = await page.textContent('[data-testid=explained]');
  // Written to files: the browser reads them from disk as a user's files would be.
  const dir = `${OUT}/huge`;
  fs.mkdirSync(dir, { recursive: true });
  const row = Array.from({ length: 500 }, (_, j) => j % 10).join(',') + '\n';
  const files = {
    'wide.csv': () => Buffer.from(Array.from({ length: 500 }, (_, j) => `c${j}`).join(',') + '\n' + row.repeat(100000)),
    'oneline.csv': () => Buffer.alloc(50 * 1024 * 1024 - 16, 'a,'),
    'cell.csv': () => Buffer.from('a,b,y\n1,2,0\n' + 'x'.repeat(10 * 1024 * 1024) + ',4,1\n5,6,0\n'),
  };
  const cases = [
    ['wide.csv', /limit is 50 MB/],
    ['oneline.csv', /columns; the limit is 500/],
  ];
  for (const [name, pattern] of cases) {
    const file = `${dir}/${name}`;
    if (!fs.existsSync(file)) fs.writeFileSync(file, files[name]());
    const buffer = { length: fs.statSync(file).size };
    const t0 = Date.now();
    await page.setInputFiles('[data-testid=csv-input]', file);
    await page.waitForFunction(p => new RegExp(p).test(document.querySelector('[data-testid=error-banner]')?.textContent ?? ''), pattern.source, { timeout: 60000 });
    const banner = await page.textContent('[data-testid=error-banner]');
    assert(banner.length < 400, `${name}: the message is ${banner.length} characters long`);
    console.log(`     ${name} (${(buffer.length / 1e6).toFixed(0)} MB): message after ${Date.now() - t0} ms`);
    assert(await page.textContent('[data-testid=explained]') === before, `${name}: the previous explanation is gone`);
  }
  // A 10 MB cell makes its column text: skipped, and the notice cuts the cell short.
  const cell = `${dir}/cell.csv`;
  if (!fs.existsSync(cell)) fs.writeFileSync(cell, files['cell.csv']());
  await page.setInputFiles('[data-testid=csv-input]', cell);
  await page.waitForSelector('[data-testid=data-note]', { timeout: 60000 });
  const note = await page.textContent('[data-testid=data-note]');
  assert(/“a” holds text \(line 3: “x{60}… \(10485760 characters\)”\)/.test(note) && note.length < 400, note);
  await page.click('[data-testid=influence-row]');
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  await page.close();
});

await check('weight 0 for the top helpful point: predicted and actual change agree in sign', async () => {
  const page = await open();
  await viewReady(page);
  await page.setViewportSize({ width: 1280, height: 720 });
  // A key says which marker and background belong to which class.
  const key = await page.textContent('[data-testid=class-key]');
  assert(/Classes: .*\bA\b.*\bB\b/.test(key), `class key: ${key}`);
  // Hovering a row rings its point on the plot.
  const brightness = () => testWork(page, () => { const c = document.querySelector('[data-testid=main-plot]'); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.reduce((a, v) => a + v, 0); });
  const b0 = await brightness();
  await page.hover('[data-testid=influence-row] >> nth=1');
  let b1 = b0;
  for (let k = 0; k < 40 && b1 === b0; k++) { await page.waitForTimeout(50); b1 = await brightness(); }
  assert(b1 < b0, `hovering a row draws a dark ring on the plot (brightness ${b0} → ${b1})`);
  await page.click('[data-testid=influence-row]'); // the first row is the most helpful
  await page.waitForSelector('[data-testid=weight-slider]', { timeout: 20000 });
  // The slider opens where the eye is: it and the plot are both on the first screen.
  const onScreen = sel => page.$eval(sel, el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; });
  assert(await onScreen('[data-testid=weight-slider]'), 'the slider is on screen at 1280×720');
  assert(await onScreen('[data-testid=main-plot]'), 'the plot is on screen at 1280×720');
  await page.$eval('[data-testid=weight-slider]', el => { el.value = '0'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid=predicted-delta]'), a = document.querySelector('[data-testid=actual-delta]');
    return p && a && Number(p.dataset.value) !== 0 && Number(a.dataset.value) !== 0;
  }, null, { timeout: 20000 });
  const pred = Number(await page.getAttribute('[data-testid=predicted-delta]', 'data-value'));
  const act = Number(await page.getAttribute('[data-testid=actual-delta]', 'data-value'));
  assert(pred > 0 && act > 0, `predicted ${pred}, actual ${act}: both should be positive (removing a helpful point raises the loss)`);
  // The URL takes the weight once the scrubber rests (150 ms).
  await page.waitForFunction(() => new URLSearchParams(location.search).get('w') === '0', null, { timeout: 2000 });
  const pp = await page.textContent('table.deltas');
  assert(/percentage points/.test(pp), `probability changes in percentage points: ${pp}`);
  await page.screenshot({ path: `${OUT}/scrubber.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('leave-one-out of every point reaches 100% and Pearson > 0.9 (Koh & Liang check)', async () => {
  const page = await open();
  await viewReady(page);
  // One engine worker per core (up to 4) shares the refits.
  const wanted = await page.evaluate(() => Math.min(Math.max(navigator.hardwareConcurrency || 1, 1), 4));
  await page.waitForSelector(`[data-testid=engine-status][data-workers="${wanted}"]`, { timeout: 20000 });
  await page.click('[data-testid=loo-button]');
  const seen = [], until = Date.now() + 30000;
  while (!(await page.$('[data-testid=loo-pearson]'))) {
    assert(Date.now() < until, `no result after 30 s: ${await page.textContent('body')}`);
    const p = await page.$eval('[data-testid=progress]', el => [el.value, el.max]).catch(() => null);
    if (p) seen.push(p[0] / p[1]);
    await page.waitForTimeout(20);
  }
  assert(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `progress moved backwards: ${seen}`);
  assert(await page.$('[data-testid=progress]') === null, 'the progress bar ends with the job');
  assert(await page.isEnabled('[data-testid=loo-button]'), 'the check can run again');
  const r = Number(await page.getAttribute('[data-testid=loo-pearson]', 'data-value'));
  assert(r > 0.9, `Pearson ${r}`);
  const ms = Number(await page.getAttribute('[data-testid=loo-millis]', 'data-value'));
  assert(ms > 0 && Number.isFinite(ms), `wall time ${ms}`);
  const workers = Number(await page.getAttribute('[data-testid=loo-workers]', 'data-value'));
  assert(workers === wanted, `${workers} workers shared the refits, ${wanted} expected`);
  console.log(`     leave-one-out in the browser: ${ms.toFixed(1)} ms for 160 refits on ${workers} workers`);
  await accessible(page, 'the leave-one-out check');
  await page.screenshot({ path: `${OUT}/loo.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('why this prediction: a misclassified test point is traced to a set whose removal corrects it', async () => {
  // Test point 34 of the default view is misclassified (probability of its label 0.41);
  // the native service test finds the same set.
  const page = await open('?sel=t34');
  await viewReady(page);
  await page.click('[data-testid=flip-button]');
  await page.waitForSelector('[data-testid=flip-sentence]', { timeout: 20000 });
  const s = await page.$('[data-testid=flip-sentence]');
  const [flipped, confirmed, k] = await Promise.all(['data-flipped', 'data-confirmed', 'data-k'].map(n => s.getAttribute(n)));
  assert(flipped === 'true' && confirmed === 'true', `flipped ${flipped}, confirmed ${confirmed}`);
  const text = await s.textContent();
  assert(text.includes(`Removing these ${k} training points flips this prediction from`), text);
  assert(Number(k) >= 1 && Number(k) <= 16, `set of ${k}`);
  assert((await page.$$('[data-testid=flip-point]')).length === Number(k), 'one button per removed point');
  await page.waitForSelector('[data-testid=flip-chart]:visible');
  console.log(`     ${text}`);
  // A removed point opens on the scrubber.
  await page.click('[data-testid=flip-point] >> nth=0');
  await page.waitForSelector('[data-testid=weight-slider]', { timeout: 10000 });
  await accessible(page, 'why this prediction');
  await page.locator('section.flip').screenshot({ path: `${OUT}/flip.png` });
  await page.screenshot({ path: `${OUT}/flip-page.png` });
  noProblems(page);
  await page.close();
});

await check('remove a group: first order, second order and the refit as the group grows', async () => {
  const page = await open();
  await viewReady(page);
  await page.fill('[data-testid=group-k]', '40');
  await page.dispatchEvent('[data-testid=group-k]', 'change');
  await page.click('[data-testid=group-button]');
  await page.waitForSelector('[data-testid=group-sentence]', { timeout: 30000 });
  const s = await page.$('[data-testid=group-sentence]');
  const [size, actual, first, second] = await Promise.all(['data-size', 'data-actual', 'data-first', 'data-second'].map(n => s.getAttribute(n)));
  assert(Number(size) === 40, `group of ${size}`);
  assert([actual, first, second].every(v => Number.isFinite(Number(v))), `${actual} ${first} ${second}`);
  console.log(`     ${await s.textContent()}`);
  await page.waitForSelector('[data-testid=group-total-chart]:visible');
  await page.waitForSelector('[data-testid=group-point-chart]:visible');
  await accessible(page, 'remove a group');
  await page.locator('section.group').screenshot({ path: `${OUT}/group.png` });
  // A lasso: drag around the middle of the plot.
  await page.selectOption('[data-testid=group-rule]', 'lasso');
  await page.locator('[data-testid=main-plot]').scrollIntoViewIfNeeded();
  const box = await page.locator('[data-testid=main-plot]').boundingBox();
  const at = (fx, fy) => [box.x + box.width * fx, box.y + box.height * fy];
  await page.mouse.move(...at(0.3, 0.3));
  await page.mouse.down();
  for (const [fx, fy] of [[0.7, 0.3], [0.7, 0.7], [0.3, 0.7], [0.3, 0.32]]) await page.mouse.move(...at(fx, fy), { steps: 5 });
  await page.mouse.up();
  const hint = await page.textContent('[data-testid=lasso-hint]');
  const inside = Number(hint.match(/(\d+) inside/)[1]);
  assert(inside > 0, hint);
  await page.click('[data-testid=group-button]');
  await page.waitForFunction(n => document.querySelector('[data-testid=group-sentence]')?.dataset.size === String(n), inside, { timeout: 30000 })
    .catch(async () => { throw new Error(`lasso of ${inside}: ${await page.textContent('section.group')}`); });
  console.log(`     lasso: ${await page.textContent('[data-testid=group-sentence]')}`);
  await page.screenshot({ path: `${OUT}/lasso.png` });
  noProblems(page);
  await page.close();
});

await check('a link copied from one page restores the same view in a new page', async () => {
  const page = await open();
  await viewReady(page);
  await page.selectOption('[data-testid=dataset-select]', 'circles');
  await page.waitForFunction(() => document.querySelector('[data-testid=dataset-select]').value === 'circles'
    && !/Training/.test(document.querySelector('[data-testid=model-status]').textContent), null, { timeout: 20000 });
  await page.waitForTimeout(300);
  const rows = await page.$$('[data-testid=influence-row]');
  await rows[2].click();
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  const url = page.url();
  const explained = await page.textContent('[data-testid=explained]');
  const scores = await page.$$eval('[data-testid=influence-row]', els => els.map(e => e.dataset.value));
  const delta = await page.getAttribute('[data-testid=actual-delta]', 'data-value');
  noProblems(page);
  await page.close();
  const again = await open(new URL(url).search);
  await viewReady(again);
  await again.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  assert(await again.textContent('[data-testid=explained]') === explained, 'same explained point');
  const scores2 = await again.$$eval('[data-testid=influence-row]', els => els.map(e => e.dataset.value));
  assert(JSON.stringify(scores2) === JSON.stringify(scores), 'same scores');
  assert(await again.getAttribute('[data-testid=actual-delta]', 'data-value') === delta, 'same scrubbed point');
  assert(await again.$eval('[data-testid=dataset-select]', el => el.value) === 'circles', 'same dataset');
  noProblems(again);
  await again.close();
});

await check('clicking empty space places a query point; ?embed=1 shows only the plot and explanation', async () => {
  const page = await open();
  await viewReady(page);
  const box = await page.$eval('[data-testid=main-plot]', c => { const r = c.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
  // Top-left corner of the plotting area: empty on the default dataset.
  await page.mouse.click(box[0] + box[2] * 0.2, box[1] + box[3] * 0.08);
  await page.waitForFunction(() => document.querySelector('[data-testid=explained]').textContent.startsWith('Your query point'), null, { timeout: 20000 });
  assert(new URL(page.url()).searchParams.get('sel').startsWith('q'), 'query point in the URL');
  noProblems(page);
  await page.close();
  const embed = await open('?embed=1');
  await embed.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  assert(await embed.$('header.top') === null && await embed.$('.data-panel') === null, 'embed hides header and panels');
  await embed.screenshot({ path: `${OUT}/embed.png` });
  if (embed.log.errors.length) throw new Error(embed.log.errors.join('\n'));
  await embed.close();
});

await check('a narrow screen stacks the panels; 1-D regression shows its prediction line', async () => {
  const page = await open('?ds=wave1d');
  await page.setViewportSize({ width: 390, height: 844 });
  await viewReady(page);
  const status = await page.textContent('[data-testid=model-status]');
  assert(/Linear \(ridge\) regression: .* RMSE 0\.\d+/.test(status), `model status: ${status}`);
  const [data, plot, side] = await Promise.all(['.data-panel', '.plot-panel', '.side-panel'].map(
    sel => page.$eval(sel, el => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width]; })));
  assert(data[1] < plot[1] && plot[1] < side[1], `panels not stacked: ${data} ${plot} ${side}`);
  assert(plot[2] <= 390, `plot wider than the screen: ${plot[2]}`);
  const legend = await page.textContent('.plot-panel .legend');
  assert(legend.includes("the line is the model's prediction"), legend);
  await page.screenshot({ path: `${OUT}/narrow-wave1d.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('Methods, Diagnostics, Mislabel lab and LDS views show real numbers; scores export as CSV', async () => {
  const page = await open();
  await viewReady(page);
  await page.click('[data-testid=loo-button]');
  await page.waitForSelector('[data-testid=loo-pearson]', { timeout: 60000 });

  await page.click('[data-testid=tab-methods]');
  assert(new URL(page.url()).searchParams.get('view') === 'methods', `tab in the URL: ${page.url()}`);
  // Cheap here, so the default methods ran on opening; TMC-Shapley is opt-in (it retrains a lot).
  await page.waitForSelector('[data-testid=method-row][data-method=actual_loo]', { timeout: 60000 });
  await page.check('label:has-text("TMC data Shapley") input');
  // TMC-Shapley's permutations run on the pool first, with their own progress bar.
  await recordBar(page, '__shapley', 'shapley-progress');
  await page.click('[data-testid=methods-button]');
  await page.waitForSelector('[data-testid=method-row][data-method=tmc_shapley]', { timeout: 60000 });
  const shapley = await page.evaluate(() => window.__shapley);
  assert(shapley.length >= 1 && shapley.every((v, i) => i === 0 || v >= shapley[i - 1]), `TMC-Shapley progress moves forward only: ${shapley.map(v => v.toFixed(2))}`);
  assert(await page.$('[data-testid=shapley-progress]') === null, 'the bar goes when the permutations are done');
  console.log(`     TMC-Shapley on the pool: progress shown ${shapley.length} times`);
  const rho = await page.$$eval('[data-testid=method-row]', rows => Object.fromEntries(rows.map(r =>
    [r.dataset.method, Number(r.querySelector('[data-testid=method-spearman]').dataset.value)])));
  assert(rho.cg > 0.9999 && rho.arnoldi > 0.9 && rho.lissa > 0.9, `iHVP methods vs exact: ${JSON.stringify(rho)}`);
  assert(['tracin', 'grad_dot', 'trak', 'representer', 'knn_shapley', 'tmc_shapley'].every(m => Number.isFinite(rho[m])), JSON.stringify(rho));
  await page.screenshot({ path: `${OUT}/methods.png`, fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download scores (CSV)')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert(csv.startsWith('train_index,train_row,label,explained,exact,cg,'), `CSV header: ${csv.slice(0, 60)}`);
  assert(csv.trim().split('\n').length === 161, `CSV rows: ${csv.trim().split('\n').length}`);
  await accessible(page, 'the Methods view');

  await page.click('[data-testid=tab-diagnostics]');
  await page.click('[data-testid=diagnostics-button]');
  await page.waitForFunction(() => /condition number/.test(document.querySelector('[data-testid=diagnostics-summary]')?.textContent ?? ''), null, { timeout: 60000 });
  await accessible(page, 'the Diagnostics view');
  await page.screenshot({ path: `${OUT}/diagnostics.png`, fullPage: true });

  await page.click('[data-testid=tab-mislabel]');
  await page.click('[data-testid=mislabel-button]');
  await page.waitForSelector('[data-testid=mislabel-auc]', { timeout: 60000 });
  const auc = await page.$$eval('[data-testid=mislabel-auc]', els => Object.fromEntries(els.map(e => [e.dataset.method, Number(e.dataset.value)])));
  assert(auc.self_influence > auc.random && auc.self_influence <= 0.95, `AUCs: ${JSON.stringify(auc)}`);
  // Fix-first: real refits after fixing the flips found, in each ranking's order.
  await page.waitForSelector('[data-testid=mislabel-fix-chart]:visible');
  await page.waitForSelector('[data-testid=mislabel-remove-chart]:visible');
  const fixed = Number(await page.getAttribute('[data-testid=fix-first-summary]', 'data-value'));
  assert(fixed > 0 && fixed <= 1, `test accuracy after fixing: ${fixed}`);
  console.log(`     ${await page.textContent('[data-testid=fix-first-summary]')}`);
  await accessible(page, 'the Mislabel lab');
  await page.screenshot({ path: `${OUT}/mislabel.png`, fullPage: true });

  await page.click('[data-testid=tab-lds]');
  await page.click('[data-testid=lds-button]');
  await page.waitForSelector('[data-testid=lds-value]', { timeout: 120000 });
  const lds = await page.$$eval('[data-testid=lds-value]', els => Object.fromEntries(els.map(e => [e.dataset.method, Number(e.dataset.value)])));
  assert(lds.exact > 0.5 && lds.exact <= 1, `LDS: ${JSON.stringify(lds)}`);
  await accessible(page, 'the LDS view');
  await page.screenshot({ path: `${OUT}/lds.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

await check('a neural network: curved surface, its Hessian in words, three truths, diagnostics', async () => {
  const t0 = Date.now();
  const page = await open('?model=mlp&hidden=16&act=tanh&iseed=0');
  await viewReady(page);
  console.log(`     network view drawn ${Date.now() - t0} ms after navigation`);
  const status = await page.textContent('[data-testid=model-status]');
  assert(/Network .*16 tanh.*converged.*Hessian at θ̂: eigenvalues from/.test(status), `status: ${status}`);
  await page.screenshot({ path: `${OUT}/mlp.png`, fullPage: true });
  await accessible(page, 'the network view');
  await page.click('[data-testid=tab-truths]');
  // Cancel stops every worker's block: the bar goes at once, no result is shown, and
  // the next job is not held up behind the cancelled one.
  await page.fill('[data-testid=truths-seeds]', '10');
  await page.dispatchEvent('[data-testid=truths-seeds]', 'change');
  await page.click('[data-testid=truths-button]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=truths-progress]')?.value) > 0, null, { timeout: 20000 });
  const c0 = Date.now();
  await page.click('[data-testid=truths-progress-cancel]');
  await page.waitForSelector('[data-testid=truths-progress]', { state: 'detached', timeout: 5000 });
  console.log(`     cancel: progress gone ${Date.now() - c0} ms after the click`);
  assert(await page.$('[data-testid=truths-reading]') === null, 'a cancelled job shows no result');
  assert(await page.isEnabled('[data-testid=truths-button]'), 'the job can run again');
  await page.fill('[data-testid=truths-seeds]', '2');
  await page.dispatchEvent('[data-testid=truths-seeds]', 'change');
  await page.click('[data-testid=truths-button]');
  await page.waitForSelector('[data-testid=truths-reading]', { timeout: 120000 });
  const reading = await page.textContent('[data-testid=truths-reading]');
  assert(/Influence tracks the warm-started refit \(r = (0\.9\d|1\.00)\)/.test(reading), reading);
  const r = await page.$$eval('[data-testid=truth-pearson]', els => els.map(e => Number(e.dataset.value)));
  assert(r.length === 3 && r.every(Number.isFinite), `correlations ${r}`);
  await accessible(page, 'the Which truth? view');
  await page.screenshot({ path: `${OUT}/truths.png`, fullPage: true });
  await page.click('[data-testid=tab-diagnostics]');
  await page.click('[data-testid=diagnostics-button]');
  await page.waitForFunction(() => /condition number/.test(document.querySelector('[data-testid=diagnostics-summary]')?.textContent ?? ''), null, { timeout: 60000 });
  await page.screenshot({ path: `${OUT}/mlp-diagnostics.png`, fullPage: true });
  noProblems(page);
  await page.close();
});

/** What a test records of the view (the fit's status and the ranked rows), to check
 * that it comes back after a Cancel. */
async function viewShown(page) {
  return {
    status: await page.textContent('[data-testid=model-status]'),
    rows: await page.$$eval('[data-testid=influence-row]', els => els.map(e => e.textContent)),
  };
}

/** The recorded view is on screen again, with no error. */
async function sameView(page, shown, what) {
  await page.waitForFunction(b => document.querySelector('[data-testid=model-status]')?.textContent === b, shown.status, { timeout: 20000 });
  const rows = await page.$$eval('[data-testid=influence-row]', els => els.map(e => e.textContent));
  assert(JSON.stringify(rows) === JSON.stringify(shown.rows), `${what}: the same explanation`);
  const banner = await page.$('[data-testid=error-banner]');
  assert(banner === null, `${what}: no error, found: ${banner && await banner.textContent()}`);
}

/** After a Cancel replaced the engine: the only requests since load are the fresh
 * engine's own files, from this origin. */
function onlyEngineReloaded(page) {
  const own = /\/(worker_loader\.js|worker\.js|worker_bg\.wasm)$/;
  assert(page.log.afterReady.every(u => u.startsWith(origin) && own.test(u)), `requests: ${page.log.afterReady}`);
  page.log.afterReady = [];
}

await check('Cancel stops a one-piece job (network diagnostics, ~3 s; a Methods run) at once and keeps the view; both show their progress', async () => {
  // 24 hidden units (769 parameters): long enough to cancel in the middle (the
  // default 16 units' diagnostics take ~1.4 s since the damping sweep shares one Hessian).
  const page = await open('?ds=breast_cancer&model=mlp&hidden=24');
  await viewReady(page);
  const shown = await viewShown(page);
  await recordBar(page, '__analysis', 'analysis-progress');
  await page.click('[data-testid=tab-diagnostics]');
  await page.click('[data-testid=diagnostics-button]');
  await page.waitForSelector('[data-testid=work-cancel]', { timeout: 5000 });
  // The network's diagnostics report each stage (spectrum, solvers, each damping).
  await page.waitForFunction(() => new Set(window.__analysis).size >= 2, null, { timeout: 30000 });
  const seen = await page.evaluate(() => window.__analysis);
  assert(seen.every((v, i) => v >= 0 && v <= 1 && (i === 0 || v >= seen[i - 1])), `analysis progress moves forward only: ${seen.map(v => v.toFixed(3))}`);
  console.log(`     diagnostics progress shown ${seen.length} times, up to ${(100 * seen.at(-1)).toFixed(0)}%`);
  await page.screenshot({ path: `${OUT}/diagnostics-progress.png` });
  const c0 = Date.now();
  await page.click('[data-testid=work-cancel]');
  await page.waitForSelector('[data-testid=work-cancel]', { state: 'detached', timeout: 5000 });
  assert(await page.isEnabled('[data-testid=diagnostics-button]'), 'the analysis can run again at once');
  // A fresh engine gets the same model back; the view never went away.
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  await sameView(page, shown, 'diagnostics cancelled');
  console.log(`     cancel: engine ready with the same model ${Date.now() - c0} ms after the click`);
  assert(await page.$('[data-testid=diagnostics-summary]') === null, 'a cancelled analysis shows no result');
  onlyEngineReloaded(page);
  // The same for a Methods run.
  await page.click('[data-testid=tab-methods]');
  await page.click('[data-testid=methods-button]');
  await page.waitForSelector('[data-testid=work-cancel]', { timeout: 5000 });
  await page.click('[data-testid=work-cancel]');
  await page.waitForSelector('[data-testid=analysis-progress]', { state: 'detached', timeout: 5000 });
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  await sameView(page, shown, 'Methods cancelled');
  assert(await page.$('[data-testid=method-row]') === null, 'a cancelled Methods run shows no result');
  onlyEngineReloaded(page);
  noProblems(page);
  await page.close();
});

await check('a 43 MB upload is read and fitted in the worker with progress; Cancel while it is read, and while it fits, keeps the view', async () => {
  // A network, so that fitting 100,000 rows takes long enough to be cancelled.
  const page = await open('?model=mlp');
  await viewReady(page);
  const shown = await viewShown(page);
  const file = numbersCsv(`${OUT}/huge`, 100000, 50);
  await recordBar(page, '__seen', 'upload-progress');
  await recordBar(page, '__fit', 'fit-progress');
  // Cancel while the worker reads the file.
  await page.setInputFiles('[data-testid=csv-input]', file);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=upload-progress]')?.value) > 0, null, { timeout: 20000 });
  await page.click('[data-testid=upload-progress-cancel]');
  await page.waitForSelector('[data-testid=upload-progress]', { state: 'detached', timeout: 5000 });
  await sameView(page, shown, 'cancelled while read');
  assert(await page.$('[data-testid=target-select]') === null, 'the cancelled file is not offered');
  const seen = await page.evaluate(() => window.__seen);
  assert(seen.length >= 2 && seen.every((v, i) => i === 0 || v >= seen[i - 1]), `progress moves forward only: ${seen.map(v => v.toFixed(2))}`);
  console.log(`     progress shown ${seen.length} times, cancelled at ${(100 * seen.at(-1)).toFixed(0)}%`);
  // Read to the end, then Cancel while the network fits on it.
  await page.evaluate(() => { window.__seen = []; });
  const r0 = Date.now();
  await page.setInputFiles('[data-testid=csv-input]', file);
  await page.waitForSelector('[data-testid=work-cancel]', { timeout: 60000 });
  console.log(`     43 MB read and parsed in the worker: fitting starts ${Date.now() - r0} ms after the file was chosen`);
  const seen2 = await page.evaluate(() => window.__seen);
  assert(seen2.length >= 2 && seen2.every((v, i) => i === 0 || v >= seen2[i - 1]), `progress moves forward only: ${seen2.map(v => v.toFixed(2))}`);
  assert(/100000 rows, 51 columns/.test(await page.textContent('.data-panel')), 'the file was read');
  // The fit shows how far it has come (its gradient's way to the tolerance), forward only.
  await page.waitForFunction(() => window.__fit.filter(v => v > 0).length >= 2, null, { timeout: 60000 });
  assert(/Fitting the model… \d+%/.test(await page.textContent('[data-testid=model-status]')), 'the status says how far the fit is');
  const fit = await page.evaluate(() => window.__fit);
  assert(fit.every((v, i) => v >= 0 && v <= 1 && (i === 0 || v >= fit[i - 1])), `fit progress moves forward only: ${fit.map(v => v.toFixed(3))}`);
  console.log(`     fit progress shown ${fit.length} times, up to ${(100 * fit.at(-1)).toFixed(1)}%`);
  const c0 = Date.now();
  await page.click('[data-testid=work-cancel]');
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 30000 });
  // The fresh engine trains the previous view again (its own short fit may show a bar):
  // no bar is left behind.
  await page.waitForSelector('[data-testid=fit-progress]', { state: 'detached', timeout: 10000 });
  await sameView(page, shown, 'cancelled while fitted');
  console.log(`     cancelled while fitting: the same view, with a fresh engine, ${Date.now() - c0} ms after the click`);
  await page.screenshot({ path: `${OUT}/upload-cancelled.png`, fullPage: true });
  onlyEngineReloaded(page);
  noProblems(page);
  await page.close();
});

/** The browser's own format for data in a link: deflate-raw, then base64url. */
async function linkPayload(page, text) {
  return page.evaluate(async t => {
    const cs = new CompressionStream('deflate-raw');
    const w = cs.writable.getWriter(); w.write(new TextEncoder().encode(t)); w.close();
    const bytes = new Uint8Array(await new Response(cs.readable).arrayBuffer());
    let s = ''; for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }, text);
}

await check('ⓘ beside each technical term explains it in plain words, by keyboard too', async () => {
  const page = await open();
  await viewReady(page);
  for (const id of ['lambda', 'curvature', 'damping', 'newton', 'influence', 'loo']) {
    assert(await page.$(`[data-testid=info-${id}]`) !== null, `an ⓘ for ${id}`);
  }
  await page.focus('[data-testid=info-lambda]');
  await page.keyboard.press('Enter');
  const text = await page.textContent('[data-testid=info-text]');
  assert(text.includes('pulled towards small weights'), `λ in words: ${text}`);
  assert(await page.getAttribute('[data-testid=info-lambda]', 'aria-expanded') === 'true', 'says it is open');
  await accessible(page, 'an open ⓘ');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=info-text]', { state: 'detached', timeout: 2000 });
  noProblems(page);
  await page.close();
});

await check('Save report: one self-contained HTML file with the charts, lists, settings and numbers', async () => {
  const page = await open('?ds=moons&sel=t3&tp=25&w=0');
  await viewReady(page);
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-report]')]);
  assert(download.suggestedFilename() === 'attribution-report.html', download.suggestedFilename());
  // The download's own path has no extension (a browser would show it as text).
  const file = `${OUT}/report.html`;
  fs.copyFileSync(await download.path(), file);
  const html = fs.readFileSync(file, 'utf8');
  const images = html.match(/<img src="data:image\/png;base64,/g) ?? [];
  assert(images.length >= 2, `the plot and the scrubber's chart as images (${images.length})`);
  assert(html.includes('Why this prediction?') && /Removing #\d+, labelled [AB], would (raise|lower)/.test(html), 'the ranked list');
  assert(html.includes('Training point #25') && html.includes('Actual (retrained)'), 'the scrubber numbers');
  assert(html.includes('ds=moons&amp;') && html.includes('tp=25'), 'the settings as a link');
  // Opened on its own, it makes no request at all.
  const viewer = await browser.newPage();
  const asked = [];
  viewer.on('request', r => { if (!r.url().startsWith('data:') && !r.url().startsWith('file:')) asked.push(r.url()); });
  await viewer.goto(`file://${file}`);
  const drawn = await viewer.$$eval('img', imgs => imgs.filter(i => i.complete && i.naturalWidth > 100).length);
  assert(drawn === images.length, `every image shows (${drawn} of ${images.length})`);
  assert(asked.length === 0, `the report asked for ${asked.join(', ')}`);
  await viewer.screenshot({ path: `${OUT}/report.png`, fullPage: true });
  await viewer.close();
  noProblems(page);
  await page.close();
});

await check('a projector (1024×768): the plot keeps its width, the data panel moves below it', async () => {
  const page = await open('?ds=moons&sel=t3&tp=25&w=0');
  await page.setViewportSize({ width: 1024, height: 768 });
  await viewReady(page);
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  const plot = await page.$eval('[data-testid=main-plot]', c => c.getBoundingClientRect().width);
  assert(plot >= 600, `the plot is ${plot} px wide`);
  const [dataTop, plotBottom] = await page.evaluate(() => [document.querySelector('.data-panel').getBoundingClientRect().top,
    document.querySelector('[data-testid=main-plot]').getBoundingClientRect().bottom]);
  assert(dataTop > plotBottom, 'the data panel is below the plot');
  await page.screenshot({ path: `${OUT}/projector.png` });
  noProblems(page);
  await page.close();
});

await check('a dark system theme gives dark charts with light text', async () => {
  const page = await open('?ds=moons&sel=t3&tp=25&w=0', { colorScheme: 'dark' });
  await viewReady(page);
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  await page.waitForTimeout(300);
  const corner = await page.$eval('[data-testid=main-plot]', c => Array.from(c.getContext('2d').getImageData(2, 2, 1, 1).data));
  assert(corner[0] < 60 && corner[1] < 60 && corner[2] < 70, `the plot's background is dark: ${corner}`);
  // Light text: some pixels of the tick labels (left margin) are near white.
  const light = await page.$eval('[data-testid=main-plot]', c => {
    const d = c.getContext('2d').getImageData(0, 0, Math.round(c.width * 0.12), c.height).data;
    let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 200 && d[i + 2] > 200) n++;
    return n;
  });
  assert(light > 50, `light tick labels (${light} light pixels)`);
  await accessible(page, 'the dark theme');
  await page.screenshot({ path: `${OUT}/dark.png` });
  noProblems(page);
  await page.close();
});

await check('panels= shows only the parts it names; a link to a tab shows its results', async () => {
  const page = await open('?panels=plot,check&sel=t3');
  await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  assert(await page.$('header.top') === null && await page.$('.data-panel') === null, 'no header or data panel');
  assert(await page.$('[data-testid=influence-row]') === null, 'no list');
  assert(await page.isVisible('[data-testid=loo-button]'), 'the check shows');
  const plotWidth = await page.$eval('[data-testid=main-plot]', c => c.getBoundingClientRect().width);
  assert(plotWidth > 1000, `the plot takes the free width (${plotWidth} px)`);
  assert(new URL(page.url()).searchParams.get('panels') === 'plot,check', 'panels stay in the URL');
  await accessible(page, 'panels=plot,check');
  await page.screenshot({ path: `${OUT}/panels.png` });
  noProblems(page);
  await page.close();
  // A link to a tab shows its results, computed on opening (cheap on these data).
  const tab = await open('?view=methods&panels=tab');
  await tab.waitForFunction(() => document.querySelectorAll('[data-testid=method-row]').length >= 5, null, { timeout: 20000 });
  assert(await tab.$('[data-testid=main-plot]') === null && await tab.$('header.top') === null, 'only the tab');
  assert(await tab.$('[data-testid=opening-hint]') === null, 'no excuse needed');
  noProblems(tab);
  await tab.close();
  const diag = await open('?view=diagnostics');
  await diag.waitForSelector('[data-testid=diagnostics-summary]', { timeout: 20000 });
  noProblems(diag);
  await diag.close();
  // A network waits for the button and says why.
  const net = await open('?view=methods&model=mlp');
  await net.waitForSelector('[data-testid=opening-hint]', { timeout: 30000 });
  assert((await net.textContent('[data-testid=opening-hint]')).includes('neural network'), 'says why');
  assert(await net.$('[data-testid=method-row]') === null, 'nothing started unasked');
  await net.close();
});

await check('data in the link (#data=): same view out, embed snippet round trip, size limit, damage', async () => {
  const csv = makeCsv();
  const maker = await open();
  await viewReady(maker);
  const payload = await linkPayload(maker, csv);
  await maker.close();
  const page = await open(`?ds=upload&target=label#data=${payload}`);
  await viewReady(page);
  assert(/Logistic regression: \d+ Newton steps, converged/.test(await page.textContent('[data-testid=model-status]')), 'trained');
  const hint = await page.textContent('.data-panel');
  assert(hint.includes('data in this link: 80 rows, 3 columns'), `summary: ${hint}`);
  const explained = await page.textContent('[data-testid=explained]');
  const scores = await page.$$eval('[data-testid=influence-row]', els => els.map(e => e.dataset.value));
  assert(new URL(page.url()).hash === `#data=${payload}`, 'the data stay in the address');
  // The same file uploaded by hand: the same view.
  const byHand = await open();
  await viewReady(byHand);
  await upload(byHand, 'mine.csv', csv);
  await byHand.waitForFunction(() => /prob\. of '(yes|no)'/.test(document.querySelector('[data-testid=explained]')?.textContent ?? ''), null, { timeout: 20000 });
  assert(await byHand.textContent('[data-testid=explained]') === explained, 'same explained point as uploading by hand');
  const handScores = await byHand.$$eval('[data-testid=influence-row]', els => els.map(e => e.dataset.value));
  assert(JSON.stringify(handScores) === JSON.stringify(scores), 'same scores as uploading by hand');
  await byHand.close();
  // Copy the embed snippet and open what it embeds.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  assert((await page.textContent('[data-testid=copy-embed]')).includes('with this data'), 'the button offers the data');
  await page.click('[data-testid=copy-embed]');
  await page.waitForFunction(() => document.querySelector('[data-testid=copy-status]').textContent.includes('copied'), null, { timeout: 5000 });
  const snippet = await page.evaluate(() => navigator.clipboard.readText());
  const src = /src="([^"]+)"/.exec(snippet)[1].replaceAll('&amp;', '&');
  assert(src.includes('embed=1') && src.includes('#data='), `snippet: ${snippet.slice(0, 200)}`);
  const embedded = await open(src.slice(origin.length + 1));
  await embedded.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await embedded.waitForFunction(() => document.querySelectorAll('[data-testid=influence-row]').length >= 5, null, { timeout: 20000 });
  assert(await embedded.textContent('[data-testid=explained]') === explained, 'same explained point');
  const again = await embedded.$$eval('[data-testid=influence-row]', els => els.map(e => e.dataset.value));
  assert(JSON.stringify(again) === JSON.stringify(scores), 'same scores from the snippet');
  await embedded.screenshot({ path: `${OUT}/embed-data.png` });
  noProblems(embedded);
  await embedded.close();
  // Too large for a link: the reason, with the size.
  let big = 'a,b,c,d,e,label\n', seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2500; i++) big += `${rnd().toFixed(6)},${rnd().toFixed(6)},${rnd().toFixed(6)},${rnd().toFixed(6)},${rnd().toFixed(6)},${rnd() > 0.5 ? 'x' : 'y'}\n`;
  page.log.ready = false;
  await upload(page, 'big.csv', big);
  await page.waitForFunction(() => document.querySelector('.data-panel').textContent.includes('big.csv: 2500 rows'), null, { timeout: 30000 });
  await page.waitForFunction(() => !document.querySelector('[data-testid=model-status]').textContent.includes('…'), null, { timeout: 30000 });
  assert(new URL(page.url()).hash === '', 'a file of your own is never in the address');
  await page.click('[data-testid=copy-embed]');
  await page.waitForFunction(() => document.querySelector('[data-testid=copy-status]').textContent.includes('No embed snippet'), null, { timeout: 5000 });
  const why = await page.textContent('[data-testid=copy-status]');
  assert(/compress to \d+ KB; a link carries at most 20 KB/.test(why), `reason: ${why}`);
  await page.close();
  // A damaged link: said in words, and the default view instead.
  const damaged = await open('?ds=upload&target=label#data=S9RJ4j');
  await damaged.waitForSelector('[data-testid=error-banner]', { timeout: 20000 });
  const said = await damaged.textContent('[data-testid=error-banner]');
  assert(said.includes('The data in this link could not be read'), `banner: ${said}`);
  await damaged.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  // The message stays once the default view has trained (it used to vanish with it).
  await damaged.waitForSelector('[data-testid=engine-status].ok');
  assert((await damaged.textContent('[data-testid=error-banner]', { timeout: 2000 })).includes('could not be read'), 'the banner vanished');
  await damaged.close();
  // In Japanese, the reason too (it once came in English inside the Japanese sentence).
  const ja = await open('?ds=upload&target=label&lang=ja#data=S9RJ4j');
  await ja.waitForSelector('[data-testid=error-banner]', { timeout: 20000 });
  const jaSaid = await ja.textContent('[data-testid=error-banner]');
  assert(jaSaid.includes('このリンクのデータは') && !/the data in this link/i.test(jaSaid), `banner: ${jaSaid}`);
  await ja.close();
});

await check('postMessage: a host page drives the embedded explorer; other origins and shapes change nothing', async () => {
  const listen = `window.got = []; addEventListener('message', e => window.got.push({ origin: e.origin, data: e.data }));
    window.send = m => document.getElementById('f').contentWindow.postMessage(m, '${origin}');`;
  const page = (host) => `<!doctype html><html lang="en"><title>host</title><iframe id="f" title="explorer" width="1000" height="700"
    src="${origin}/?embed=1&sel=t3&host=${host}"></iframe><script>${listen}</script></html>`;
  const host = await servePage(me => page(me));
  const evil = await servePage(() => page(host.origin)); // names the host, not itself
  const ctx = await browser.newContext();
  const tab = await ctx.newPage();
  const errors = [];
  tab.on('pageerror', e => errors.push(e.message));
  await tab.goto(host.origin);
  const scoresFor = test => tab.waitForFunction(t => window.got.some(m => m.data.event === 'scores' && m.data.test === t), test, { timeout: 20000 });
  await scoresFor(3);
  const first = await tab.evaluate(() => window.got.find(m => m.data.event === 'scores').data);
  assert(first.type === 'attribution-explorer' && first.version === 1 && first.dataset === 'moons', JSON.stringify(first).slice(0, 200));
  assert(first.scores.length > 100 && first.scores.every(Number.isFinite), 'every training point scored');
  assert((await tab.evaluate(() => window.got.map(m => m.origin))).every(o => o === origin), 'from the explorer');
  await tab.evaluate(() => send({ type: 'attribution-explorer', version: 1, action: 'select', test: 5 }));
  await scoresFor(5);
  await tab.evaluate(() => send({ type: 'attribution-explorer', version: 1, action: 'weight', train: 2, weight: 0 }));
  await tab.waitForFunction(() => window.got.some(m => m.data.scrubbed && m.data.scrubbed[0] === 2 && m.data.scrubbed[1] === 0), null, { timeout: 20000 });
  await tab.evaluate(() => send({ type: 'attribution-explorer', version: 1, action: 'select', test: 99999 }));
  await tab.waitForFunction(() => window.got.some(m => m.data.event === 'error' && /no test point 99999/.test(m.data.message)), null, { timeout: 5000 });
  // Wrong shapes: nothing happens.
  const before = await tab.evaluate(() => window.got.length);
  await tab.evaluate(() => {
    send({ type: 'attribution-explorer', version: 1, action: 'select', test: '7' });
    send({ type: 'attribution-explorer', version: 1, action: 'eval', code: 'document.body.remove()' });
    send({ type: 'attribution-explorer', version: 2, action: 'select', test: 7 });
    send('select 7');
  });
  await tab.waitForTimeout(1500);
  const frame = tab.frames().find(f => f.url().startsWith(origin));
  assert(await frame.evaluate(() => new URLSearchParams(location.search).get('sel')) === 't5', 'still test point 5');
  assert(await tab.evaluate(n => window.got.length === n, before), 'no answer to malformed messages');
  // Another origin: ignored, and it hears nothing.
  const other = await ctx.newPage();
  await other.goto(evil.origin);
  const otherFrame = () => other.frames().find(f => f.url().startsWith(origin));
  await otherFrame().waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await other.evaluate(() => send({ type: 'attribution-explorer', version: 1, action: 'select', test: 8 }));
  await other.waitForTimeout(1500);
  assert(await otherFrame().evaluate(() => new URLSearchParams(location.search).get('sel')) === 't3', 'a stranger cannot select');
  assert(await other.evaluate(() => window.got.length === 0), 'a stranger hears no scores');
  assert(errors.length === 0, errors.join('\n'));
  await tab.screenshot({ path: `${OUT}/host-page.png` });
  await ctx.close();
  host.close();
  evil.close();
});

await check('offline: after one visit the page reloads and works with the server gone', async () => {
  const own = await serve();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto(`${own.origin}/?ds=moons&sel=t3`);
  await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
  const cached = await page.evaluate(async () => {
    const keys = await caches.keys();
    const cache = await caches.open(keys.find(k => k.startsWith('attribution-explorer-')));
    return (await cache.keys()).map(r => new URL(r.url).pathname);
  });
  assert(cached.includes('/worker_bg.wasm') && cached.some(p => p.endsWith('_bg.wasm') && p.startsWith('/app-')), `cached: ${cached}`);
  assert(await page.evaluate(() => document.querySelector('link[rel=manifest]') !== null), 'installable: a manifest');
  own.close();
  await ctx.setOffline(true);
  await page.reload();
  await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=influence-row]').length >= 5, null, { timeout: 20000 });
  await page.click('[data-testid=influence-row]');
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  assert(errors.length === 0, errors.join('\n'));
  await ctx.close();
});

// The five lessons, played step by step: each step must be open (not done) at its
// start and turn green only after its action; the current step's control is outlined.
const slide = (page, id, value, event = 'input') => page.$eval(`[data-testid=${id}]`, (el, [v, e]) => {
  el.value = v; el.dispatchEvent(new Event(e, { bubbles: true }));
}, [String(value), event]);
const setNumber = async (page, id, value) => { await page.fill(`[data-testid=${id}]`, String(value)); await page.dispatchEvent(`[data-testid=${id}]`, 'change'); };
const LESSON_ACTIONS = {
  1: [p => p.click('[data-testid=influence-row]'), p => slide(p, 'weight-slider', 0), p => slide(p, 'weight-slider', 2.5),
      async p => {
        // An empty spot of the plot (no tooltip there) places a new point to explain.
        const b = await p.locator('[data-testid=main-plot]').boundingBox();
        for (const [fx, fy] of [[0.5, 0.5], [0.3, 0.3], [0.7, 0.4], [0.4, 0.7], [0.6, 0.2]]) {
          await p.mouse.move(b.x + b.width * fx, b.y + b.height * fy);
          await p.waitForTimeout(150);
          if (!await p.$('[data-testid=tooltip]')) { await p.mouse.click(b.x + b.width * fx, b.y + b.height * fy); return; }
        }
        throw new Error('no empty spot in the plot');
      }],
  2: [p => slide(p, 'weight-slider', 0.5), p => p.click('[data-testid=loo-button]'), p => p.click('[data-testid=tab-lds]')],
  3: [p => p.click('[data-testid=loo-button]'),
      async p => {
        await slide(p, 'lambda-input', -1, 'change');
        await p.waitForFunction(() => location.search.includes('l2=0.1'));
        await p.waitForSelector('[data-testid=loo-button]:not([disabled])');
        await assertOpen(p, 'after λ alone (the check must run again)');
        await p.click('[data-testid=loo-button]');
      },
      p => slide(p, 'weight-slider', 0), p => p.click('[data-testid=truths-button]')],
  4: [p => p.click('[data-testid=tab-methods]'),
      async p => { await setNumber(p, 'lissa-scale', 0.4); await assertOpen(p, 'after the setting alone'); await p.click('[data-testid=methods-button]'); },
      async p => { await setNumber(p, 'arnoldi-k', 1); await p.click('[data-testid=methods-button]'); },
      p => p.click('[data-testid=tab-diagnostics]')],
  5: [p => p.click('[data-testid=tab-audit]'),
      async p => { await p.waitForSelector('[data-testid=audit-candidate]', { timeout: 30000 }); await p.click('[data-testid=audit-relabel] >> nth=0'); },
      p => p.click('[data-testid=tab-mislabel]')],
};
const current = '[data-testid=lesson-step].current';
async function assertOpen(page, when) {
  const done = await page.getAttribute(current, 'data-done');
  assert(done === 'false', `a step is done ${when}: ${await page.textContent(current)}`);
}

await check('guided lessons: every step of the five turns green only after its action', async () => {
  const page = await open();
  await viewReady(page);
  for (const [lesson, actions] of Object.entries(LESSON_ACTIONS)) {
    // The header's menu opens each lesson at its first step (and closes).
    await page.click('[data-testid=lessons-menu] summary');
    await page.click(`[data-testid=lesson-link-${lesson}]`);
    assert(!await page.$eval('[data-testid=lessons-menu]', d => d.open), 'the lesson menu stays open');
    await page.waitForSelector('[data-testid=lesson-panel]', { timeout: 20000 });
    const steps = await page.$$eval('[data-testid=lesson-step]', s => s.length);
    assert(steps === actions.length, `lesson ${lesson}: ${steps} steps, ${actions.length} actions`);
    for (let k = 1; k <= steps; k++) {
      await page.waitForFunction(([l, k]) => location.search.includes(`lesson=${l}&step=${k}`), [lesson, k]);
      await page.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
      if (await page.$('[data-testid=main-plot]')) await page.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 20000 });
      assert(await page.getAttribute(current, 'data-step') === String(k), `lesson ${lesson}: step ${k} is not current`);
      await assertOpen(page, `at its start (lesson ${lesson}, step ${k})`);
      const id = await page.$eval('[data-testid=lesson-panel] style', s => s.textContent.match(/data-testid="([^"]+)"/)?.[1]).catch(() => null);
      if (id) {
        await page.waitForSelector(`[data-testid=${id}]`, { timeout: 20000 });
        const outline = await page.$eval(`[data-testid=${id}]`, el => getComputedStyle(el).outlineStyle);
        assert(outline === 'solid', `lesson ${lesson} step ${k}: ${id} is not outlined (${outline})`);
      }
      await actions[k - 1](page);
      await page.waitForSelector(`${current}[data-done=true]`, { timeout: 60000 })
        .catch(async () => { throw new Error(`lesson ${lesson} step ${k} did not turn green: ${await page.textContent(current)}`); });
      if (lesson === '1' && k === 2) {
        // "Reset this step" restores its start: open again, weight back to 1.
        await page.click('[data-testid=lesson-reset]');
        await page.waitForFunction(() => new URLSearchParams(location.search).get('w') === '1');
        await assertOpen(page, 'after Reset this step');
        await actions[k - 1](page);
        await page.waitForSelector(`${current}[data-done=true]`, { timeout: 20000 });
        await accessible(page, 'a lesson step done');
        await page.screenshot({ path: `${OUT}/lesson.png` });
      }
      console.log(`     lesson ${lesson} step ${k}: green`);
      if (k < steps) await page.click('[data-testid=lesson-next]');
    }
  }
  noProblems(page);
  await page.close();
  // A link to step 3 opens step 3's view.
  const linked = await open('?lesson=1&step=3');
  await linked.waitForSelector(`${current}[data-step="3"]`, { timeout: 20000 });
  await linked.waitForFunction(() => location.search.includes('tp=81&w=0'));
  await viewReady(linked);
  // On a projector (1024 × 768) the steps stay beside the plot, not below the page.
  await linked.setViewportSize({ width: 1024, height: 768 });
  await linked.waitForTimeout(300);
  const plot = await linked.locator('[data-testid=main-plot]').boundingBox();
  const panel = await linked.locator('[data-testid=lesson-panel]').boundingBox();
  assert(panel.x >= plot.x + plot.width && panel.y < plot.y + plot.height,
    `at 1024 × 768 the lesson is beside the plot: plot ${JSON.stringify(plot)}, lesson ${JSON.stringify(panel)}`);
  noProblems(linked);
  await linked.close();
});

await check('日本語: the page in Japanese (?lang=ja, or the browser\'s language), one journey, and back to English', async () => {
  const page = await open('?lang=ja');
  await viewReady(page);
  assert(await page.getAttribute('html', 'lang') === 'ja', 'html lang is not ja');
  const textOf = sel => page.textContent(sel).then(t => t.trim());
  assert((await textOf('header h1')).includes('寄与エクスプローラー'), await textOf('header h1'));
  assert(await textOf('[data-testid=tab-explore]') === '探索', await textOf('[data-testid=tab-explore]'));
  const status = await textOf('[data-testid=model-status]');
  assert(/ロジスティック回帰：ニュートン法のステップ \d+ 回、収束/.test(status), `status: ${status}`);
  assert((await textOf('[data-testid=explained]')).startsWith('テスト点'), await textOf('[data-testid=explained]'));
  const row = await textOf('[data-testid=influence-row]');
  assert(/を除くと、この点の損失は [\d.]+ (上がり|下がり)ます/.test(row), `row: ${row}`);
  // The data panel's own words are all Japanese (class names and numbers aside).
  const panel = await page.$eval('.data-panel', el => el.innerText);
  for (const english of ['Dataset', 'Model', 'Standardise', 'Damping', 'Curvature']) assert(!panel.includes(english), `"${english}" in the data panel: ${panel}`);
  // Scrub a point to 0, check it against retraining, read an ⓘ: all in Japanese.
  await page.click('[data-testid=influence-row]');
  await page.waitForSelector('[data-testid=actual-delta]', { timeout: 20000 });
  await page.$eval('[data-testid=weight-slider]', el => { el.value = '0'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => document.querySelector('label[for=weight]')?.textContent.includes('重み 0.00（除去）'));
  assert((await textOf('section.scrubber table')).includes('予測（影響関数）'), 'scrubber table');
  await page.click('[data-testid=loo-button]');
  await page.waitForSelector('[data-testid=loo-pearson]', { timeout: 30000 });
  const loo = await textOf('section.loo p');
  assert(loo.startsWith('ピアソンの r = ') && loo.includes('回の再学習'), `loo: ${loo}`);
  assert(await textOf('section.group h2') === '集団を除く', await textOf('section.group h2'));
  await page.click('[data-testid=flip-button]');
  await page.waitForSelector('[data-testid=flip-sentence]', { timeout: 30000 });
  const flip = await textOf('[data-testid=flip-sentence]');
  assert(/を除くと|どの/.test(flip) && !/Removing|No set/.test(flip), `flip: ${flip}`);
  await page.click('[data-testid=info-influence]');
  assert((await textOf('[data-testid=info-text]')).startsWith('損失とは'), 'ⓘ in Japanese');
  await page.click('[data-testid=lessons-menu] summary');
  await page.click('[data-testid=lesson-link-1]');
  await page.waitForSelector('[data-testid=lesson-panel]');
  assert((await textOf('[data-testid=lesson-panel] h2')).startsWith('レッスン 1／5：影響とは何か'), await textOf('[data-testid=lesson-panel] h2'));
  assert((await textOf('[data-testid=lesson-step].current p')).includes('一番上の行をクリック'), 'lesson step in Japanese');
  await accessible(page, 'the page in Japanese');
  await page.screenshot({ path: `${OUT}/japanese.png` });
  // The saved report is in the page's language, its own words too.
  const [report] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save-report]')]);
  const html = fs.readFileSync(await report.path(), 'utf8');
  assert(html.includes('<html lang="ja">') && html.includes('ブラウザーの中で作成しました'), 'the report in Japanese');
  assert(html.includes('を除くと、この点の損失は'), 'the ranked list in Japanese');
  // The switch in the header: English again, in the link too, without reloading.
  await page.selectOption('[data-testid=lang-select]', 'en');
  await page.waitForFunction(() => document.querySelector('header h1').textContent === 'Attribution Explorer');
  assert(await page.getAttribute('html', 'lang') === 'en', 'html lang is not en');
  assert(page.url().includes('lang=en'), page.url());
  assert((await textOf('[data-testid=lesson-panel] h2')).startsWith('Lesson 1 of 5'), 'lesson in English');
  noProblems(page);
  await page.close();
  // Without ?lang=, the browser's language decides.
  const ctx = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 800 } });
  const ja = await ctx.newPage();
  await ja.goto(`${origin}/`);
  await ja.waitForSelector('[data-testid=engine-status].ok', { timeout: 20000 });
  assert(await ja.textContent('[data-testid=tab-explore]') === '探索', 'a Japanese browser gets Japanese');
  await ctx.close();
});

await check('the Content-Security-Policy blocks requests to other origins', async () => {
  const page = await open();
  await viewReady(page);
  const violation = await page.evaluate(async () => {
    const seen = new Promise(r => document.addEventListener('securitypolicyviolation', e => r(e.effectiveDirective), { once: true }));
    try { await fetch('http://127.0.0.2:9/should-not-leave'); } catch { /* refused, as it must be */ }
    return Promise.race([seen, new Promise(r => setTimeout(() => r(null), 2000))]);
  });
  assert(violation === 'connect-src', `the policy did not block the fetch (violation: ${violation})`);
  // The attempt itself is the CSP violation the browser reports; nothing was sent.
  page.log.errors = page.log.errors.filter(e => !e.includes('Content Security Policy') && !e.includes('Failed to fetch'));
  page.log.requests = page.log.requests.filter(u => !u.startsWith('http://127.0.0.2'));
  page.log.afterReady = page.log.afterReady.filter(u => !u.startsWith('http://127.0.0.2'));
  noProblems(page);
  await page.close();
});

await browser.close();
close();
longest.sort((a, b) => b[0] - a[0]);
console.log(`longest main-thread task over all journeys: ${longest[0][0] ? `${longest[0][0].toFixed(0)} ms (${longest[0][1]})` : 'none over 50 ms'}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
