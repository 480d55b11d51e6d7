import { serve, launch } from './harness.mjs';
const { origin, close } = await serve();
const b = await launch();
const p = await b.newPage({ viewport: { width: +(process.env.W ?? 1280), height: +(process.env.H ?? 800) } });
await p.goto(`${origin}/${process.argv[2] ?? ''}`);
await p.waitForSelector('[data-testid=main-plot][data-drawn=true]', { timeout: 30000 });
await p.waitForTimeout(+(process.env.WAIT ?? 2500));
await p.screenshot({ path: '/tmp/shot.png', fullPage: process.argv[3] === 'full' });
await b.close(); close();
