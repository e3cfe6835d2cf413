import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wav } from '../audio-table';
import { engineMemory, newWatch, useApp } from '../browser';
import { tempDir } from '../helpers';

// Load in the browser: a 500-file batch on the demo weights (forced WASM, the predictable backend
// on CI) completes with flat engine memory (tensors held by the worker) and a bounded page heap,
// while the page keeps answering input: a key press every 250 ms, timed from the event to the
// next painted frame.

const FILES = 500;
const MB = (n: number) => (n / 1048576).toFixed(1);
let files: string[];

function prepare() {
  const dir = path.join(tempDir('e2e-load'), 'batch');
  mkdirSync(dir);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  files = Array.from({ length: FILES }, (_, i) => {
    const f = path.join(dir, `clip-${String(i).padStart(3, '0')}.wav`);
    writeFileSync(
      f,
      wav(
        Float32Array.from({ length: 4000 + (i % 7) * 500 }, () => rand() * 0.3),
        16000,
      ),
    );
    return f;
  });
}
const app = useApp({ build: 'dist-faults', prepare, timeout: 300_000 });

describe('load in the app', () => {
  it(`a ${FILES}-file batch completes with flat engine memory, and input stays responsive`, async () => {
    const watch = newWatch();
    const page = await app.open({
      query: '?backend=wasm&faults=1',
      watch,
      setup: async (p) => {
        await p.addInitScript(() => {
          const lat: number[] = [];
          (window as unknown as { __lat: number[] }).__lat = lat;
          window.addEventListener('keydown', (e) => {
            const t = e.timeStamp;
            requestAnimationFrame(() => requestAnimationFrame((now) => lat.push(now - t)));
          });
        });
      },
    });
    const memory = () => engineMemory(page);
    const heap = () =>
      page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
    const start = { engine: await memory(), heap: await heap() };

    const t0 = Date.now();
    await page.getByTestId('test-file-input').setInputFiles(files);
    // a key press about every 250 ms until the batch is done
    const done = page.getByTestId('batch-done');
    const finished = done.filter({ hasText: new RegExp(`^${FILES}$`) });
    let presses = 0;
    for (;;) {
      await page.keyboard.press('Shift');
      presses++;
      if (
        await finished.waitFor({ timeout: 250 }).then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() - t0 > 1_500_000) throw new Error(`batch stuck at ${await done.textContent()} of ${FILES}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    await expect
      .poll(() => page.locator('[data-testid=result-row] [data-testid=score]').count(), { timeout: 60_000 })
      .toBe(FILES);
    // every key press reaches a painted frame
    const latencies = () => page.evaluate(() => (window as unknown as { __lat: number[] }).__lat);
    await expect.poll(async () => (await latencies()).length, { timeout: 60_000 }).toBe(presses);
    const lat = (await latencies()).sort((a, b) => a - b);
    // the page keeps every clip (for re-scoring); the engine must hold no more tensors than at the start
    const end = { engine: await memory(), heap: await heap() };
    const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(0);
    console.log(
      `browser batch: ${FILES} files in ${seconds.toFixed(0)} s (${(FILES / seconds).toFixed(1)} files/s); ` +
        `engine tensors ${start.engine.numTensors} -> ${end.engine.numTensors} (${MB(start.engine.numBytes)} -> ${MB(end.engine.numBytes)} MB), ` +
        `clips held ${end.engine.clips}; page JS heap ${MB(start.heap)} -> ${MB(end.heap)} MB; ` +
        `input to next frame over ${lat.length} key presses: median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${lat[lat.length - 1].toFixed(0)} ms`,
    );
    expect(end.engine.numTensors).toBe(start.engine.numTensors);
    expect(end.engine.numBytes).toBe(start.engine.numBytes);
    expect(end.engine.refs).toBe(0);
    expect(end.heap - start.heap).toBeLessThan(150 * 1048576);
    expect(lat.length).toBeGreaterThan(10);
    // responsive: most key presses are answered within a frame or a few; a bound that a loaded machine still meets
    expect(Number(q(0.5))).toBeLessThan(1000);
    expect(watch.errors).toEqual([]);
    await page.close();
  }, 1_800_000);
});
