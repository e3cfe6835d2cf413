import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runConditions } from '../../src/analysis/run-conditions';
import { planWindows } from '../../src/analysis/windows';
import { decodeClip } from '../../src/audio/decode';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { ALSA_SPEECH, longSpeech, repeatSpeech } from '../audio-table';
import { newWatch, useApp } from '../browser';
import { ROOT, runCli, tempDir } from '../helpers';

// The analyst and teacher tools in the built app (Chromium, forced WASM so the numbers match the
// Node CLI's backend): a long clip's timeline against the CLI, seeking from a window, a 10-minute
// file with progress, cancel and completion, and the reference-condition panel against Node.

const SHOTS = path.join(ROOT, 'test-results/screenshots');
const DEMO = path.join(ROOT, 'public/weights/demo');
let dir: string;
let long: string;
let tenMin: string;
let refLong: string;
const watch = newWatch();

const cliJson = (...args: string[]) => JSON.parse(runCli(['--json', ...args]).stdout);

const openApp = (query = '?backend=wasm') => app.open({ query, watch });

const value = async (loc: ReturnType<Page['locator']>) => Number(await loc.getAttribute('data-value'));

function prepare() {
  mkdirSync(SHOTS, { recursive: true });
  dir = tempDir('e2e-analysis');
  const speech = longSpeech(dir); // ~14 s at 48 kHz: windowed, with a whole-file pass
  long = speech.long;
  tenMin = repeatSpeech(speech.base, 600, path.join(dir, 'ten-minutes.wav'));
  refLong = path.join(dir, 'claimed-speaker.wav'); // > 3 s, so every truncation can run
  execFileSync('espeak-ng', [
    '-v',
    'en-gb',
    '-s',
    '140',
    '-w',
    refLong,
    'This is my normal speaking voice, recorded for the comparison of reference conditions.',
  ]);
}
const app = useApp({ prepare });

