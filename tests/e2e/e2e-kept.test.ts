import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { savedRows, useApp } from '../browser';
import { FIXTURES } from '../helpers';

// A checkpoint converted in the page is kept in the browser's storage: the next visit opens on it
// (the weights last loaded are remembered), and the weight menu offers it, without the file and
// without converting again.

const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const app = useApp();

/** The score of the latest row for `file` under weights labelled `weights`. */
async function score(page: Page, weights: string): Promise<number> {
  const row = page.locator(`[data-testid=result-row][data-weights="${weights}"]`).last();
  await row.getByTestId('score').waitFor({ timeout: 120_000 });
  return Number(await row.getByTestId('score').getAttribute('data-value'));
}

describe('a checkpoint converted in the page', () => {
  it('is kept, loaded again on the next visit, offered in the weight menu, and scores the same from there', async () => {
    const page = await app.open({ query: '?backend=wasm' });
    expect(await page.getByTestId('kept-set').count()).toBe(0);
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    await page
      .locator('input[accept=".pt,.pth,.bin,.safetensors"]')
      .setInputFiles(path.join(FIXTURES, 'tiny/checkpoint.pt'));
    await page.getByTestId('weights-label').filter({ hasText: 'checkpoint.pt' }).waitFor({ timeout: 120_000 });
    const converted = await score(page, 'checkpoint.pt');
    await expect.poll(() => page.getByTestId('kept-set').count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => savedRows(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);

    // the next visit opens on the weights last loaded, from the browser's storage, with no file given
    await page.reload();
    await page.getByTestId('weights-label').filter({ hasText: 'checkpoint.pt' }).waitFor({ timeout: 120_000 });
    const option = page.getByTestId('kept-set');
    await expect.poll(() => option.count(), { timeout: 30_000 }).toBe(1);
    expect(await option.textContent()).toMatch(/^checkpoint\.pt \(\d+(\.\d)? MB, \d{4}-\d\d-\d\d\)$/);
    // a choice in the menu is remembered too: the demo weights, then the kept set again
    await page.getByTestId('weight-set').selectOption('demo');
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
    await page.reload();
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
    await expect.poll(() => option.count(), { timeout: 30_000 }).toBe(1);
    await page.getByTestId('weight-set').selectOption(String(await option.getAttribute('value')));
    await page.getByTestId('weights-label').filter({ hasText: 'checkpoint.pt' }).waitFor({ timeout: 120_000 });
    // the rows restored from the first visit are set aside, so the score below is this visit's
    await page.getByRole('button', { name: 'Forget saved results' }).click();
    await expect.poll(() => page.locator('[data-testid=result-row]').count()).toBe(0);
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    // the same float32 weights: the same score
    expect(Math.abs((await score(page, 'checkpoint.pt')) - converted)).toBeLessThan(1e-6);

    // clearing the cache forgets it; the next visit says so and opens on the site's weights
    await page.getByRole('button', { name: 'Clear cache' }).click();
    await expect.poll(() => option.count(), { timeout: 30_000 }).toBe(0);
    await page.reload();
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
    const error = page.getByTestId('error');
    await expect.poll(() => error.getAttribute('data-code'), { timeout: 30_000 }).toBe('not-loaded');
    expect(await error.textContent()).toContain('no longer offered or kept in this browser');
    await page.close();
  });
});
