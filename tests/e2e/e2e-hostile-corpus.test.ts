import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostileCase, type HostileCorpus, makeHostileCorpus } from '../../scripts/hostile-corpus/make';
import { SPEECH } from '../audio-table';
import { type AppWatch, newWatch, useApp } from '../browser';
import { ROOT, tempDir } from '../helpers';

// The hostile-input corpus (scripts/hostile-corpus/make.ts) in the built app: each checkpoint through
// the page's converter (the checkpoint picker) and each weights folder through its folder picker. A
// refusal is shown as the weights error (code bad-weights) naming the file or field, within a time
// bound, and the weights in use stay chosen and keep scoring as before. A case whose weights load and
// then fail to score shows that error in the clip's row, never a score.

/** From the pick to the refusal on screen; a refusal needs no more than reading a header or a manifest. */
const REFUSAL_MS = 15_000;
const REF = '/usr/share/sounds/alsa/Front_Left.wav';

const dir = tempDir('e2e-hostile-corpus');
const corpus: HostileCorpus = await makeHostileCorpus(path.join(dir, 'corpus'));
const at = (rel: string) => path.join(dir, 'corpus', rel);
const pageCases = corpus.cases.filter((c) => c.paths['page-convert'] !== undefined);

let page: Page;
let watch: AppWatch;
let before: number;
const table: string[] = [];

const CHECKPOINT_INPUT = 'input[accept=".pt,.pth,.bin,.safetensors"]';
const input = (c: HostileCase): Locator =>
  c.family === 'weights-folder' ? page.getByTestId('weights-folder-input') : page.locator(CHECKPOINT_INPUT);
const weightsError = () => page.locator('[data-testid=error][data-code]');

/**
 * Records the text of every weights error the page mounts: the page drops the error when a load starts
 * and shows a new one when it is refused, so two cases refused in the same words are still told apart.
 */
function recordWeightsErrors(): Promise<void> {
  return page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __weightsErrors: string[] }).__weightsErrors = seen;
    const selector = '[data-testid=error][data-code]';
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes)
          if (n instanceof Element)
            for (const e of [...(n.matches(selector) ? [n] : []), ...n.querySelectorAll(selector)])
              seen.push(e.textContent ?? '');
    }).observe(document.body, { childList: true, subtree: true });
  });
}
const weightsErrorsSeen = () =>
  page.evaluate(() => (window as unknown as { __weightsErrors: string[] }).__weightsErrors.length);

/** The file's score; only the demo weights give scores here, every other set is refused or fails to score. */
async function scoreOf(file: string): Promise<number> {
  const score = page.locator(`[data-testid=result-row][data-file="${file}"] [data-testid=score]`).first();
  await score.waitFor({ timeout: 180_000 });
  return Number(await score.getAttribute('data-value'));
}
const scores = () => page.locator('[data-testid=result-row] [data-testid=score]').count();

// registered before useApp's hooks, so it runs after the browser is closed (afterAll hooks run last first)
afterAll(() => {
  if (table.length)
    console.log(
      `hostile corpus in the page (WASM; the demo weights loaded before each case):\n` +
        `| case | family | input | outcome | time to refusal | message |\n| --- | --- | --- | --- | --- | --- |\n${table.join('\n')}`,
    );
  rmSync(dir, { recursive: true, force: true });
});
const app = useApp({ timeout: 300_000 });
beforeAll(async () => {
  watch = newWatch();
  page = await app.open({ query: '?backend=wasm', watch });
  await page.getByTestId('test-file-input').setInputFiles(SPEECH);
  before = await scoreOf('Front_Center.wav');
  await recordWeightsErrors();
}, 300_000);

