import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wav } from '../audio-table';
import { engineMemory, newWatch, savedRows, useApp, workerHeap } from '../browser';
import { tempDir } from '../helpers';

// Hours of audio in the app: one-minute files on the demo weights (forced WASM), RAT_LOAD_HOURS hours of
// them (default 0.5 in the suite, sized for CI; 10 for a working day of recordings). The worker keeps the
// files and a bounded cache of decoded audio, so its memory at 10 % and at 100 % of the batch must agree
// within 50 MB (JS heap with ArrayBuffer and WASM memory, and tfjs memory), and every result must be in
// the table and in the saved rows.

const HOURS = Number(process.env.RAT_LOAD_HOURS ?? 0.25);
const FILES = Math.round(HOURS * 60);
const BOUND = 50 * 1048576;
const MB = (n: number) => (n / 1048576).toFixed(1);
let files: string[];

function prepare() {
  const dir = path.join(tempDir('e2e-hours'), 'batch');
  mkdirSync(dir);
  // a few distinct minutes (amplitude-modulated noise), each linked under many names: disk holds a few MB
  const bases = Array.from({ length: 5 }, (_, k) => {
    let seed = 11 + k;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const f = path.join(dir, `base-${k}.wav`);
    const samples = Float32Array.from({ length: 60 * 16000 }, (_, i) => rand() * 0.2 * (1 + Math.sin(i / (800 + k))));
    writeFileSync(f, wav(samples, 16000));
    return f;
  });
  files = Array.from({ length: FILES }, (_, i) => {
    const f = path.join(dir, `minute-${String(i).padStart(4, '0')}.wav`);
    linkSync(bases[i % bases.length], f);
    return f;
  });
}
const app = useApp({ build: 'dist-faults', prepare, timeout: 300_000 });

describe('hours of audio in the app', () => {
  it(`${HOURS} h as ${FILES} one-minute files: every result kept, the worker's memory flat`, async () => {
    const watch = newWatch();
    const page = await app.open({ query: '?backend=wasm&faults=1', watch });
    const engine = () => engineMemory(page);
    const done = async () => Number(await page.getByTestId('batch-done').textContent());
    const measure = async () => ({ heap: await workerHeap(app.browser), engine: await engine(), done: await done() });

    const idle = await engine();
    const t0 = Date.now();
    await page.getByTestId('test-file-input').setInputFiles(files);
    await expect.poll(done, { timeout: 3_600_000, interval: 1000 }).toBeGreaterThanOrEqual(Math.ceil(FILES / 10));
    const early = await measure();
    await expect.poll(done, { timeout: 14_400_000, interval: 2000 }).toBe(FILES);
    const late = await measure();
    const seconds = (Date.now() - t0) / 1000;

    await expect
      .poll(() => page.locator('[data-testid=result-row] [data-testid=score]').count(), { timeout: 60_000 })
      .toBe(FILES);
    await expect.poll(() => savedRows(page), { timeout: 60_000 }).toBe(FILES);
    console.log(
      `${HOURS} h in ${FILES} files: ${seconds.toFixed(0)} s (${((HOURS * 3600) / seconds).toFixed(1)}x real time); ` +
        `worker at ${early.done} and ${late.done} files: JS heap ${MB(early.heap.used)} -> ${MB(late.heap.used)} MB, ` +
        `ArrayBuffers and WASM ${MB(early.heap.backing)} -> ${MB(late.heap.backing)} MB, ` +
        `tfjs ${early.engine.numTensors} -> ${late.engine.numTensors} tensors (${MB(early.engine.numBytes)} -> ${MB(late.engine.numBytes)} MB), ` +
        `decoded audio cached ${early.engine.cached} -> ${late.engine.cached} clips (${MB(early.engine.cachedBytes)} -> ${MB(late.engine.cachedBytes)} MB) ` +
        `of ${late.engine.clips} held as files`,
    );
    expect(late.engine.clips).toBe(FILES);
    expect(Math.abs(late.heap.total - early.heap.total)).toBeLessThan(BOUND);
    expect(Math.abs(late.engine.numBytes - early.engine.numBytes)).toBeLessThan(BOUND);
    // mid-batch a pass holds its own tensors; once the batch is done the engine holds what it held before
    expect(late.engine.numTensors).toBe(idle.numTensors);
    // without the bounded cache the worker would hold every decoded minute: 3.84 MB each
    expect(late.engine.cachedBytes).toBeLessThanOrEqual(32 * 1048576);
    expect(watch.errors).toEqual([]);
    await page.close();
  }, 18_000_000);
});
