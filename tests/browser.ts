import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from '../scripts/chromium';

// Debian's Chromium driven by playwright-core against `vite preview` of the built app (dist/).

const ROOT = path.resolve(__dirname, '..');

/** Debian's Chromium with the arguments every browser test and the benchmark share (scripts/chromium.ts). */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return launchChromium(extraArgs);
}

/**
 * Serves a build on a loopback port the OS picks; resolves with its URL once it answers. `outDir`:
 * dist/ (production) or dist-faults/ (the same app with fault injection, built by scripts/test-all.sh).
 */
export async function startPreview(
  outDir: 'dist' | 'dist-faults' = 'dist',
): Promise<{ url: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/vite/bin/vite.js'),
      'preview',
      '--outDir',
      outDir,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let output = '';
  const url = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 60_000);
    const read = (d: Buffer) => {
      output += d.toString();
      // vite prints "Local:   http://127.0.0.1:<port>/" once it is listening
      const m = /https?:\/\/127\.0\.0\.1:\d+\//.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  if (url && (await fetch(url).catch(() => null))?.ok) return { url, stop: () => child.kill() };
  child.kill();
  throw new Error(
    `vite preview did not start; run "npm run build"${outDir === 'dist' ? '' : ' and "npm run build:faults"'} first\n${output}`,
  );
}

/** What a page did that a test may forbid: requests leaving the origin, page errors, CSP violations reported. */
export interface AppWatch {
  foreign: string[];
  errors: string[];
  csp: string[];
}

export const newWatch = (): AppWatch => ({ foreign: [], errors: [], csp: [] });

export interface OpenAppOptions {
  /** Appended to the URL, e.g. `?backend=wasm`. */
  query?: string;
  /** Default 1280 x 900. */
  viewport?: { width: number; height: number };
  /** Let the page download files (export buttons). */
  acceptDownloads?: boolean;
  /** Runs before navigation (routes, init scripts). */
  setup?: (page: Page) => Promise<void>;
  /** The weights label to wait for (default `Demo weights`); false: do not wait. */
  weights?: string | false;
  /** Where foreign requests, page errors and CSP violations (console and `window.__csp`) are recorded. */
  watch?: AppWatch;
}

/**
 * Opens the app at `url` in a new page of `target` (a browser or a context) with the watchers of
 * {@link AppWatch}, and waits until the weights are loaded.
 */
export async function openApp(target: Browser | BrowserContext, url: string, opts: OpenAppOptions = {}): Promise<Page> {
  const viewport = opts.viewport ?? { width: 1280, height: 900 };
  const page =
    'newContext' in target
      ? await target.newPage({ viewport, acceptDownloads: opts.acceptDownloads })
      : await target.newPage();
  if (!('newContext' in target)) await page.setViewportSize(viewport);
  const watch = opts.watch;
  if (watch) {
    const origin = new URL(url).origin;
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { __csp: string[] }).__csp ??= [];
        (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) watch.csp.push(m.text());
    });
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')) watch.foreign.push(u);
    });
    page.on('pageerror', (e) => watch.errors.push(e.message));
  }
  await opts.setup?.(page);
  await page.goto(url + (opts.query ?? ''));
  const weights = opts.weights ?? 'Demo weights';
  if (weights !== false)
    await page.getByTestId('weights-label').filter({ hasText: weights }).waitFor({ timeout: 180_000 });
  return page;
}

/** Options of {@link useApp}. */
export interface UseAppOptions {
  /** The build to serve (default `dist`; `dist-faults` for ?faults=1 pages). */
  build?: 'dist' | 'dist-faults';
  /** Runs first in the same beforeAll, before the server starts (fixtures); default none. */
  prepare?: () => unknown;
  /** Launch Chromium (default true); false serves the build only. */
  browser?: boolean;
  /** The beforeAll's timeout in ms (default the config's hookTimeout). */
  timeout?: number;
}

/** What {@link useApp} started; its getters throw before its beforeAll has run. */
export interface App {
  /** The preview server's URL, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Chromium with the shared arguments; throws under `browser: false`. */
  readonly browser: Browser;
  /** {@link openApp} at `url` in a new page of `browser` (default options: openApp's). */
  open(opts?: OpenAppOptions): Promise<Page>;
}

