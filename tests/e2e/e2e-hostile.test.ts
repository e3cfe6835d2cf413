import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CSP_HEADER } from '../../src/web/csp';
import { type AudioCase, SPEECH, makeAudioTable } from '../audio-table';
import { type AppWatch, cspViolations, newWatch, savedRows, useApp } from '../browser';
import { ROOT, jsonLines, runCli, tempDir } from '../helpers';

// Hostile input in the built app (Chromium, vite preview): a strict CSP with no violation over a
// whole scoring session, the hostile audio table, and shard downloads over a connection that drops.
// Hostile checkpoints and weights folders are the corpus of e2e-hostile-corpus.test.ts.

const REF = '/usr/share/sounds/alsa/Front_Left.wav';

let dir: string;
let table: AudioCase[];

/** Opens the app with CSP-violation, foreign-request and page-error listeners; `setup` runs before navigation (routes). */
async function openApp(
  query = '',
  setup?: (p: Page) => Promise<void>,
  waitForWeights = true,
): Promise<{ page: Page; watch: AppWatch }> {
  const watch = newWatch();
  const page = await app.open({
    query,
    setup,
    watch,
    weights: waitForWeights ? 'Demo weights' : false,
  });
  return { page, watch };
}

async function scoreOf(page: Page, file: string): Promise<number> {
  const row = page.locator(`[data-testid=result-row][data-file="${file}"]`).first();
  await row.getByTestId('score').waitFor({ timeout: 180_000 });
  return Number(await row.getByTestId('score').getAttribute('data-value'));
}

/** The CLI's P(bona fide) on the demo weights, per file name. */
function cliScores(files: string[]): Map<string, number> {
  return new Map(
    jsonLines<{ file: string; p_bonafide?: number }>(runCli(['--json', ...files]))
      .filter((o) => o.p_bonafide !== undefined)
      .map((o) => [path.basename(o.file), o.p_bonafide!]),
  );
}

function prepare() {
  dir = tempDir('e2e-hostile');
  table = makeAudioTable(dir, false);
  execFileSync('sox', [
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    SPEECH,
    path.join(dir, 'long-14s.wav'),
  ]);
}
const app = useApp({ prepare, timeout: 300_000 });

