import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { dropFiles, useApp } from '../browser';
import Papa from 'papaparse';
import { ROOT, runCli, tempDir } from '../helpers';
import { computeMetrics } from '../../src/analysis/metrics';

// Batch in the built app (Chromium, WASM): twelve files and a labels CSV dropped at once, a folder
// picked, the table sorted and filtered, EER/minDCF equal to the CLI's on the same files, and the
// CSV/JSON/HTML exports holding every row and the weights' SHA-256.

const SHOTS = path.join(ROOT, 'test-results/screenshots');
const ALSA = '/usr/share/sounds/alsa';
const DEMO_SHA = JSON.parse(readFileSync(path.join(ROOT, 'public/weights/demo/model.json'), 'utf8')).source
  .sha256 as string;

let dir: string;
const files: string[] = [];
const truth = new Map<string, 'bonafide' | 'spoof'>();

function prepare() {
  mkdirSync(SHOTS, { recursive: true });
  dir = tempDir('e2e-batch');
  // six recorded voices ("bona fide") and six synthetic ones ("spoof"), 16 kHz mono WAV
  ['Front_Center', 'Front_Left', 'Front_Right', 'Rear_Center', 'Rear_Left', 'Side_Right'].forEach((n, i) => {
    const f = path.join(dir, `human-${i + 1}.wav`);
    execFileSync('sox', [path.join(ALSA, `${n}.wav`), '-r', '16000', '-c', '1', f]);
    files.push(f);
    truth.set(`human-${i + 1}`, 'bonafide');
  });
  ['en-us', 'en-gb', 'en-gb-scotland', 'en-us+f3', 'en-gb+m3', 'en-us+f5'].forEach((v, i) => {
    const raw = path.join(dir, `raw-${i}.wav`);
    execFileSync('espeak-ng', [
      '-v',
      v,
      '-s',
      String(150 + 10 * i),
      '-w',
      raw,
      ['front centre', 'rear left', 'side right', 'hello there', 'one two three', 'good morning'][i],
    ]);
    const f = path.join(dir, `tts-${i + 1}.wav`);
    execFileSync('sox', [raw, '-r', '16000', '-c', '1', f]);
    files.push(f);
    truth.set(`tts-${i + 1}`, 'spoof');
  });
  // one extra label with no file: reported as unmatched
  writeFileSync(
    path.join(dir, 'labels.csv'),
    ['file,label', ...[...truth].map(([k, v]) => `${k}.wav,${v}`), 'missing-file.wav,spoof'].join('\n') + '\n',
  );
}
const app = useApp({ prepare });

const openApp = () => app.open({ query: '?backend=wasm', acceptDownloads: true });

/** [file, P(bona fide)] of the table's rows in screen order. */
async function tableScores(page: Page): Promise<[string, number][]> {
  return page
    .locator('[data-testid=result-row]')
    .evaluateAll((rows) =>
      rows.map(
        (r) =>
          [
            (r as HTMLElement).dataset.file!,
            Number(r.querySelector('[data-testid=score]')?.getAttribute('data-value')),
          ] as [string, number],
      ),
    );
}

async function downloadText(page: Page, testId: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync((await dl.path())!, 'utf8');
}