/** Registers the beforeAll (`prepare`, serve, launch) and afterAll (close, stop) of a browser test file or describe. */
export function useApp(opts: UseAppOptions = {}): App {
  let preview: Awaited<ReturnType<typeof startPreview>> | undefined;
  let browser: Browser | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useApp: no ${what} (read before beforeAll ran, or not asked for)`);
    return value;
  };
  beforeAll(async () => {
    await opts.prepare?.();
    preview = await startPreview(opts.build);
    if (opts.browser !== false) browser = await launchBrowser();
  }, opts.timeout);
  afterAll(async () => {
    await browser?.close();
    preview?.stop();
  });
  const app: App = {
    get url() {
      return need(preview, 'server').url;
    },
    get browser() {
      return need(browser, 'browser');
    },
    open: (o) => openApp(app.browser, app.url, o),
  };
  return app;
}

/** CSP violations a watched page saw (reported in the page and on its console). */
export async function cspViolations(page: Page, watch: AppWatch): Promise<string[]> {
  const inPage = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  return [...inPage, ...watch.csp];
}

/** Drops files on the page as a user would (a DataTransfer carried by dragover and drop events). */
export async function dropFiles(page: Page, files: string[]) {
  const payload = files.map((f) => ({ name: path.basename(f), b64: readFileSync(f).toString('base64') }));
  await page.evaluate((items) => {
    const dt = new DataTransfer();
    for (const it of items) dt.items.add(new File([Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0))], it.name));
    window.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, cancelable: true }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, cancelable: true }));
  }, payload);
}

/** Rows in the page's results store (IndexedDB `rat-results`, store `rows`); 0 before it exists. */
export function savedRows(page: Page): Promise<number> {
  return page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((d) => d.name === 'rat-results')) return 0;
    return new Promise<number>((resolve) => {
      const req = indexedDB.open('rat-results');
      req.onerror = () => resolve(0);
      req.onsuccess = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('rows')) {
          db.close();
          resolve(0);
          return;
        }
        const count = db.transaction('rows').objectStore('rows').count();
        count.onsuccess = () => {
          db.close();
          resolve(count.result);
        };
        count.onerror = () => {
          db.close();
          resolve(0);
        };
      };
    });
  });
}

/**
 * The JS heap of the app's inference worker after a full garbage collection: V8's used heap plus the
 * ArrayBuffer backing stores (decoded audio, WASM memory), read over the DevTools protocol because
 * a worker has no `performance.memory`.
 */
export async function workerHeap(browser: Browser): Promise<{ used: number; backing: number; total: number }> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const workers = targetInfos.filter((t) => t.type === 'worker' && t.url.includes('inference.worker'));
    if (workers.length !== 1) throw new Error(`expected one inference worker, found ${workers.length}`);
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: workers[0].targetId, flatten: false });
    let next = 0;
    const call = <T>(method: string): Promise<T> => {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        const onMessage = (e: { sessionId?: string; message: string }) => {
          const m = JSON.parse(e.message) as { id?: number; result?: T; error?: { message: string } };
          if (e.sessionId !== sessionId || m.id !== id) return;
          cdp.off('Target.receivedMessageFromTarget', onMessage);
          if (m.error) reject(new Error(`${method}: ${m.error.message}`));
          else resolve(m.result as T);
        };
        cdp.on('Target.receivedMessageFromTarget', onMessage);
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
      });
    };
    await call('HeapProfiler.enable');
    await call('HeapProfiler.collectGarbage');
    const u = await call<{ usedSize: number; backingStorageSize: number }>('Runtime.getHeapUsage');
    await cdp.send('Target.detachFromTarget', { sessionId });
    return { used: u.usedSize, backing: u.backingStorageSize, total: u.usedSize + u.backingStorageSize };
  } finally {
    await cdp.detach();
  }
}

/** The engine's memory in a fault-injection page (?faults=1): tensors, their bytes, clips and references held. */
export function engineMemory(page: Page): Promise<{
  numTensors: number;
  numBytes: number;
  clips: number;
  cached: number;
  cachedBytes: number;
  refs: number;
}> {
  type Memory = Awaited<ReturnType<typeof engineMemory>>;
  return page.evaluate(() => (window as unknown as { ratFaults: { memory(): Promise<Memory> } }).ratFaults.memory());
}
