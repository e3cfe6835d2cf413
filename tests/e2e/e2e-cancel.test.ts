import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { keyMap } from '../../src/convert/keymap';
import { XLSR_300M_RAT } from '../../src/model/config';
import { ALSA_SPEECH, longSpeech, repeatSpeech } from '../audio-table';
import { newWatch, engineMemory, useApp } from '../browser';
import { FIXTURES, ROOT, jsonLines, runCli, tempDir } from '../helpers';

// Every Cancel in the page, each pressed while its work runs: loading weights (a served set whose
// download is in flight, a folder from disk, a checkpoint being converted), scoring a long clip
// (the progress bar's Cancel), a batch (Stop batch, then Resume) and the reference-conditions run.
// After each the page says so and is back where it was, nothing half-done is kept, the engine
// scores as before, and the worker holds the very tensors it held before the work started
// (dist-faults/, whose ?faults=1 pages expose window.ratFaults.memory()).

const SHOTS = path.join(ROOT, 'test-results/screenshots');
const [SPEECH, OTHER] = ALSA_SPEECH;
const DEMO = /^Demo weights/;

let dir: string;
let long: string;
let base: string;
const watch = newWatch();

/** What the engine holds: live tensors, their bytes, prepared references. */
async function memory(page: Page) {
  const m = await engineMemory(page);
  return { numTensors: m.numTensors, numBytes: m.numBytes, refs: m.refs };
}

const open = (setup?: (p: Page) => Promise<void>) => app.open({ query: '?backend=wasm&faults=1', watch, setup });

async function scoreOf(page: Page, file: string, weights = ''): Promise<number> {
  const score = page
    .locator(`[data-testid=result-row][data-file="${file}"]`)
    .filter({ hasText: weights })
    .getByTestId('score');
  await score.waitFor({ timeout: 300_000 });
  return Number(await score.getAttribute('data-value'));
}

/** The CLI's P(bona fide) per file name (demo weights unless `--weights` is given). */
function cliScores(...args: string[]): Map<string, number> {
  return new Map(
    jsonLines<{ file: string; p_bonafide: number }>(runCli(['--json', ...args])).map((o) => [
      path.basename(o.file),
      o.p_bonafide,
    ]),
  );
}

/**
 * A safetensors checkpoint with the published checkpoint's keys and XLS-R 300M's shapes but
 * `layers` encoder layers: large enough that converting it in the page takes many shards, small
 * enough to write in a moment. Its values never reach a score (the load is cancelled).
 */
function bigCheckpoint(file: string, layers: number) {
  const shapes = new Map<string, number[]>();
  for (const rule of keyMap({ ...XLSR_300M_RAT, numLayers: layers }))
    for (const f of rule.from) shapes.set(f.key, f.shape);
  let offset = 0;
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
  for (const [key, shape] of shapes) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[key] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const chunk = Buffer.alloc(1 << 24);
  const values = new Float32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = ((i * 7919) % 1000) / 1e5;
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, size);
    writeSync(fd, json);
    for (let left = offset; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
}

async function prepare() {
  mkdirSync(SHOTS, { recursive: true });
  dir = tempDir('e2e-cancel');
  ({ long, base } = longSpeech(dir));
  bigCheckpoint(path.join(dir, 'xlsr-1-layer.safetensors'), 1);
  await convertFile(path.join(dir, 'xlsr-1-layer.safetensors'), { out: path.join(dir, 'big-folder'), label: 'big' });
  // small shards, so the download is still running when one of them is held back
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), {
    out: path.join(dir, 'served'),
    label: 'tiny served',
    shardBytes: 64 * 1024,
  });
}
const app = useApp({ build: 'dist-faults', prepare, timeout: 300_000 });

