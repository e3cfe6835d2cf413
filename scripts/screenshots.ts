// The page as a user sees it after dropping four speech files on the demo weights (WASM), at 1280 px
// and at a phone's 390 px, full length: <out>/desk-1280.png and <out>/desk-390.png. --root points
// at another checkout's built app (its dist/ and vite.config.ts) to picture that version the same way.
//
//   npm run build && npm run screenshots -- [--out docs/screenshots] [--root <checkout>]

import path from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { launchChromium } from './chromium';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const FILES = ['Front_Center.wav', 'Front_Left.wav', 'Noise.wav', 'Rear_Right.wav'].map(
  (f) => `/usr/share/sounds/alsa/${f}`,
);
const WIDTHS: [number, number][] = [
  [1280, 900],
  [390, 844],
];

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(ROOT, 'docs/screenshots') },
      root: { type: 'string', default: ROOT },
    },
  });
  const root = path.resolve(values.root);
  if (!existsSync(path.join(root, 'dist/index.html'))) throw new Error(`no ${root}/dist/: build that checkout first`);
  for (const f of FILES) if (!existsSync(f)) throw new Error(`${f} is missing: install alsa-utils`);
  mkdirSync(values.out, { recursive: true });
  const server = await preview({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'error',
    preview: { port: 0, host: '127.0.0.1' },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the preview server did not start');
  const browser = await launchChromium();
  try {
    for (const [width, height] of WIDTHS) {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(`${url}?backend=wasm`);
      await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
      await page.getByTestId('test-file-input').setInputFiles(FILES);
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid=result-row] [data-testid=score]').length >= n,
        FILES.length,
        { timeout: 300_000, polling: 250 },
      );
      // the waveform and the rows' mini timelines draw after the scores arrive
      await page.waitForTimeout(1500);
      const file = path.join(values.out, `desk-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const tall = await page.evaluate(() => document.documentElement.scrollHeight);
      console.log(`${path.relative(process.cwd(), file)}: ${width} x ${tall} px`);
      await page.close();
    }
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
