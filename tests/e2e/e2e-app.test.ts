import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropFiles, launchBrowser, newWatch, openApp as openAppAt, startPreview } from '../browser';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { FIXTURES, ROOT, runCli, tempDir } from '../helpers';

// The built app in Debian's Chromium: WebGPU (SwiftShader here) and the WASM fallback, a reference
// clip, a fake microphone, bad files, and no request leaving the origin. Screenshots of each state
// go to test-results/screenshots/ for a person to look at.

const SHOTS = path.join(ROOT, 'test-results/screenshots');
const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const REF = '/usr/share/sounds/alsa/Front_Left.wav';
const MIC = '/usr/share/sounds/alsa/Rear_Center.wav';

let browser: Browser;
let preview: Awaited<ReturnType<typeof startPreview>>;
let dir: string;
const watch = newWatch();

const cli = (...args: string[]): number => JSON.parse(runCli(['--json', ...args]).stdout).p_bonafide;
const value = async (loc: ReturnType<Page['locator']>) => Number(await loc.getAttribute('data-value'));

const openApp = (b: Browser, query = '', viewport = { width: 1280, height: 800 }) =>
  openAppAt(b, preview.url, { query, viewport, watch });

/** Value of the result row for a file, reference mode and (optionally) part of its weights label. */
async function scoreOf(page: Page, file: string, ref: 'zero' | 'audio', weights = ''): Promise<number> {
  const row = page
    .locator(`[data-testid=result-row][data-ref=${ref}]${weights ? `[data-weights*="${weights}"]` : ''}`)
    .filter({ hasText: file });
  await row.getByTestId('score').waitFor({ timeout: 180_000 });
  return Number(await row.getByTestId('score').getAttribute('data-value'));
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Drops files on the page the way a drag from the desktop does. */
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = tempDir('e2e');
  writeFileSync(path.join(dir, 'empty.wav'), '');
  execFileSync('sox', [SPEECH, SPEECH, SPEECH, path.join(dir, 'long.wav')]);
  writeFileSync(
    path.join(dir, 'corrupt.wav'),
    Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '), Buffer.alloc(64, 0x7f)]),
  );
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), {
    out: path.join(dir, 'tiny-folder'),
    label: 'tiny folder',
  });
  preview = await startPreview('dist-faults');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  preview?.stop();
});

