import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../../src/analysis/time';
import { verdictText } from '../../src/analysis/verdict';
import { dropFiles, launchBrowser, newWatch, openApp as openAppAt, startPreview } from '../browser';
import { ALSA_SPEECH, SPEECH as ALSA_ONE } from '../audio-table';
import { ROOT, runCli, tempDir } from '../helpers';

// The verdict beside the audio (Chromium, forced WASM so that the numbers match the Node CLI's
// backend): each file's row carries its score, verdict and mini timeline; the chosen file's waveform
// is named; a long file's lowest window is one click away; a stretch selected on the waveform scores
// as the CLI scores the same samples cut out with sox, and becomes a row of the table and of the
// exports; the space bar plays and pauses, except on a focused control, which keeps its own.

const SHOTS = path.join(ROOT, 'test-results/screenshots');
const SHORT = ALSA_ONE;
/** About 14 s of speech: the eight ALSA clips, then the first two again. */
const SPEECH = [...ALSA_SPEECH, ALSA_SPEECH[0], ALSA_SPEECH[1]];

let browser: Browser;
let preview: Awaited<ReturnType<typeof startPreview>>;
let dir: string;
let long: string;
const watch = newWatch();

const cliJson = (...args: string[]) => JSON.parse(runCli(['--json', ...args]).stdout);
const value = async (loc: ReturnType<Page['locator']>) => Number(await loc.getAttribute('data-value'));

async function downloadText(page: Page, testId: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync((await dl.path())!, 'utf8');
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = tempDir('e2e-desk');
  // 16 kHz mono: what the model reads, so a stretch cut by sample number is the very samples the page scores
  long = path.join(dir, 'long16k.wav');
  execFileSync('sox', [...SPEECH, '-r', '16000', '-c', '1', long]);
  preview = await startPreview();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  preview?.stop();
});