describe('hostile input in the app', () => {
  it('CSP: the built page and the preview server carry a strict policy, and a whole session (WebGPU, threaded WASM, reference, waveform) violates none of it', async () => {
    const html = readFileSync(path.join(ROOT, 'dist/index.html'), 'utf8');
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src &#39;self&#39;; script-src &#39;self&#39; &#39;wasm-unsafe-eval&#39; blob:;/,
    );
    expect(html.match(/<script\b[^>]*>/g)!.every((t) => /\bsrc="\/assets\//.test(t))).toBe(true); // no inline script
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const res = await fetch(app.url);
    expect(res.headers.get('content-security-policy')).toBe(CSP_HEADER);
    for (const query of ['?backend=webgpu', '?backend=wasm']) {
      const wasm = query.endsWith('wasm');
      const { page, watch } = await openApp(query);
      const backend = await page.getByTestId('backend').textContent();
      expect(backend).toBe(wasm ? 'wasm' : 'webgpu');
      if (wasm)
        expect(await page.locator('.muted', { hasText: /using WASM, [2-8] threads/ }).count()).toBeGreaterThan(0);
      await page.getByTestId('test-file-input').setInputFiles(SPEECH);
      expect(await scoreOf(page, 'Front_Center.wav')).toBeGreaterThan(0);
      await page.getByTestId('ref-file-input').setInputFiles(REF);
      await page
        .locator('[data-testid=result-row][data-ref=audio]')
        .getByTestId('score')
        .first()
        .waitFor({ timeout: 180_000 });
      if (wasm) {
        // a clip long enough for windows (on WASM: SwiftShader's WebGPU takes minutes): the lowest window's mark and the score curve render under the policy too
        await page.getByTestId('test-file-input').setInputFiles(path.join(dir, 'long-14s.wav'));
        await page
          .locator('[data-testid=result-row][data-file="long-14s.wav"]')
          .getByTestId('score')
          .first()
          .waitFor({ timeout: 300_000 });
        await page.getByText('long-14s.wav').first().click();
        await expect.poll(() => page.getByTestId('lowest-window').count(), { timeout: 60_000 }).toBe(1);
        await page.getByTestId('score-curve').waitFor({ timeout: 60_000 });
      }
      expect(await cspViolations(page, watch), `violations with ${query}`).toEqual([]);
      expect(watch.foreign).toEqual([]);
      expect(watch.errors).toEqual([]);
      await page.close();
    }
  }, 600_000);

  it('hostile audio: each bad file shows its reason, good files score as in the CLI, the worker neither crashes nor hangs', async () => {
    const rows = table.filter((c) => !c.cliOnly);
    const good = rows.filter((c) => c.score);
    const expected = cliScores(good.map((c) => path.join(dir, c.file)));
    expect(expected.size).toBe(good.length);
    const { page, watch } = await openApp('?backend=webgpu');
    await page.getByTestId('test-file-input').setInputFiles(rows.map((c) => path.join(dir, c.file)));
    const report: string[] = [];
    for (const c of rows) {
      if (c.error) {
        // decoding errors are named in the file list; scoring errors (too short) in the file's result row
        const shown = page
          .getByTestId('error')
          .filter({ hasText: `${c.file}: ` })
          .or(page.locator(`[data-testid=result-row][data-file="${c.file}"] [data-testid=error]`))
          .first();
        await shown.waitFor({ timeout: 120_000 });
        const text = (await shown.textContent())!.replace(/ Rescore$/, '');
        const reason = text.startsWith(`${c.file}: `) ? text.slice(c.file.length + 2) : text;
        expect(reason, c.what).toMatch(c.error);
        report.push(`${c.what}: ${c.file}: ${reason}`);
      } else {
        const p = await scoreOf(page, c.file);
        report.push(`${c.what}: ${p.toFixed(6)} (CLI ${expected.get(c.file)!.toFixed(6)})`);
        expect(Math.abs(p - expected.get(c.file)!), c.what).toBeLessThan(1e-3);
      }
    }
    console.log(`hostile audio in the app (WebGPU, demo weights):\n  ${report.join('\n  ')}`);
    // silence and a constant get "no speech signal" beside their score, speech does not
    for (const [file, warned] of [
      ['silence.wav', true],
      ['dc-offset.wav', false],
      ['speech-16k.wav', false],
    ] as const) {
      expect(
        await page.locator(`[data-testid=result-row][data-file="${file}"] [data-testid=no-signal-score]`).count(),
        file,
      ).toBe(warned ? 1 : 0);
    }
    // the worker is alive and every earlier result stays
    expect(await page.getByText(/crashed|device was lost/).count()).toBe(0);
    await page.getByTestId('test-file-input').setInputFiles(REF);
    expect(await scoreOf(page, 'Front_Left.wav')).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=result-row] [data-testid=score]').count()).toBeGreaterThanOrEqual(
      good.length + 1,
    );
    expect(watch.errors).toEqual([]);
    await page.screenshot({ path: path.join(ROOT, 'test-results/screenshots/hostile-audio.png'), fullPage: true });
    await page.close();
  }, 600_000);

  it('a file over the size limit (sparse, 600 MiB) is refused from its size, before the page reads it', async () => {
    const big = path.join(dir, 'big-600m.wav');
    execFileSync('truncate', ['-s', '600M', big]);
    const { page, watch } = await openApp('?backend=wasm');
    await page.getByTestId('test-file-input').setInputFiles(big);
    const shown = page.getByTestId('error').filter({ hasText: 'big-600m.wav: ' }).first();
    await shown.waitFor({ timeout: 60_000 });
    expect(await shown.textContent()).toMatch(
      /^big-600m\.wav: the file is 600 MiB, over the 512 MiB limit for one audio file; split it into shorter files/,
    );
    expect(watch.errors).toEqual([]);
    rmSync(big);
    await page.close();
  }, 300_000);

  it('shard downloads survive dropped connections: two failed requests, a body cut short, then a Range resume', async () => {
    const log: string[] = [];
    let n = 0;
    const { page, watch } = await openApp('?backend=wasm', async (p) => {
      await p.route('**/weights/demo/shard-0001.bin', async (route) => {
        const range = route.request().headers().range;
        log.push(range ?? 'whole');
        n++;
        if (n <= 2) return route.abort('connectionreset');
        if (n === 3) {
          const full = await route.fetch();
          return route.fulfill({
            status: 200,
            body: (await full.body()).subarray(0, 1_000_000),
            headers: { 'content-type': 'application/octet-stream' },
          });
        }
        return route.fallback();
      });
    });
    expect(log).toEqual(['whole', 'whole', 'whole', 'bytes=1000000-']);
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    const p = await scoreOf(page, 'Front_Center.wav');
    expect(Math.abs(p - cliScores([SPEECH]).get('Front_Center.wav')!)).toBeLessThan(1e-3);
    expect(watch.errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a shard that never arrives ends in a clear error after the retries', async () => {
    let tries = 0;
    const { page } = await openApp(
      '?backend=wasm',
      async (p) => {
        await p.route('**/weights/demo/shard-0001.bin', (route) => {
          tries++;
          return route.abort('internetdisconnected');
        });
      },
      false,
    );
    const shown = page.getByTestId('error').filter({ hasText: 'Could not load' });
    await shown.waitFor({ timeout: 120_000 });
    expect(await shown.textContent()).toMatch(
      /Could not download \/weights\/demo\/shard-0001\.bin \(.*\) after 5 attempts without progress; 0 of 2635844 bytes arrived\. Check the connection/,
    );
    expect(tries).toBe(5);
    await page.close();
  }, 300_000);
});

