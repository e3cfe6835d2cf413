import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { wav } from '../audio-table';
import { newWatch, openApp, useApp } from '../browser';
import { FIXTURES, ROOT, tempDir } from '../helpers';

// Faults in the middle of a batch: the worker crashing and the GPU device being lost while files
// are being scored, with more files dropped and the weight cache cleared during the run, then the
// weights switched. The app must say what happened, finish the batch and keep every result.

let dir: string;
let clips: string[];

async function prepare() {
  dir = tempDir('e2e-faults');
  mkdirSync(path.join(dir, 'clips'));
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  clips = Array.from({ length: 15 }, (_, i) => {
    const f = path.join(dir, 'clips', `f${String(i).padStart(2, '0')}.wav`);
    writeFileSync(
      f,
      wav(
        Float32Array.from({ length: 16000 + i * 800 }, () => rand() * 0.3),
        16000,
      ),
    );
    return f;
  });
  // 10 minutes of noise: one pass over it overflows the WASM heap (attention is quadratic in length)
  const long = Float32Array.from({ length: 600 * 16000 }, () => rand() * 0.2);
  writeFileSync(path.join(dir, 'ten-minutes.wav'), wav(long, 16000));
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'tiny'), label: 'tiny folder' });
}
const app = useApp({ build: 'dist-faults', prepare, timeout: 300_000 });

const doneCount = async (page: Page) =>
  Number(
    (await page
      .getByTestId('batch-done')
      .textContent()
      .catch(() => '0')) || 0,
  );

/** Scores shown now, by file. */
async function scores(page: Page): Promise<Map<string, string>> {
  const rows = page.locator('[data-testid=result-row]').filter({ has: page.getByTestId('score') });
  const out = new Map<string, string>();
  for (const r of await rows.all())
    out.set((await r.getAttribute('data-file'))!, (await r.getByTestId('score').getAttribute('data-value'))!);
  return out;
}