describe('the verdict beside the audio', () => {
  it('file rows with score, verdict and mini timeline; the named waveform; the lowest window; a scored stretch; the space bar', async () => {
    const cli = cliJson(long);
    expect(cli.seconds).toBeGreaterThan(12); // windowed
    const page = await openAppAt(browser, preview.url, { query: '?backend=wasm', watch, acceptDownloads: true });

    // a drop lands in view even when the page was scrolled away from the list
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await dropFiles(page, [SHORT, long]);
    const row = (file: string) => page.locator(`[data-testid=clip-row][data-file="${file}"]`);
    await expect
      .poll(() =>
        row('long16k.wav').evaluate((el) => {
          const r = el.getBoundingClientRect();
          return r.top >= -1 && r.bottom <= window.innerHeight + 1;
        }),
      )
      .toBe(true);

    // each row, once scored: P to 4 decimals, the verdict in the one wording, a mini timeline
    for (const [file, kind] of [
      ['Front_Center.wav', 'marker'],
      ['long16k.wav', 'windows'],
    ] as const) {
      const score = row(file).getByTestId('clip-score');
      await score.waitFor({ timeout: 300_000 });
      const p = await value(score);
      expect(await score.textContent()).toBe(p.toFixed(4));
      expect(await row(file).getByTestId('clip-verdict').textContent()).toContain(verdictText(p).text);
      expect(await row(file).getByTestId('mini-timeline').getAttribute('data-kind')).toBe(kind);
      // the same number as the results table's
      expect(await value(page.locator(`[data-testid=result-row][data-file="${file}"]`).getByTestId('score'))).toBe(p);
    }
    expect(Math.abs((await value(row('long16k.wav').getByTestId('clip-score'))) - cli.p_bonafide)).toBeLessThan(1e-3);

    // the weights are named once, above the table, and every row carries them as data
    const results = page.locator('section[aria-labelledby=res-h]');
    expect(await results.getByTestId('table-weights').textContent()).toMatch(/^Weights: Demo weights/);
    expect(await results.getByText(/Demo weights \(untrained/).count()).toBe(1);
    expect(
      await page.locator('[data-testid=result-row]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-weights'))),
    ).toEqual([expect.stringMatching(/^Demo weights/), expect.stringMatching(/^Demo weights/)]);

    // clicking the second file shows its waveform, named, with its score
    const waveform = page.getByTestId('waveform').first();
    await row('long16k.wav').locator('button.clip-pick').click();
    await expect.poll(() => waveform.getByTestId('wave-title').textContent()).toBe('long16k.wav');
    expect(await value(waveform.getByTestId('wave-score'))).toBe(
      await value(row('long16k.wav').getByTestId('clip-score')),
    );

    // the window scores are a curve on the waveform's own time axis; only the lowest window is marked
    const curve = waveform.getByTestId('score-curve');
    await curve.waitFor({ timeout: 60_000 });
    expect(Number(await curve.getAttribute('data-windows'))).toBe(cli.timeline.windows.length);
    expect(await waveform.getByTestId('lowest-window').count()).toBe(1);
    const canvases = (await waveform.locator('[part=canvases]').boundingBox())!;
    const curveBox = (await curve.boundingBox())!;
    expect(Math.abs(curveBox.x - canvases.x)).toBeLessThan(1.5);
    expect(Math.abs(curveBox.width - canvases.width)).toBeLessThan(1.5);

    // "Jump to the lowest window": the CLI's lowest window, and playback moves to its start
    const windows: { start: number; end: number; p_bonafide: number }[] = cli.timeline.windows;
    const low = windows.reduce((a, w) => (w.p_bonafide < a.p_bonafide ? w : a), windows[0]);
    const jump = waveform.getByTestId('jump-lowest');
    expect(Number(await jump.getAttribute('data-start'))).toBeCloseTo(low.start, 3);
    const time = waveform.getByTestId('play-time');
    // first a click on the waveform, away from that window, seeks to the time under the pointer
    const duration = cli.seconds as number;
    await waveform.scrollIntoViewIfNeeded();
    const box = (await waveform.locator('[part=canvases]').boundingBox())!;
    const x = (t: number) => box.x + (box.width * t) / duration;
    const elsewhere = low.start > duration / 2 ? 1 : duration - 1.5;
    await page.mouse.click(x(elsewhere), box.y + box.height / 2);
    await expect.poll(() => value(time)).toBeCloseTo(elsewhere, 1);
    await jump.click();
    await expect.poll(() => value(time)).toBeGreaterThanOrEqual(low.start - 0.01);
    expect(await value(time)).toBeLessThan(low.start + 2);
    await page.screenshot({ path: path.join(SHOTS, '30-desk-lowest-window.png'), fullPage: true });

    // the space bar plays and pauses while no control has the focus (here the jump button had it)
    const playing = () => waveform.getAttribute('data-playing');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const before = await playing();
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe(before === 'true' ? 'false' : 'true');
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe(before);
    if (before === 'true') await page.keyboard.press('Space');
    await expect.poll(playing).toBe('false');

    // a stretch dragged out on the waveform, away from the marked lowest window, scored on its own
    const from = low.start >= 5 ? 0.5 : low.end + 0.5;
    const to = from + 3;
    await page.mouse.move(x(from), box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(x(to), box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await waveform.getByTestId('selection-text').waitFor();
    await waveform.getByTestId('score-span').click();
    const span = waveform.getByTestId('span-score');
    await span.waitFor({ timeout: 120_000 });
    const start = Number(await span.getAttribute('data-start'));
    const end = Number(await span.getAttribute('data-end'));
    expect(start).toBeGreaterThan(from - 0.2);
    expect(end).toBeLessThan(to + 0.2);
    expect(end - start).toBeGreaterThan(2.5);
    // the samples the worker takes, cut out by sample number
    const a = Math.round(start * 16000);
    const b = Math.round(end * 16000);
    const cut = path.join(dir, 'stretch.wav');
    execFileSync('sox', [long, cut, 'trim', `${a}s`, `${b - a}s`]);
    expect(Number(execFileSync('soxi', ['-s', cut], { encoding: 'utf8' }))).toBe(b - a);
    expect(Math.abs((await value(span)) - cliJson(cut).p_bonafide)).toBeLessThan(1e-3);
    await page.screenshot({ path: path.join(SHOTS, '31-desk-stretch-scored.png'), fullPage: true });

    // the stretch is evidence like any score: a row of the table, named with its span and carrying it,
    // beside (not instead of) the whole file's row
    const name = `long16k.wav [${formatTime(start)}–${formatTime(end)}]`;
    const spanRow = page.locator('[data-testid=result-row][data-span-start]');
    await expect.poll(() => spanRow.count()).toBe(1);
    expect(await spanRow.getAttribute('data-file')).toBe(name);
    expect(await spanRow.locator('th').textContent()).toBe(name);
    expect(Number(await spanRow.getAttribute('data-span-start'))).toBe(start);
    expect(Number(await spanRow.getAttribute('data-span-end'))).toBe(end);
    expect(await value(spanRow.getByTestId('score'))).toBe(await value(span));
    expect(await page.locator('[data-testid=result-row][data-file="long16k.wav"]').count()).toBe(1);
    // ... and of the CSV export (the span in its own columns; whole-file rows leave them empty) and the JSON
    const csv = Papa.parse<Record<string, string>>(await downloadText(page, 'export-csv'), {
      header: true,
      skipEmptyLines: true,
    }).data;
    expect(csv.map((r) => [r.file, r.span_start_s, r.span_end_s])).toEqual([
      ['Front_Center.wav', '', ''],
      ['long16k.wav', '', ''],
      [name, String(start), String(end)],
    ]);
    expect(Number(csv[2].p_bonafide)).toBe(await value(span));
    expect(Number(csv[2].seconds)).toBeCloseTo(end - start, 6);
    const json = JSON.parse(await downloadText(page, 'export-json'));
    expect(json.files[2]).toMatchObject({ file: name, span_start_s: start, span_end_s: end });
    expect(json.files[1]).toMatchObject({ file: 'long16k.wav', span_start_s: null, span_end_s: null });

    // the spectrogram is drawn when asked for
    await waveform.getByTestId('spectrogram-toggle').check();
    await expect.poll(() => waveform.getByTestId('spectrogram').locator('canvas').count()).toBeGreaterThan(0);

    // a focused button keeps its space bar: the button is pressed (the table sorts by file), playback
    // neither starts nor moves
    if ((await playing()) === 'true') await waveform.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(playing).toBe('false');
    const sortFile = page.getByTestId('sort-file');
    await sortFile.focus();
    const at = await value(time);
    await page.keyboard.press('Space');
    await expect.poll(() => sortFile.locator('xpath=..').getAttribute('aria-sort')).toBe('ascending');
    expect(await playing()).toBe('false');
    expect(await value(time)).toBe(at);
    // and once the focus leaves the controls, the space bar plays again
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe('true');
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe('false');
    // the file on show keeps the focus after a click on it, and pressing it again would do nothing: Space plays
    const shown = page.locator('[data-testid=clip-row] button.clip-pick[aria-pressed=true]');
    await shown.focus();
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe('true');
    await page.keyboard.press('Space');
    await expect.poll(playing).toBe('false');

    // a file dropped on its own becomes the file on show, as a recording does; a batch leaves the choice alone
    const single = path.basename(ALSA_SPEECH[2]);
    await dropFiles(page, [ALSA_SPEECH[2]]);
    await expect.poll(() => waveform.getByTestId('wave-title').textContent(), { timeout: 60_000 }).toBe(single);
    expect(await row(single).locator('button.clip-pick').getAttribute('aria-pressed')).toBe('true');
    await dropFiles(page, [ALSA_SPEECH[3], ALSA_SPEECH[4]]);
    await row(path.basename(ALSA_SPEECH[4])).waitFor();
    expect(await waveform.getByTestId('wave-title').textContent()).toBe(single);
    await page.close();
  }, 600_000);

  it('made no request outside its own origin and threw no page error', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
