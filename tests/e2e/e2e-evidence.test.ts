import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { VARIES } from '../../src/analysis/result';
import { openApp, savedRows, useApp } from '../browser';
import { tempDir } from '../helpers';

// Evidence that is exactly what was scored: one session that mixes references (zero vector, then a
// reference clip) and engines (WASM, then WebGPU after a reload, with the earlier rows restored)
// exports rows whose reference, reference hash, backend, weights hash, window settings and time
// match each scoring, and a report whose header claims only what every row shares.

const ALSA = '/usr/share/sounds/alsa';
let dir: string;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function prepare() {
  dir = tempDir('e2e-evidence');
  for (const [name, src] of [
    ['a.wav', 'Front_Center'],
    ['b.wav', 'Rear_Left'],
    ['speaker.wav', 'Front_Left'],
  ]) {
    execFileSync('sox', [path.join(ALSA, `${src}.wav`), '-r', '16000', '-c', '1', path.join(dir, name)]);
  }
}
const app = useApp({ prepare });

const scoredRows = (page: Page) => page.locator('[data-testid=result-row] [data-testid=score]').count();

async function download(page: Page, testId: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync((await dl.path())!, 'utf8');
}

describe('exports say what was scored', () => {
  it('a session mixing references and engines exports rows whose fields match each scoring', async () => {
    const context = await app.browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const started = new Date().toISOString();
    const page = await openApp(context, app.url, { query: '?backend=wasm' });
    expect(await page.getByTestId('backend').textContent()).toBe('wasm');
    await page.getByTestId('test-file-input').setInputFiles(path.join(dir, 'a.wav'));
    await expect.poll(() => scoredRows(page), { timeout: 120_000 }).toBe(1);
    await page.getByTestId('ref-file-input').setInputFiles(path.join(dir, 'speaker.wav'));
    await expect.poll(() => scoredRows(page), { timeout: 120_000 }).toBe(2);
    // the store writes a moment after the last change
    await expect.poll(() => savedRows(page), { timeout: 30_000 }).toBe(2);

    // the other engine, in the same browser profile: the two rows come back from storage
    await page.goto(`${app.url}?backend=webgpu`);
    await page.getByTestId('weights-label').filter({ hasText: 'Demo weights' }).waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('backend').textContent()).toBe('webgpu');
    await page.getByTestId('restored').waitFor({ timeout: 60_000 });
    await page.getByTestId('test-file-input').setInputFiles(path.join(dir, 'b.wav'));
    await expect.poll(() => scoredRows(page), { timeout: 600_000 }).toBe(3);
    await page.getByTestId('case-id').fill('CASE-42');

    const json = JSON.parse(await download(page, 'export-json'));
    const demoSha = JSON.parse(readFileSync(path.resolve(__dirname, '../../public/weights/demo/model.json'), 'utf8'))
      .source.sha256;
    const key = (f: { file: string; ref_mode: string; backend: string }) => `${f.file} ${f.ref_mode} ${f.backend}`;
    const byKey = new Map(json.files.map((f: { file: string; ref_mode: string; backend: string }) => [key(f), f]));
    expect([...byKey.keys()].sort()).toEqual(['a.wav audio wasm', 'a.wav zero wasm', 'b.wav zero webgpu']);
    const windows = { limit_s: 12, window_s: 4, hop_s: 2, single_pass_max_s: 30 };
    const expected = {
      'a.wav zero wasm': { ref: null, ref_sha256: null, audio_sha256: sha(path.join(dir, 'a.wav')) },
      'a.wav audio wasm': {
        ref: 'speaker.wav',
        ref_sha256: sha(path.join(dir, 'speaker.wav')),
        audio_sha256: sha(path.join(dir, 'a.wav')),
      },
      'b.wav zero webgpu': { ref: null, ref_sha256: null, audio_sha256: sha(path.join(dir, 'b.wav')) },
    };
    for (const [k, want] of Object.entries(expected)) {
      const f = byKey.get(k) as Record<string, unknown>;
      expect(f, k).toMatchObject({ ...want, windows });
      expect((f.weights as { sha256: string }).sha256, k).toBe(demoSha);
      expect(f.scored_at! >= started && f.scored_at! <= json.date, k).toBe(true);
    }
    // scored in that order: the zero-vector row, the reference row, then b on WebGPU
    const times = Object.keys(expected).map((k) => (byKey.get(k) as { scored_at: string }).scored_at);
    expect([...times].sort()).toEqual(times);
    expect(json.case_id).toBe('CASE-42');
    expect(json.settings).toMatchObject({ ref_mode: VARIES, ref_sha256: VARIES, backend: VARIES, windows });

    const html = await download(page, 'export-html');
    expect(html).toContain(`<dt>Reference</dt><dd>${VARIES}</dd>`);
    expect(html).toContain(`<dt>Backend</dt><dd>${VARIES}</dd>`);
    expect(html).toContain(`audio: speaker.wav (SHA-256 ${sha(path.join(dir, 'speaker.wav'))})`);
    expect(html).toContain('<dt>Case</dt><dd>CASE-42</dd>');
    await context.close();
  }, 1_200_000);
});
