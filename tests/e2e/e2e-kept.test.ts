import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openApp, savedRows, useApp } from '../browser';
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
    // read by the shard store's own worker, beside the inference worker's work on the shard before
    expect(page.workers().map((w) => w.url())).toContainEqual(expect.stringMatching(/shard-files\.worker/));
    // the heap the weights take was mapped ahead of the copies and packing: by the pager's thread, or
    // by the load itself where it caught the pager up (a page without threads has no shared heap)
    expect(page.workers().map((w) => w.url())).toContainEqual(expect.stringMatching(/pager\.worker/));
    const prefault = JSON.parse(
      (await page.getByTestId('weights-load-time').getAttribute('data-prefault')) ?? 'null',
    ) as { pagerBytes: number; ownBytes: number } | null;
    expect(prefault).not.toBeNull();
    expect(prefault!.pagerBytes + prefault!.ownBytes).toBeGreaterThan(0);
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

  it('shards kept in Cache Storage by an earlier release are read from there once and moved to OPFS', async () => {
    const page = await app.open({ query: '?backend=wasm' });
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 120_000 });
    /** What each store holds: OPFS shard files (name: bytes) and Cache Storage shard keys. */
    const stores = () =>
      page.evaluate(async () => {
        const dir = await (
          await navigator.storage.getDirectory()
        ).getDirectoryHandle('rat-weights-v3', { create: true });
        const opfs: Record<string, number> = {};
        for await (const h of (dir as unknown as { values(): AsyncIterable<FileSystemFileHandle> }).values())
          opfs[h.name] = (await h.getFile()).size;
        const cache = await caches.open('rat-weights-v2');
        const keys = (await cache.keys()).map((r) => new URL(r.url).pathname).filter((k) => k.endsWith('.bin'));
        return { opfs, cache: keys };
      });
    const first = await stores();
    expect(Object.keys(first.opfs)).toHaveLength(1); // the demo weights' one shard, kept on the first visit
    expect(first.cache).toEqual([]);
    const [name, bytes] = Object.entries(first.opfs)[0];
    // as an earlier release left it: in Cache Storage only
    await page.evaluate(async (file) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('rat-weights-v3');
      const data = await (await (await dir.getFileHandle(file)).getFile()).arrayBuffer();
      const cache = await caches.open('rat-weights-v2');
      await cache.put(
        `/rat-weights-cache/${file}`,
        new Response(data, { headers: { 'x-rat-bytes': String(data.byteLength) } }),
      );
      await dir.removeEntry(file);
    }, name);
    expect(await stores()).toEqual({ opfs: {}, cache: [`/rat-weights-cache/${name}`] });
    await page.reload();
    // loaded from the browser's storage (no download), and moved
    await page.getByText(/ready in \d+\.\d s from this browser's storage/).waitFor({ timeout: 120_000 });
    await expect.poll(stores, { timeout: 30_000 }).toEqual({ opfs: { [name]: bytes }, cache: [] });
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    const row = page.locator('[data-testid=result-row][data-weights^="Demo weights"]').last();
    await row.getByTestId('score').waitFor({ timeout: 120_000 });
    expect(Number(await row.getByTestId('score').getAttribute('data-value'))).toBeGreaterThan(0);
    await page.close();
  });

  it('two tabs opening at once both read the stored weights, and neither says they were not kept', async () => {
    const context = await app.browser.newContext();
    const first = await openApp(context, app.url, { query: '?backend=wasm' });
    await first.getByText(/Weight cache: 2\.5 MB in 1 shards/).waitFor({ timeout: 60_000 });
    await first.close();
    const tabs = await Promise.all(
      [1, 2].map(() => openApp(context, app.url, { query: '?backend=wasm', weights: false })),
    );
    for (const tab of tabs) {
      await tab.getByText(/ready in \d+\.\d s from this browser's storage/).waitFor({ timeout: 120_000 });
      expect(await tab.getByTestId('cache-problem').count()).toBe(0);
    }
    await context.close();
  });
});