describe('analysis tools in Chromium', () => {
  it("a long clip: every planned window with the CLI's scores, the summary, and a click seeks there", async () => {
    const cli = cliJson(long);
    const page = await openApp();
    await page.getByTestId('test-file-input').setInputFiles(long);
    const rows = page.getByTestId('timeline-row');
    await expect.poll(() => rows.count(), { timeout: 240_000 }).toBe(cli.timeline.windows.length);
    expect(cli.timeline.windows.length).toBe(planWindows(Math.round(cli.seconds * 16000), 16000).length);
    for (let i = 0; i < cli.timeline.windows.length; i++) {
      expect(
        Math.abs((await value(rows.nth(i).locator('td[data-value]'))) - cli.timeline.windows[i].p_bonafide),
      ).toBeLessThan(1e-3);
    }
    expect(Math.abs((await value(page.getByTestId('timeline-headline'))) - cli.p_bonafide)).toBeLessThan(1e-3);
    expect(Math.abs((await value(page.getByTestId('timeline-mean'))) - cli.timeline.mean_p)).toBeLessThan(1e-3);
    expect(Math.abs((await value(page.getByTestId('timeline-min'))) - cli.timeline.min_p)).toBeLessThan(1e-3);
    expect(await page.getByTestId('timeline').textContent()).toMatch(/Whole file, one pass/);
    // the results table says what the number is
    expect(await page.locator('[data-testid=result-row]').filter({ hasText: 'long.wav' }).textContent()).toMatch(
      new RegExp(`whole file; ${cli.timeline.windows.length} windows, min`),
    );
    // the curve under the waveform: one point a window, on the waveform's time axis
    const curve = page.getByTestId('score-curve');
    await curve.waitFor({ timeout: 60_000 });
    expect(Number(await curve.getAttribute('data-windows'))).toBe(cli.timeline.windows.length);

    // clicking the curve seeks playback to the time under the pointer, as a click on the waveform does
    // (away from the marked lowest window, whose mark seeks to its own start)
    const windows: { start: number; end: number; p_bonafide: number }[] = cli.timeline.windows;
    const low = windows.reduce((a, w) => (w.p_bonafide < a.p_bonafide ? w : a), windows[0]);
    const at = [0.85, 0.5, 0.15].find((f) => f * cli.seconds < low.start || f * cli.seconds > low.end)!;
    const time = page.getByTestId('play-time');
    await curve.scrollIntoViewIfNeeded();
    const box = (await curve.boundingBox())!;
    await page.mouse.click(box.x + box.width * at, box.y + box.height / 2);
    await expect.poll(() => value(time)).toBeCloseTo(cli.seconds * at, 1);
    // and so does a row of the window table (the keyboard and screen-reader path)
    await page.getByText(/All \d+ windows as a table/).click();
    await page.getByRole('button', { name: 'Play from window 3' }).click();
    await expect.poll(() => value(time)).toBeCloseTo(cli.timeline.windows[2].start, 2);
    await page.getByTestId('timeline').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, '20-timeline.png'), fullPage: true });

    // other window settings: checked, applied, and the clip is scored again with them
    await page.getByText('Long files: window settings').click();
    await page.locator('input[name=hopSeconds]').fill('6');
    await page.getByRole('button', { name: 'Apply and rescore long files' }).click();
    await page.getByTestId('error').filter({ hasText: 'the hop (6 s) must not exceed the window (4 s)' }).waitFor();
    await page.locator('input[name=hopSeconds]').fill('3');
    await page.locator('input[name=singlePassMaxSeconds]').fill('0');
    await page.getByRole('button', { name: 'Apply and rescore long files' }).click();
    const cli3 = cliJson('--hop', '3', '--single-pass-max', '0', long);
    await expect.poll(() => rows.count(), { timeout: 240_000 }).toBe(cli3.timeline.windows.length);
    await page
      .getByTestId('timeline')
      .filter({ hasText: 'Whole file (mean of the windows)' })
      .waitFor({ timeout: 120_000 });
    expect(Math.abs((await value(page.getByTestId('timeline-headline'))) - cli3.p_bonafide)).toBeLessThan(1e-3);
    await page.close();
  }, 600_000);

  it('a 10-minute file: window progress, cancel, then the whole timeline, as Node scores the same slices', async () => {
    const page = await openApp();
    await page.getByTestId('test-file-input').setInputFiles(tenMin);
    const status = page.getByRole('status').filter({ hasText: 'Scoring ten-minutes.wav' });
    await status.filter({ hasText: /window \d+ of \d+/ }).waitFor({ timeout: 240_000 });
    const at = async () =>
      /window (\d+) of (\d+)/
        .exec((await status.textContent())!)!
        .slice(1)
        .map(Number);
    const [i0, n] = await at();
    expect(n).toBeGreaterThan(290);
    await expect.poll(async () => (await at())[0], { timeout: 60_000 }).toBeGreaterThan(i0); // it moves on
    await page.screenshot({ path: path.join(SHOTS, '21-ten-minutes-progress.png') });
    await status.getByRole('button', { name: 'Cancel' }).click();
    const row = page.locator('[data-testid=result-row]').filter({ hasText: 'ten-minutes.wav' });
    await expect.poll(() => row.textContent(), { timeout: 60_000 }).toMatch(/Cancelled/);

    await row.getByRole('button', { name: 'Rescore' }).click();
    const rows = page.getByTestId('timeline-row');
    await expect.poll(() => rows.count(), { timeout: 540_000, interval: 2000 }).toBe(n);
    expect(await page.getByTestId('timeline').textContent()).toMatch(/Whole file \(mean of the windows\)/);
    await page.screenshot({ path: path.join(SHOTS, '22-ten-minutes-timeline.png'), fullPage: true });

    // Node on the same decoded audio: the first, a middle and the last window scored directly
    const model = await loadModelFromDir(DEMO, 'wasm');
    try {
      const wave = (await decodeClip(new Uint8Array(readFileSync(tenMin)), tenMin)).wave;
      const spans = planWindows(wave.length, 16000);
      expect(spans.length).toBe(n);
      for (const i of [0, Math.floor(n / 2), n - 1]) {
        const p = (await model.score(wave.slice(spans[i].start, spans[i].end))).pBonafide;
        expect(Math.abs((await value(rows.nth(i).locator('td[data-value]'))) - p)).toBeLessThan(1e-3);
      }
    } finally {
      model.dispose();
    }
    // the condition comparison scores whole clips: a 10-minute one is refused with the reason
    await page.getByTestId('conditions').getByRole('button', { name: 'Run all conditions' }).click();
    await page
      .getByTestId('error')
      .filter({ hasText: /The test clip is 10:00\.\d long; the conditions score whole clips, up to 30 s/ })
      .waitFor({ timeout: 60_000 });
    await page.close();
  }, 900_000);

  it('reference conditions: every condition with its caption, the same numbers on a rerun and as Node computes them', async () => {
    const page = await openApp();
    await page.getByTestId('test-file-input').setInputFiles(ALSA_SPEECH[0]);
    await page.getByTestId('ref-file-input').setInputFiles(ALSA_SPEECH[4]); // becomes the mismatched clip
    await page.getByTestId('ref-file-input').setInputFiles(refLong); // the chosen (matched) reference
    await page.getByTestId('current-ref').filter({ hasText: 'claimed-speaker.wav' }).waitFor();
    const panel = page.getByTestId('conditions');
    const run = panel.getByRole('button', { name: 'Run all conditions' });
    await expect.poll(() => run.isEnabled(), { timeout: 120_000 }).toBe(true);

    // without a mismatched clip that condition says why; the others run
    await run.click();
    const rows = panel.getByTestId('condition-row');
    await expect.poll(() => panel.getAttribute('data-runs'), { timeout: 240_000 }).toBe('1');
    expect(await rows.count()).toBe(9);
    expect(await panel.locator('[data-testid=condition-row][data-id=mismatched]').textContent()).toMatch(
      /Not run: Choose a second clip as the mismatched reference/,
    );
    expect(await panel.getByTestId('condition-p').count()).toBe(8);

    await panel.getByTestId('mismatched-select').selectOption({ label: 'Rear_Center.wav' });
    const readAll = async (runs: number) => {
      await expect.poll(() => panel.getAttribute('data-runs'), { timeout: 240_000 }).toBe(String(runs));
      expect(await panel.getByTestId('conditions-inputs').textContent()).toMatch(/mismatched Rear_Center\.wav/);
      const out: Record<string, number> = {};
      for (const r of await rows.all())
        out[(await r.getAttribute('data-id'))!] = await value(r.getByTestId('condition-p'));
      return out;
    };
    await run.click();
    const first = await readAll(2);
    expect(Object.keys(first)).toEqual([
      'zero',
      'matched',
      'mismatched',
      'silence',
      'noise',
      'snr20',
      'snr10',
      'trunc1',
      'trunc3',
    ]);
    for (const r of await rows.all()) expect((await r.textContent())!.length).toBeGreaterThan(60); // caption shown
    await panel.getByTestId('conditions-p-chart').locator('svg').waitFor();
    await panel.getByTestId('conditions-ratio-chart').locator('svg').waitFor();
    expect(await panel.getByTestId('conditions-p-chart').locator('svg rect').count()).toBe(9); // one bar a condition
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, '23-conditions.png'), fullPage: true });

    // a rerun gives the very same numbers (seeded noise)
    await run.click();
    expect(await readAll(3)).toEqual(first);

    // Node, same files, same seed, same code
    const model = await loadModelFromDir(DEMO, 'wasm');
    try {
      const dec = async (f: string) => (await decodeClip(new Uint8Array(readFileSync(f)), f)).wave;
      const node = await runConditions(model, await dec(ALSA_SPEECH[0]), {
        matched: await dec(refLong),
        mismatched: await dec(ALSA_SPEECH[4]),
        seed: 2026,
      });
      for (const c of node) expect(Math.abs(first[c.id] - c.pBonafide!), c.id).toBeLessThan(1e-3);
      const ratio = await value(
        panel.locator('[data-testid=condition-row][data-id=noise]').getByTestId('condition-ratio'),
      );
      const n = node.find((c) => c.id === 'noise')!;
      expect(
        Math.abs(ratio - n.attnRms!.reduce((a, v, l) => a + v / n.mlpRms![l], 0) / n.attnRms!.length),
      ).toBeLessThan(1e-3);
    } finally {
      model.dispose();
    }

    // another seed: other noise, so other noise-condition numbers
    await panel.getByTestId('seed').fill('7');
    await run.click();
    const seeded = await readAll(4);
    expect(seeded.zero).toBe(first.zero);
    expect(seeded.noise).not.toBe(first.noise);
    await page.close();
  }, 600_000);

  it('made no request outside its own origin and threw no page error', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