describe('the app in Chromium', () => {
  it('picks WASM by itself where WebGPU is a software emulation, says why, and remembers the engine switch', async () => {
    const page = await openApp(browser);
    expect(await page.getByTestId('backend').textContent()).toBe('wasm');
    expect(await page.getByTestId('backend-reason').textContent()).toMatch(
      /WebGPU here is a software emulation of a GPU .*slower than WASM on this CPU; \?backend=webgpu forces it; using WASM, [2-8] threads/,
    );
    await page.getByTestId('engine-choice').selectOption('webgpu');
    await page.waitForURL(/\?backend=webgpu/);
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 120_000 }).toBe('webgpu');
    // remembered: the plain address now starts WebGPU too, until the switch says otherwise
    await page.goto(preview.url);
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 120_000 }).toBe('webgpu');
    expect(await page.getByTestId('engine-choice').inputValue()).toBe('webgpu');
    await page.getByTestId('engine-choice').selectOption('auto');
    await page.waitForURL((u) => !u.search.includes('backend'));
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 120_000 }).toBe('wasm');
    await page.close();
  });

  it('WebGPU (forced): a dropped speech WAV scores as in the CLI, then with a reference clip', async () => {
    const page = await openApp(browser, '?backend=webgpu');
    await shot(page, '01-ready');
    expect(await page.getByTestId('backend').textContent()).toBe('webgpu');
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toMatch(/Demo weights: untrained, scores carry no meaning/);
    await dropFiles(page, [SPEECH]);
    const zero = await scoreOf(page, 'Front_Center.wav', 'zero');
    expect(Math.abs(zero - cli(SPEECH))).toBeLessThan(1e-3);
    await shot(page, '02-scored-zero-reference');

    await page.getByTestId('ref-file-input').setInputFiles(REF);
    const withRef = await scoreOf(page, 'Front_Center.wav', 'audio');
    expect(Math.abs(withRef - cli('--ref', REF, SPEECH))).toBeLessThan(1e-3);
    expect(await page.getByTestId('current-ref').textContent()).toBe('Front_Left.wav');
    const refCell = page.locator('[data-testid=result-row][data-ref=audio]').getByTestId('ref-mode');
    expect(await refCell.textContent()).toBe('audio: Front_Left.wav');
    await shot(page, '03-scored-with-reference');

    // long work can be cancelled, and resumed
    await page.getByTestId('test-file-input').setInputFiles(path.join(dir, 'long.wav'));
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await cancel.waitFor({ timeout: 60_000 });
    await cancel.click();
    const row = page.locator('[data-testid=result-row][data-ref=audio]').filter({ hasText: 'long.wav' });
    await expect.poll(() => row.textContent(), { timeout: 60_000 }).toMatch(/Cancelled/);
    await page.getByText('Scoring is paused.').waitFor();
    await shot(page, '03b-cancelled');
    await row.getByRole('button', { name: 'Rescore' }).click();
    expect(await scoreOf(page, 'long.wav', 'audio')).toBeGreaterThan(0);
    await page.close();
  }, 400_000);

  it('WASM fallback forced: the same score, and bad files are named while the app keeps working', async () => {
    const page = await openApp(browser, '?backend=wasm');
    expect(await page.getByTestId('backend').textContent()).toBe('wasm');
    await page
      .getByTestId('test-file-input')
      .setInputFiles([path.join(dir, 'empty.wav'), path.join(dir, 'corrupt.wav'), SPEECH]);
    const score = await scoreOf(page, 'Front_Center.wav', 'zero');
    expect(Math.abs(score - cli(SPEECH))).toBeLessThan(1e-3);
    const errors = page.getByTestId('error');
    await expect
      .poll(() => errors.allTextContents())
      .toEqual(
        expect.arrayContaining([
          'empty.wav: the file is empty (0 bytes)',
          // its fmt chunk declares 0x7f7f7f7f Hz: named before any decoder runs
          expect.stringMatching(
            /^corrupt\.wav: the file's sample rate of 2139062143 Hz is above the 4096000 Hz the resampler converts/,
          ),
        ]),
      );
    await shot(page, '04-wasm-with-bad-files');
    // the weight cache is shown with its size, and can be cleared
    await expect.poll(() => page.getByText(/Weight cache: 2\.5 MB in 1 shards/).count()).toBe(1);
    await page.getByRole('button', { name: 'Clear cache' }).click();
    await expect.poll(() => page.getByText(/Weight cache: 0\.0 MB in 0 shards/).count()).toBe(1);
    // still working: another file after the errors
    await page.getByTestId('test-file-input').setInputFiles(REF);
    expect(await scoreOf(page, 'Front_Left.wav', 'zero')).toBeGreaterThan(0);
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '05-phone-width');
    await page.close();
  });

  it('records from the (fake) microphone, shows the new recording and scores it', async () => {
    const micBrowser = await launchBrowser([
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${MIC}`,
    ]);
    try {
      const page = await openApp(micBrowser, '?backend=wasm');
      // a file first: it is the clip in view until the recording comes
      await page.getByTestId('test-file-input').setInputFiles(SPEECH);
      const wave = page.getByTestId('waveform').first();
      await expect.poll(() => wave.getByTestId('wave-title').textContent()).toBe('Front_Center.wav');
      await page.getByRole('button', { name: 'Record suspect audio' }).click();
      await page.getByRole('meter', { name: 'Input level' }).waitFor();
      await shot(page, '06-recording');
      // about 2.5 s of audio, by the recorder's own clock, which reads m:ss.s like every time on the page
      const clock = page.getByTestId('record-clock');
      await expect.poll(() => value(clock), { timeout: 60_000 }).toBeGreaterThanOrEqual(2.5);
      expect(await clock.textContent()).toMatch(/^0:0[2-9]\.\d$/);
      await page.getByRole('button', { name: 'Stop recording' }).click();
      // the new recording is the selected clip, shown in the waveform, and in view
      const recRow = page.locator('[data-testid=clip-row][data-file^="recording-"]');
      await recRow.waitFor();
      await expect.poll(() => wave.getByTestId('wave-title').textContent()).toMatch(/^recording-.*\.(webm|ogg)$/);
      expect(await recRow.getAttribute('class')).toContain('selected');
      expect(await recRow.locator('button.clip-pick').getAttribute('aria-pressed')).toBe('true');
      expect(
        await page
          .locator('[data-testid=clip-row][data-file="Front_Center.wav"] button.clip-pick')
          .getAttribute('aria-pressed'),
      ).toBe('false');
      await expect
        .poll(() =>
          recRow.evaluate((el) => {
            const r = el.getBoundingClientRect();
            return r.top >= -1 && r.bottom <= window.innerHeight + 1;
          }),
        )
        .toBe(true);
      const row = page.locator('[data-testid=result-row][data-ref=zero]').filter({ hasText: 'recording-' });
      await row.getByTestId('score').waitFor({ timeout: 120_000 });
      const p = Number(await row.getByTestId('score').getAttribute('data-value'));
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
      expect(await page.locator('.clips').textContent()).toMatch(/recording-.*\.(webm|ogg)\s*0:0\d\.\d/);
      await shot(page, '07-recording-scored');
    } finally {
      await micBrowser.close();
    }
  });

  it('converts a PyTorch checkpoint inside the browser, loads a converted folder, and scores as the CLI', async () => {
    const page = await openApp(browser, '?backend=wasm');
    await page.getByTestId('test-file-input').setInputFiles(SPEECH);
    await scoreOf(page, 'Front_Center.wav', 'zero', 'Demo weights');
    const expected = cli('--weights', path.join(dir, 'tiny-folder'), SPEECH);

    await page
      .locator('input[accept=".pt,.pth,.bin,.safetensors"]')
      .setInputFiles(path.join(FIXTURES, 'tiny/checkpoint.pt'));
    await page.getByTestId('weights-label').filter({ hasText: 'checkpoint.pt' }).waitFor({ timeout: 120_000 });
    expect(await page.getByRole('alert').filter({ hasText: 'Demo weights' }).count()).toBe(0);
    expect(Math.abs((await scoreOf(page, 'Front_Center.wav', 'zero', 'checkpoint.pt')) - expected)).toBeLessThan(1e-3);
    await shot(page, '08-checkpoint-converted-in-browser');

    await page.getByTestId('weights-folder-input').setInputFiles(path.join(dir, 'tiny-folder'));
    await page.getByTestId('weights-label').filter({ hasText: 'tiny folder' }).waitFor({ timeout: 120_000 });
    expect(Math.abs((await scoreOf(page, 'Front_Center.wav', 'zero', 'tiny folder')) - expected)).toBeLessThan(1e-3);
    // a checkpoint with other strides and heads: refused with a pointer to the options, then loaded with them
    const odd = JSON.parse(readFileSync(path.join(FIXTURES, 'odd/golden.json'), 'utf8')).convert_config;
    const oddInput = page.locator('input[accept=".pt,.pth,.bin,.safetensors"]');
    await oddInput.setInputFiles(path.join(FIXTURES, 'odd/checkpoint.pt'));
    await page.getByTestId('error').filter({ hasText: 'Checkpoint options' }).waitFor({ timeout: 60_000 });
    await page.locator('.options summary').click();
    await page.locator('.options textarea').fill(JSON.stringify(odd));
    await oddInput.setInputFiles(path.join(FIXTURES, 'odd/checkpoint.pt'));
    await page.getByTestId('weights-label').filter({ hasText: 'checkpoint.pt' }).waitFor({ timeout: 120_000 });
    await expect.poll(() => page.locator('[data-testid=result-row]').count(), { timeout: 60_000 }).toBe(4);
    await convertFile(path.join(FIXTURES, 'odd/checkpoint.pt'), { out: path.join(dir, 'odd-folder'), overrides: odd });
    const oddScore = Number(
      await page.locator('[data-testid=result-row]').nth(3).getByTestId('score').getAttribute('data-value'),
    );
    expect(Math.abs(oddScore - cli('--weights', path.join(dir, 'odd-folder'), SPEECH))).toBeLessThan(1e-3);

    // the demo result is still on screen, from the demo weights
    expect(await page.locator('[data-testid=result-row][data-weights^="Demo weights"]').count()).toBe(1);
    await page.close();
  });

  it.each([
    ['device-lost', '?backend=webgpu&', /GPU device was lost/],
    ['crash', '?backend=wasm&', /inference engine crashed/],
  ] as const)(
    'recovers from %s: restarts the engine, reloads the weights, keeps clips and results',
    async (fault, query, message) => {
      const page = await openApp(browser, `${query ? query : '?'}faults=1`);
      await page.getByTestId('test-file-input').setInputFiles(SPEECH);
      const before = await scoreOf(page, 'Front_Center.wav', 'zero');
      await page.evaluate(
        (f) =>
          (window as unknown as { ratFaults: { inject(f: string): Promise<unknown> } }).ratFaults
            .inject(f)
            .catch(() => null),
        fault,
      );
      await page.getByRole('status').filter({ hasText: message }).waitFor({ timeout: 60_000 });
      await page.getByRole('status').filter({ hasText: 'engine was restarted' }).waitFor({ timeout: 180_000 });
      expect(await scoreOf(page, 'Front_Center.wav', 'zero')).toBe(before);
      await shot(page, `09-recovered-${fault}`);
      await page.getByTestId('test-file-input').setInputFiles(REF);
      expect(await scoreOf(page, 'Front_Left.wav', 'zero')).toBeGreaterThan(0);
      await page.close();
    },
    400_000,
  ); // SwiftShader compiles every WebGPU kernel twice here (first load and after the restart)

  it('becomes cross-origin isolated on a static host that sends no COOP/COEP (service worker), so WASM runs threaded', async () => {
    const dist = path.join(ROOT, 'dist');
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.json': 'application/json',
      '.wasm': 'application/wasm',
      '.css': 'text/css',
    };
    const server = http.createServer((req, res) => {
      const file = path.join(
        dist,
        decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/\/$/, '/index.html'),
      );
      if (!file.startsWith(dist) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' })
        .end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const page = await openAppAt(browser, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      query: '?backend=wasm',
    });
    try {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      // every logical core, not tfjs-wasm's default of half of them (1 on this 2-core machine)
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(cores).toBeGreaterThan(1);
      expect(await page.getByText(new RegExp(`using WASM, ${Math.min(cores, 8)} threads`)).count()).toBe(1);
    } finally {
      await page.close();
      server.close();
    }
  });

  it('made no request outside its own origin and threw no page error in any of the sessions above', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
