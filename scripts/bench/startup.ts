// Startup of the built app with a weights folder as a served set: the first visit downloads it
// (and fills Cache Storage); each later visit opens on it (the weights last loaded are remembered)
// from the cache. Prints, per visit, the time from navigation to the weights being ready, the
// worker's load phases and the time to the first score of a dropped clip.
//
//   npm run build && npm run bench:startup -- <weights dir> [--visits 3] [--clip <wav>] [--backend wasm|webgpu]

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const SET_ID = 'bench-startup';

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      visits: { type: 'string', default: '3' },
      clip: { type: 'string', default: '/usr/share/sounds/alsa/Front_Center.wav' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const dir = positionals[0];
  if (!dir || !existsSync(path.join(dir, 'model.json')))
    throw new Error(
      'usage: bench:startup <weights dir with model.json> [--visits N] [--clip wav] [--backend wasm|webgpu]',
    );
  if (!existsSync(path.join(ROOT, 'dist/index.html'))) throw new Error('no dist/: run npm run build first');
  const label = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')).label as string;
  const demoIndex = JSON.parse(readFileSync(path.join(ROOT, 'dist/weights/index.json'), 'utf8'));
  const index = JSON.stringify({
    weights: [...demoIndex.weights, { id: SET_ID, path: `weights/${SET_ID}/`, label, demo: false }],
  });
  const server = await preview({
    root: ROOT,
    logLevel: 'error',
    preview: { port: 0, host: '127.0.0.1' },
    plugins: [
      {
        name: 'startup-weights',
        configurePreviewServer(s) {
          s.middlewares.use((req, res, next) => {
            const url = (req.url ?? '').split('?')[0];
            if (url === '/weights/index.json') {
              res.setHeader('Content-Type', 'application/json');
              res.end(index);
              return;
            }
            if (!url.startsWith(`/weights/${SET_ID}/`)) return next();
            const file = path.join(dir, path.basename(url));
            if (!existsSync(file)) {
              res.statusCode = 404;
              res.end();
              return;
            }
            res.setHeader('Content-Length', String(statSync(file).size));
            createReadStream(file).pipe(res);
          });
        },
      },
    ],
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the preview server did not start');
  // a profile on disk, as a user's browser has: an incognito context keeps its storage in memory,
  // which reads back at another speed
  const profile = mkdtempSync(path.join(os.tmpdir(), 'rat-startup-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
  });
  const log = (s: string) => process.stderr.write(`[startup] ${s}\n`);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    const ready = (name: string) =>
      page.getByTestId('weights-label').filter({ hasText: name }).waitFor({ timeout: 1_800_000 });
    const readyInfo = async () => ({
      open_ms: await page.evaluate(() => performance.now()),
      worker_ms: Number(await page.getByTestId('weights-load-time').getAttribute('data-ms')),
    });
    await page.goto(`${url}?backend=${values.backend}`);
    await ready('Demo weights');
    log(`first visit: downloading ${label} ...`);
    const t = Date.now();
    await page.getByTestId('weight-set').selectOption(SET_ID);
    await ready(label);
    const cold = { ...(await readyInfo()), wall_ms: Date.now() - t };
    console.log(`cold (network, fills the cache): ready ${(cold.wall_ms / 1000).toFixed(1)} s after choosing the set`);
    const visits = Number(values.visits);
    for (let v = 1; v <= visits; v++) {
      await page.reload();
      await ready(label);
      const warm = await readyInfo();
      const timings = await page.getByTestId('weights-load-time').getAttribute('data-phases');
      const prefault = await page.getByTestId('weights-load-time').getAttribute('data-prefault');
      // rows restored from earlier visits already show scores: wait for one more
      const scores = page.locator('[data-testid=result-row] [data-testid=score]');
      const before = await scores.count();
      await page.getByTestId('test-file-input').setInputFiles(values.clip);
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid=result-row] [data-testid=score]').length > n,
        before,
        { timeout: 600_000, polling: 50 },
      );
      const firstScore = await page.evaluate(() => performance.now());
      console.log(
        `visit ${v} (cached): ready ${(warm.open_ms / 1000).toFixed(1)} s after opening the page (worker load ${(warm.worker_ms / 1000).toFixed(1)} s` +
          `: ${timings} ms; heap mapped ahead ${prefault}); first score (${path.basename(values.clip)}) ${(firstScore / 1000).toFixed(1)} s after opening`,
      );
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