describe('batch, export and labelled evaluation in the app', () => {
  it('scores twelve dropped files with a labels CSV: progress, sort, filter, EER/minDCF as the CLI, exports', async () => {
    const page = await openApp();
    await dropFiles(page, [...files, path.join(dir, 'labels.csv')]);
    await page
      .getByTestId('labels-name')
      .filter({ hasText: 'labels.csv: 13 labels (CSV)' })
      .waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('batch-total').textContent()).toBe('12');
    await page.getByTestId('batch-done').filter({ hasText: /^12$/ }).waitFor({ timeout: 300_000 });
    await expect.poll(() => page.locator('[data-testid=result-row] [data-testid=score]').count()).toBe(12);
    await page.screenshot({ path: path.join(SHOTS, '10-batch-evaluated.png'), fullPage: true });

    // every row: duration, label and the SHA-256 of the file's bytes
    const shas = await page.getByTestId('audio-sha').evaluateAll((els) => els.map((e) => e.getAttribute('data-value')));
    const expectedSha = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
    const rows = await tableScores(page);
    expect(rows.map(([f]) => f)).toEqual(files.map((f) => path.basename(f)));
    expect(shas).toEqual(files.map(expectedSha));
    expect(await page.getByTestId('label').allTextContents()).toEqual(
      files.map((f) => truth.get(path.basename(f, '.wav'))),
    );

    // sorting by P(bona fide), both ways; back to the order added
    await page.getByTestId('sort-p').click();
    const asc = (await tableScores(page)).map(([, p]) => p);
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    await page.getByTestId('sort-p').click();
    const desc = (await tableScores(page)).map(([, p]) => p);
    expect(desc).toEqual([...asc].reverse());
    await page.getByTestId('sort-file').click();
    expect((await tableScores(page)).map(([f]) => f)).toEqual(
      rows.map(([f]) => f).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
    );

    // filters: text, then verdict
    await page.getByTestId('filter-text').fill('tts-');
    expect(await page.getByTestId('shown-count').textContent()).toBe('Showing 6 of 12');
    await page.getByTestId('filter-text').fill('');
    await page.getByTestId('filter-verdict').selectOption('spoof');
    const spoofRows = await tableScores(page);
    expect(spoofRows.length).toBe(rows.filter(([, p]) => p < 0.5).length);
    expect(spoofRows.every(([, p]) => p < 0.5)).toBe(true);
    await page.getByTestId('filter-verdict').selectOption('all');

    // EER and minDCF: the unit-tested function on the table's scores, and the CLI's last JSON line
    const eer = Number(await page.getByTestId('eer').getAttribute('data-value'));
    const minDcf = Number(await page.getByTestId('min-dcf').getAttribute('data-value'));
    const m = computeMetrics(
      rows.filter(([f]) => f.startsWith('human')).map(([, p]) => p),
      rows.filter(([f]) => f.startsWith('tts')).map(([, p]) => p),
    );
    expect(eer).toBe(m.eer);
    expect(minDcf).toBe(m.minDcf);
    const r = runCli(['--json', '--labels', path.join(dir, 'labels.csv'), ...files]);
    expect(r.status).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(last.eer).toBe(eer);
    expect(last.min_dcf).toBe(minDcf);
    expect(await page.getByTestId('eval-counts').textContent()).toBe('6 bona fide and 6 spoof');
    expect(await page.getByTestId('unmatched').textContent()).toMatch(/\(1\): missing-file$/);
    // the charts are the SVG of src/analysis/charts.ts, as in the HTML report
    expect(await page.getByTestId('det-chart').locator('svg[aria-label="DET curve on probit axes"]').isVisible()).toBe(
      true,
    );
    expect(await page.getByTestId('histogram-chart').locator('svg rect').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('histogram-chart').isVisible()).toBe(true);

    // exports: every row and the weights' SHA-256
    const csv = await downloadText(page, 'export-csv');
    const csvLines = csv.trim().split('\n');
    expect(csvLines).toHaveLength(13);
    for (const f of files) expect(csv).toContain(`${path.basename(f)},`);
    expect(csvLines.slice(1).every((l) => l.includes(DEMO_SHA))).toBe(true);
    const json = JSON.parse(await downloadText(page, 'export-json'));
    expect(json.files.map((x: { file: string }) => x.file)).toEqual(rows.map(([f]) => f));
    expect(json.files.map((x: { p_bonafide: number }) => x.p_bonafide)).toEqual(rows.map(([, p]) => p));
    expect(json.weights.sha256).toBe(DEMO_SHA);
    expect(json.warning).toMatch(/scores carry no meaning/);
    expect(json.evaluation).toMatchObject({ eer, min_dcf: minDcf, n_bonafide: 6, n_spoof: 6 });
    const html = await downloadText(page, 'export-html');
    for (const f of files) expect(html).toContain(`<td>${path.basename(f)}</td>`);
    expect(html).toContain(DEMO_SHA);
    expect(html).toContain('DEMO WEIGHTS');
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toMatch(/<script|<link|url\(/i);
    await page.close();
  }, 400_000);

  it('takes a picked folder recursively, skipping what is not audio; stops and resumes; names a malformed labels file', async () => {
    const folder = path.join(dir, 'picked');
    mkdirSync(path.join(folder, 'inner'), { recursive: true });
    execFileSync('cp', [files[0], path.join(folder, 'a.wav')]);
    execFileSync('cp', [files[7], path.join(folder, 'inner', 'b.wav')]);
    writeFileSync(path.join(folder, 'inner', 'notes.md'), '# not audio\n');
    // four longer files keep the batch busy long enough to stop it; the last (14 s) is windowed
    for (let i = 1; i <= 4; i++)
      execFileSync('sox', [...Array(i === 4 ? 10 : 6).fill(files[i]), path.join(folder, `long-${i}.wav`)]);
    const page = await openApp();
    await page.getByTestId('test-folder-input').setInputFiles(folder);
    expect(await page.getByTestId('batch-total').textContent()).toBe('6');
    await page.getByRole('button', { name: 'Stop batch' }).click();
    await page.getByText('Scoring is paused.').waitFor();
    // the file being scored when Stop was clicked ends (cancelled); its progress bar and Cancel go
    const running = page.getByRole('region', { name: 'Results', exact: true }).getByRole('button', { name: 'Cancel' });
    await running.waitFor({ state: 'detached', timeout: 120_000 });
    const stoppedAt = Number(await page.getByTestId('batch-done').textContent());
    expect(stoppedAt).toBeLessThan(6);
    // nothing more is scored while stopped: no file starts within a few seconds
    await expect(running.waitFor({ state: 'attached', timeout: 3000 })).rejects.toThrow(/Timeout/);
    expect(Number(await page.getByTestId('batch-done').textContent())).toBe(stoppedAt);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('batch-done').filter({ hasText: /^6$/ }).waitFor({ timeout: 300_000 });
    await expect
      .poll(() => page.locator('[data-testid=result-row] [data-testid=score]').count(), { timeout: 120_000 })
      .toBe(6);
    expect(await page.locator('[data-testid=result-row]').filter({ hasText: 'Cancelled' }).count()).toBe(0);
    expect((await tableScores(page)).map(([f]) => f)).toEqual([
      'picked/a.wav',
      'picked/inner/b.wav',
      'picked/long-1.wav',
      'picked/long-2.wav',
      'picked/long-3.wav',
      'picked/long-4.wav',
    ]);
    // the windowed file's timeline is in the exports
    const csv = Papa.parse<Record<string, string>>(await downloadText(page, 'export-csv'), {
      header: true,
      skipEmptyLines: true,
    }).data;
    expect(csv.map((r) => Number(r.timeline_windows || 0) > 0)).toEqual([false, false, false, false, false, true]);
    const html = await downloadText(page, 'export-html');
    expect(html).toMatch(
      /picked\/long-4\.wav: mean window P\(bona fide\) 0\.\d{4}, minimum 0\.\d{4}, \d+ % of \d+ windows below 0\.5<\/figcaption><svg[^>]*aria-label="P\(bona fide\) per window"/,
    );
    expect(html).toContain('files over 12 s as 4 s windows every 2 s');
    expect(await page.getByTestId('skipped').textContent()).toMatch(/Skipped 1 file .*picked\/inner\/notes\.md/);
    const bad = path.join(dir, 'bad-protocol.txt');
    writeFileSync(bad, 'T_1 a F - - - AC3 A05 spoof -\nT_1 b F - - - AC3 A05 maybe -\n');
    await page.getByTestId('labels-input').setInputFiles(bad);
    await page
      .getByTestId('error')
      .filter({ hasText: 'bad-protocol.txt line 2: the key column says "maybe"' })
      .waitFor();
    await page.close();
  }, 400_000);
});