describe('faults during a batch', () => {
  // [fault, page query, the page's message, files dropped first, files in all]: on WebGPU, which is
  // SwiftShader here, every clip takes seconds, so that batch is smaller
  it.each([
    ['crash', '?backend=wasm&faults=1', /inference engine crashed/, 12, 15],
    ['device-lost', '?backend=webgpu&faults=1', /GPU device was lost/, 5, 7],
  ] as const)(
    '%s mid-batch, with files dropped and the cache cleared during the run: recovers, finishes, keeps every result',
    async (fault, query, message, first, total) => {
      const watch = newWatch();
      const page = await app.open({ query, watch });
      await page.getByTestId('test-file-input').setInputFiles(clips.slice(0, first));
      await expect.poll(() => doneCount(page), { timeout: 300_000 }).toBeGreaterThanOrEqual(3);
      const before = await scores(page);
      expect(before.size).toBeGreaterThanOrEqual(3);
      // more files while the batch runs, the cache cleared under it, then the fault
      await page.getByTestId('test-file-input').setInputFiles(clips.slice(first, total));
      await page.getByRole('button', { name: 'Clear cache' }).click();
      await page.evaluate(
        (f) =>
          (window as unknown as { ratFaults: { inject(f: string): Promise<unknown> } }).ratFaults
            .inject(f)
            .catch(() => null),
        fault,
      );
      await page.getByRole('status').filter({ hasText: message }).waitFor({ timeout: 60_000 });
      await page.getByRole('status').filter({ hasText: 'engine was restarted' }).waitFor({ timeout: 300_000 });
      await expect.poll(() => doneCount(page), { timeout: 600_000 }).toBe(total);
      const after = await scores(page);
      expect(after.size).toBe(total);
      for (const [file, p] of before) expect(after.get(file), file).toBe(p); // nothing finished was lost or changed
      expect(await page.getByTestId('batch-total').textContent()).toBe(String(total));
      await page.screenshot({
        path: path.join(ROOT, `test-results/screenshots/fault-${fault}-mid-batch.png`),
        fullPage: true,
      });

      if (fault === 'crash') {
        // switching weights after the batch: the file in view is scored under them at once, the other 14
        // when asked for; then every file has a row under the new weights, and the old rows stay
        await page.getByTestId('weights-folder-input').setInputFiles(path.join(dir, 'tiny'));
        await page.getByTestId('weights-label').filter({ hasText: 'tiny folder' }).waitFor({ timeout: 120_000 });
        await page.getByTestId('approve-batch').filter({ hasText: 'Score all 14 under this choice' }).click();
        await expect
          .poll(
            () => page.locator('[data-testid=result-row][data-weights*="tiny folder"]').getByTestId('score').count(),
            { timeout: 300_000 },
          )
          .toBe(15);
        expect(
          await page.locator('[data-testid=result-row][data-weights^="Demo weights"]').getByTestId('score').count(),
        ).toBe(15);
      }
      expect(watch.errors).toEqual([]);
      await page.close();
    },
    1_200_000,
  );
  it('storage full: the weights still load and score, the page says they were not kept, and the cache stays empty', async () => {
    const context = await app.browser.newContext();
    const watch = newWatch();
    const page = await openApp(context, app.url, {
      query: '?backend=wasm',
      watch,
      // 64 kB of quota for the origin: the demo shard cannot be stored
      setup: async (p) => {
        const cdp = await context.newCDPSession(p);
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(app.url).origin, quotaSize: 64 * 1024 });
      },
    });
    await page
      .getByTestId('cache-problem')
      .filter({ hasText: "the browser's storage for this page is full" })
      .waitFor({ timeout: 60_000 });
    await page.getByTestId('test-file-input').setInputFiles(clips[0]);
    await expect.poll(async () => (await scores(page)).size, { timeout: 120_000 }).toBe(1);
    await page.getByText(/Weight cache: 0(\.0)? MB in 0 shards/).waitFor({ timeout: 30_000 });
    await page.screenshot({
      path: path.join(ROOT, 'test-results/screenshots/fault-cache-full.png'),
      fullPage: true,
    });
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('out of memory on a long clip (one pass over 10 minutes asked for): refused at once with what to change, nothing else lost, windowed scoring then works', async () => {
    const watch = newWatch();
    const page = await app.open({ query: '?backend=wasm', watch });
    await page.getByTestId('test-file-input').setInputFiles(clips.slice(0, 2));
    await expect.poll(() => doneCount(page), { timeout: 120_000 }).toBe(2);
    const before = await scores(page);
    // settings that ask for the whole 10 minutes in one pass: about 7 GB of attention scores
    await page.getByText('Long files: window settings').click();
    await page.locator('input[name=limitSeconds]').fill('3600');
    await page.locator('input[name=singlePassMaxSeconds]').fill('3600');
    await page.getByRole('button', { name: 'Apply and rescore long files' }).click();
    await page.getByTestId('test-file-input').setInputFiles([path.join(dir, 'ten-minutes.wav'), clips[2]]);
    const row = page.locator('[data-testid=result-row]').filter({ hasText: 'ten-minutes.wav' });
    const error = row.getByTestId('error');
    await error
      .filter({
        hasText:
          /Ran out of memory scoring 600\.0 s of audio in one pass \(it would need about 7\.\d GB of working memory; the wasm engine has about 4\.3 GB beside the weights\)/,
      })
      .waitFor({ timeout: 300_000 });
    expect(await error.textContent()).toMatch(
      /Lower "Whole-file pass up to" \(now 3600 s\) or "Window files longer than" \(now 3600 s\) in the window settings, then Rescore/,
    );
    await expect.poll(() => doneCount(page), { timeout: 300_000 }).toBe(4);
    const after = await scores(page);
    for (const [file, p] of before) expect(after.get(file), file).toBe(p);
    expect(after.get(path.basename(clips[2]))).toBeDefined();
    // refused before it ran: the engine was never in trouble, so it was not restarted
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /restart/i })
        .count(),
    ).toBe(0);
    await page.screenshot({
      path: path.join(ROOT, 'test-results/screenshots/fault-out-of-memory.png'),
      fullPage: true,
    });
    // back to the defaults: the same file is windowed and scored
    await page.getByRole('button', { name: 'Defaults' }).click();
    await row.getByTestId('score').waitFor({ timeout: 600_000 });
    expect(await row.getByTestId('error').count()).toBe(0);
    expect(watch.errors).toEqual([]);
    await page.close();
  }, 1_500_000);
});
