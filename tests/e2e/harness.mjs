// Shared by the end-to-end test and the browser benchmark: serve dist/ on 127.0.0.1
// (a port of the OS's choosing) and launch Debian's Chromium headless with the flags
// that keep it off the closed network.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json' };

/** Serve `dir`; resolves to { origin, close }. */
export async function serve(dir = path.resolve('dist')) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(dir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  // close() also drops open keep-alive connections: the server is really gone.
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => { server.close(); server.closeAllConnections(); } };
}

/** Serve one HTML page, `html(origin)` (a host page at another origin); resolves to { origin, close }. */
export async function servePage(html) {
  let origin = '';
  const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html(origin)); });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, close: () => { server.close(); server.closeAllConnections(); } };
}

/** Headless Chromium from Debian. */
export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Write (once) a CSV of `rows` rows: `cols` features in [-1, 1) with 5 decimals from a
 * seeded generator, and a label "yes" or "no" from the sign of their sum plus noise.
 * Written to disk: the browser reads it as a user's file. Returns its path. */
export function numbersCsv(dir, rows, cols) {
  const file = path.join(dir, `numbers-${rows}x${cols}.csv`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 * 2 - 1;
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Array.from({ length: cols }, (_, j) => `x${j + 1}`).join(',') + ',label\n');
  for (let start = 0; start < rows; start += 5000) {
    const lines = [];
    for (let i = start; i < Math.min(rows, start + 5000); i++) {
      const x = Array.from({ length: cols }, rnd);
      const sum = x.reduce((a, b) => a + b, 0) + 2 * rnd();
      lines.push(x.map(v => v.toFixed(5)).join(',') + (sum > 0 ? ',yes' : ',no'));
    }
    fs.writeSync(fd, lines.join('\n') + '\n');
  }
  fs.closeSync(fd);
  return file;
}
