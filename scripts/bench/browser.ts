import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'vite';
import { launchChromium } from '../chromium';

// Chromium rows of the benchmark: Vite's dev server serves scripts/bench/page.html (cross-origin
// isolated, as the app) plus the converted weights and the clips; Debian's Chromium runs it through
// playwright-core. One page visit loads from the network (and fills Cache Storage) and times the
// clips; a second visit measures the warm load from the cache and the time to the first score.

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export interface BrowserBenchOptions {
  weights: string;
  clipsDir: string;
  lengths: number[];
  /** Timed runs per row after a warm-up run; 0: a single run with no warm-up. */
  repeats: number;
  backend: 'wasm' | 'webgpu';
  /** Also visit a second time to time the warm load from Cache Storage (default true). */
  warmVisit?: boolean;
  log: (s: string) => void;
}

type Visit = (args: {
  score: boolean;
  lengths: number[];
  repeats: number;
  profile?: boolean;
}) => Promise<Record<string, any>>;

/** Serves the bench page and the files it reads, opens Chromium, and hands `fn` a way to visit the page. */
async function withBenchPage<T>(
  o: Pick<BrowserBenchOptions, 'weights' | 'clipsDir' | 'backend' | 'log'>,
  fn: (visit: Visit) => Promise<T>,
): Promise<T> {
  // below 5060-5061, which Chromium refuses to load from (ERR_UNSAFE_PORT)
  const port = 4900 + Math.floor(Math.random() * 150);
  const server = await createServer({
    root: ROOT,
    logLevel: 'error',
    server: { port, strictPort: true, host: '127.0.0.1', hmr: false, watch: null },
    plugins: [
      {
        name: 'bench-files',
        configureServer(s) {
          s.middlewares.use((req, res, next) => {
            const url = (req.url ?? '').split('?')[0];
            let file: string | null = null;
            if (url === '/bench-clips.safetensors') file = path.join(o.clipsDir, 'bench-clips.safetensors');
            else if (url.startsWith('/bench-weights/')) file = path.join(o.weights, path.basename(url));
            if (!file) return next();
            if (!existsSync(file)) {
              res.statusCode = 404;
              res.end();
              return;
            }
            res.setHeader('Content-Length', String(statSync(file).size));
            res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
            createReadStream(file).pipe(res);
          });
        },
      },
    ],
  });
  await server.listen();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext();
    const url = `http://127.0.0.1:${port}/scripts/bench/page.html`;
    return await fn(async (args) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => o.log(`page error: ${e.message}`));
      const t0 = Date.now();
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, {
        timeout: 600_000,
      });
      const r = await page.evaluate((a) => (globalThis as any).ratBench(a), { backend: o.backend, ...args });
      r.open_to_done_ms = Date.now() - t0; // for a visit without timing runs: opening the page to the first score
      await page.close();
      return r;
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function runBrowserBench(o: BrowserBenchOptions): Promise<Record<string, any>> {
  return withBenchPage(o, async (visit) => {
    o.log(`${o.backend}: first visit (weights over the network, then timing) ...`);
    const first = await visit({ score: true, lengths: o.lengths, repeats: o.repeats });
    if (o.warmVisit === false) return { ...first, cold_load_ms: first.load_ms };
    o.log(`${o.backend}: second visit (weights from Cache Storage) ...`);
    const second = await visit({ score: false, lengths: o.lengths.slice(0, 1), repeats: o.repeats });
    return {
      ...first,
      cold_load_ms: first.load_ms,
      warm_load_ms: second.load_ms,
      warm_load_phases: second.load_phases,
      warm_cached_bytes: second.cached_bytes,
      first_score_ms: second.open_to_done_ms,
      first_score_detail: { load_ms: second.load_ms, score_ms: second.first_score_ms },
    };
  });
}

/** One visit that profiles a zero- and an audio-reference score of a `seconds` clip (tf.profile in the page). */
export async function runBrowserProfile(
  o: Omit<BrowserBenchOptions, 'lengths' | 'repeats' | 'warmVisit'> & { seconds: number },
): Promise<Record<string, any>> {
  return withBenchPage(o, (visit) => visit({ score: false, lengths: [o.seconds], repeats: 1, profile: true }));
}