describe('Cancel', () => {
  it('loading weights: a folder, a checkpoint being converted and a served set mid-download; the weights in use stay', async () => {
    // a served set, "Served set", whose fourth shard is held back until the test lets it go
    const HELD = 'shard-0004.bin';
    let requested!: () => void;
    const heldRequested = new Promise<void>((r) => (requested = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    const page = await open(async (p) => {
      await p.route('**/weights/index.json', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as { weights: unknown[] };
        body.weights.push({ id: 'served', path: 'weights/served/', label: 'Served set', demo: false });
        await route.fulfill({ response: res, json: body });
      });
      await p.route('**/weights/served/*', async (route) => {
        const name = path.basename(new URL(route.request().url()).pathname);
        if (name === HELD && !held) {
          held = true;
          requested();
          await released;
        }
        // a request the page gave up on cannot be answered any more
        await route.fulfill({ path: path.join(dir, 'served', name) }).catch(() => undefined);
      });
    });
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    const before = await scoreOf(page, 'Front_Center.wav');
    const start = await memory(page);
    const loading = (label: string) => page.getByRole('status').filter({ hasText: `Loading ${label}: ` });
    const loadError = page.getByTestId('error').filter({ hasText: 'Could not load' });

    /** Cancels the load shown as `label` once its bar shows `midway`; the weights in use must stay. */
    const cancel = async (label: string, midway: RegExp | Promise<void>) => {
      const bar = loading(label);
      if (midway instanceof RegExp) await bar.filter({ hasText: midway }).waitFor({ timeout: 120_000 });
      else await midway;
      await bar.getByRole('button', { name: 'Cancel' }).click();
      await expect
        .poll(() => loadError.allTextContents(), { timeout: 60_000 })
        .toEqual([`Could not load ${label}: Cancelled.`]);
      expect(await bar.count(), label).toBe(0);
      expect(await page.getByTestId('weights-label').textContent(), label).toMatch(DEMO);
      expect(await page.getByTestId('weight-set').inputValue(), label).toBe('demo');
      expect(await page.getByTestId('weight-set').isEnabled(), label).toBe(true);
      expect(await memory(page), label).toEqual(start);
    };

    // a folder from disk, cancelled after its first shard of many
    await page.getByTestId('weights-folder-input').setInputFiles(path.join(dir, 'big-folder'));
    await cancel('the chosen folder', / MB of /);
    // a checkpoint converted in the page, cancelled after its first shard of many
    await page
      .locator('input[accept=".pt,.pth,.bin,.safetensors"]')
      .setInputFiles(path.join(dir, 'xlsr-1-layer.safetensors'));
    await cancel('xlsr-1-layer.safetensors', / MB of /);
    await page.screenshot({ path: path.join(SHOTS, 'cancel-weights.png'), fullPage: true });
    // a served set whose download waits on a shard that has not arrived: Cancel must not wait for it
    await page.getByTestId('weight-set').selectOption('served');
    await cancel('Served set', heldRequested);
    release();

    // the weights in use score as before, and as the CLI does
    await page.getByTestId('test-file-input').setInputFiles(OTHER);
    const demo = cliScores(SPEECH, OTHER);
    expect(Math.abs((await scoreOf(page, 'Front_Left.wav')) - demo.get('Front_Left.wav')!)).toBeLessThan(1e-3);
    expect(await scoreOf(page, 'Front_Center.wav')).toBe(before);
    // and the set whose load was cancelled loads whole when picked again, and scores as the CLI does
    await page.getByTestId('weight-set').selectOption('served');
    await page.getByTestId('weights-label').filter({ hasText: 'tiny served' }).waitFor({ timeout: 120_000 });
    expect(await loadError.count()).toBe(0);
    // (the file in view is scored at once: Front_Left.wav, which became it when dropped on its own)
    const tiny = cliScores('--weights', path.join(dir, 'served'), OTHER).get('Front_Left.wav')!;
    expect(Math.abs((await scoreOf(page, 'Front_Left.wav', 'tiny served')) - tiny)).toBeLessThan(1e-3);
    await page.close();
  }, 600_000);

  it("scoring a long clip: the progress bar's Cancel stops it between windows, and Resume scores it whole", async () => {
    const file = repeatSpeech(base, 60, path.join(dir, 'one-minute.wav'));
    const page = await open();
    const start = await memory(page);
    await page.getByTestId('test-file-input').setInputFiles(file);
    const bar = page.getByRole('status').filter({ hasText: 'Scoring one-minute.wav: ' });
    await bar.filter({ hasText: /window \d+ of \d+/ }).waitFor({ timeout: 120_000 });
    await bar.getByRole('button', { name: 'Cancel' }).click();
    const row = page.locator('[data-testid=result-row][data-file="one-minute.wav"]');
    await expect.poll(() => row.getByTestId('error').textContent(), { timeout: 60_000 }).toMatch(/^Cancelled/);
    expect(await row.getByTestId('score').count()).toBe(0);
    expect(await bar.count()).toBe(0);
    await page.getByText('Scoring is paused.').waitFor();
    expect(await memory(page)).toEqual(start);
    await page.screenshot({ path: path.join(SHOTS, 'cancel-scoring.png'), fullPage: true });

    await page.getByRole('button', { name: 'Resume' }).click();
    const cli = cliScores(file).get('one-minute.wav')!;
    expect(Math.abs((await scoreOf(page, 'one-minute.wav')) - cli)).toBeLessThan(1e-3);
    expect(await row.getByTestId('error').count()).toBe(0);
    expect(await memory(page)).toEqual(start);
    await page.close();
  }, 600_000);

  it('Stop batch cancels the file being scored and holds the rest; Resume finishes the batch as the CLI scores it', async () => {
    // four files windowed and then scored whole, so that each takes several steps
    const files = [0.3, 0.5, 0.7, 0.9].map((v, i) => {
      const f = path.join(dir, `batch-${i + 1}.wav`);
      execFileSync('sox', [base, f, 'vol', String(v)]);
      return f;
    });
    const page = await open();
    const start = await memory(page);
    await page.getByTestId('test-file-input').setInputFiles(files);
    const done = page.getByTestId('batch-done');
    const bar = page.getByRole('status').filter({ hasText: /^Scoring batch-\d\.wav: / });
    // stop while a file after the first is early in its windows
    await expect
      .poll(
        async () =>
          Number(await done.textContent()) >= 1 && /: window [12] of/.test((await bar.allTextContents()).join('')),
        { timeout: 300_000, interval: 20 },
      )
      .toBe(true);
    await page.getByRole('button', { name: 'Stop batch' }).click();
    await page.getByText('Scoring is paused.').waitFor();
    await expect.poll(() => bar.count(), { timeout: 60_000 }).toBe(0);
    const rows = page.locator('[data-testid=result-row]');
    const cancelled = rows.filter({ has: page.getByTestId('error').filter({ hasText: /^Cancelled/ }) });
    await expect.poll(() => cancelled.count(), { timeout: 60_000 }).toBe(1);
    const scored = rows.filter({ has: page.getByTestId('score') });
    const kept = new Map<string, string>();
    for (const r of await scored.all())
      kept.set((await r.getAttribute('data-file'))!, (await r.getByTestId('score').getAttribute('data-value'))!);
    expect(Number(await done.textContent())).toBe(kept.size);
    // the files not reached wait for Resume, and nothing else starts
    expect(await page.getByTestId('clip-wait').allTextContents()).toEqual(
      Array(files.length - kept.size - 1).fill('queued: scoring is paused (Resume below)'),
    );
    expect(await page.getByRole('button', { name: 'Stop batch' }).count()).toBe(0);
    expect(await memory(page)).toEqual(start);
    await page.screenshot({ path: path.join(SHOTS, 'cancel-batch-stopped.png'), fullPage: true });

    await page.getByRole('button', { name: 'Resume' }).click();
    await done.filter({ hasText: new RegExp(`^${files.length}$`) }).waitFor({ timeout: 300_000 });
    expect(await cancelled.count()).toBe(0);
    const cli = cliScores(...files);
    for (const f of files.map((x) => path.basename(x))) {
      const p = await scoreOf(page, f);
      expect(Math.abs(p - cli.get(f)!), f).toBeLessThan(1e-3);
      if (kept.has(f)) expect(String(p), f).toBe(kept.get(f)); // finished before the stop: kept as it was
    }
    expect(await memory(page)).toEqual(start);
    await page.close();
  }, 600_000);

  it('the reference conditions: Cancel keeps no result and frees what the run held; a rerun completes', async () => {
    const page = await open();
    await page.getByTestId('test-file-input').setInputFiles(long);
    await page.getByTestId('ref-file-input').setInputFiles(OTHER);
    await page.getByTestId('current-ref').filter({ hasText: 'Front_Left.wav' }).waitFor();
    // the file scored under the reference: the engine holds that prepared reference from here on
    await page.locator('[data-testid=result-row][data-ref=audio]').getByTestId('score').waitFor({ timeout: 300_000 });
    const start = await memory(page);
    expect(start.refs).toBe(1);
    const panel = page.getByTestId('conditions');
    const run = panel.getByRole('button', { name: 'Run all conditions' });
    await run.click();
    const bar = panel.getByRole('status');
    await bar.filter({ hasText: /Conditions: [12] of 7 done/ }).waitFor({ timeout: 120_000 });
    await bar.getByRole('button', { name: 'Cancel' }).click();
    await expect
      .poll(() => panel.getByTestId('error').allTextContents(), { timeout: 60_000 })
      .toEqual(['Cancelled: no condition results were kept.']);
    expect(await bar.count()).toBe(0);
    expect(await panel.getByTestId('condition-row').count()).toBe(0);
    expect(await panel.getAttribute('data-runs')).toBe('0');
    expect(await run.isEnabled()).toBe(true);
    expect(await memory(page)).toEqual(start);
    await page.screenshot({ path: path.join(SHOTS, 'cancel-conditions.png'), fullPage: true });

    await run.click();
    await expect.poll(() => panel.getAttribute('data-runs'), { timeout: 300_000 }).toBe('1');
    expect(await panel.getByTestId('error').count()).toBe(0);
    expect(await panel.getByTestId('condition-row').count()).toBe(9);
    // all but the mismatched speaker (none chosen) and the cut to 3 s (the reference is shorter)
    expect(await panel.getByTestId('condition-p').count()).toBe(7);
    expect(await memory(page)).toEqual(start);
    await page.close();
  }, 600_000);

  it('made no request outside its own origin and threw no page error', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