describe('hostile corpus in the page', () => {
  it.each(pageCases.filter((c) => c.stage === 'load').map((c) => [c.id, c.what, c] as const))(
    '%s (%s): refused by name, in bounded time; the demo weights stay in use',
    async (_, __, c) => {
      const refusal = new RegExp(c.paths['page-convert']!);
      const seen = await weightsErrorsSeen();
      await expect.poll(() => input(c).isEnabled(), { timeout: 60_000 }).toBe(true);
      const t0 = performance.now();
      await input(c).setInputFiles(at(c.file));
      await page.waitForFunction(
        (n) => (window as unknown as { __weightsErrors: string[] }).__weightsErrors.length > n,
        seen,
        { timeout: 60_000, polling: 20 },
      );
      const shown = (await page.evaluate(() =>
        (window as unknown as { __weightsErrors: string[] }).__weightsErrors.at(-1),
      ))!;
      const ms = performance.now() - t0;
      const name = c.family === 'weights-folder' ? 'the chosen folder' : path.basename(c.file);
      table.push(
        `| ${c.id} | ${c.family} | ${c.family === 'weights-folder' ? 'folder picker' : 'checkpoint picker'} | ` +
          `${refusal.test(shown) ? 'refused' : 'NOT REFUSED AS EXPECTED'} | ${(ms / 1000).toFixed(2)} s | ` +
          `${shown
            .replace(/^Could not load [^:]+: /, '')
            .replace(/\s+/g, ' ')
            .slice(0, 110)} |`,
      );
      expect(shown).toMatch(new RegExp(`^Could not load ${name.replace(/\./g, '\\.')}: `));
      expect(shown).toMatch(refusal);
      expect(await weightsError().getAttribute('data-code')).toBe('bad-weights');
      expect(ms, 'time to refusal').toBeLessThan(REFUSAL_MS);
      // the refused weights did not become the weights in use, nor the chosen set
      expect(await page.getByTestId('weights-label').textContent()).toMatch(/^Demo weights/);
      expect(await page.getByTestId('weight-set').inputValue()).toBe('demo');
      expect(watch.errors).toEqual([]);
    },
    120_000,
  );

  it('after every refusal the demo weights still score, the same as before', async () => {
    await page.screenshot({ path: path.join(ROOT, 'test-results/screenshots/hostile-corpus.png'), fullPage: true });
    await page.getByTestId('test-file-input').setInputFiles(REF);
    expect(await scoreOf('Front_Left.wav')).toBeGreaterThan(0);
    expect(await scoreOf('Front_Center.wav')).toBe(before);
    expect(await page.getByText(/crashed|device was lost/).count()).toBe(0);
  }, 300_000);

  it.each(pageCases.filter((c) => c.stage === 'score').map((c) => [c.id, c.what, c] as const))(
    '%s (%s): the weights load, and the clip in view gets an error, never a score',
    async (_, __, c) => {
      const refusal = new RegExp(c.paths['page-convert']!);
      const label = path.basename(c.file);
      const scored = await scores();
      const t0 = performance.now();
      await input(c).setInputFiles(at(c.file));
      await page.getByTestId('weights-label').filter({ hasText: label }).waitFor({ timeout: 120_000 });
      // new weights score the clip in view at once: its row under them holds the error
      const error = page.locator('[data-testid=result-row] [data-testid=error]').first();
      await error.waitFor({ timeout: 120_000 });
      const ms = performance.now() - t0;
      const shown = (await error.textContent())!;
      table.push(
        `| ${c.id} | ${c.family} | checkpoint picker, then scoring | ` +
          `${refusal.test(shown) ? 'loaded; scoring refused' : 'NOT REFUSED AS EXPECTED'} | ${(ms / 1000).toFixed(2)} s | ` +
          `${shown.replace(/\s+/g, ' ').slice(0, 110)} |`,
      );
      expect(shown).toMatch(refusal);
      expect(await scores(), 'a score under the overflowing weights').toBe(scored);
      expect(ms, 'time to the scoring error').toBeLessThan(4 * REFUSAL_MS);
      // back to the demo weights: they load and score as before
      await page.getByTestId('weight-set').selectOption('demo');
      await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
      expect(await scoreOf('Front_Center.wav')).toBe(before);
      expect(watch.errors).toEqual([]);
    },
    300_000,
  );
});