describe('results across a reload', () => {
  it('finished rows survive a page reload (IndexedDB) as older rows, and can be forgotten', async () => {
    const { page } = await openApp('?backend=wasm');
    await page.getByTestId('test-file-input').setInputFiles([SPEECH, path.join(dir, 'empty.wav')]);
    const p = await scoreOf(page, 'Front_Center.wav');
    await page.getByTestId('error').filter({ hasText: 'empty.wav: ' }).first().waitFor();
    // the store writes a moment after the last change: wait until both rows are in IndexedDB
    await expect.poll(() => savedRows(page), { timeout: 30_000 }).toBe(2);
    await page.reload();
    await page.getByTestId('restored').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('restored').textContent()).toMatch(/^2 results from an earlier visit/);
    const row = page.locator('[data-testid=result-row][data-file="Front_Center.wav"]');
    expect(Number(await row.getByTestId('score').getAttribute('data-value'))).toBe(p);
    expect(await row.getAttribute('class')).toBe('older');
    expect(await page.locator('[data-testid=result-row][data-file="empty.wav"]').textContent()).toMatch(
      /the file is empty/,
    );
    // labels loaded after the reload reach the restored rows and their evaluation
    const labelsCsv = path.join(dir, 'restored-labels.csv');
    writeFileSync(labelsCsv, 'file,label\nFront_Center.wav,bonafide\n');
    await page.getByTestId('labels-input').setInputFiles(labelsCsv);
    await expect.poll(() => row.getByTestId('label').textContent()).toBe('bonafide');
    expect(await page.getByTestId('unmatched').count()).toBe(0);
    await page.screenshot({
      path: path.join(ROOT, 'test-results/screenshots/hostile-restored-after-reload.png'),
      fullPage: true,
    });
    await page.getByRole('button', { name: 'Forget saved results' }).click();
    await expect.poll(() => page.locator('[data-testid=result-row]').count()).toBe(0);
    await page.reload();
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 180_000 });
    expect(await page.getByTestId('restored').count()).toBe(0);
    await page.close();
  }, 600_000);
});
