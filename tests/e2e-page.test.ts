import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, startPreview } from './browser';

// The minimal page scores a real speech file on WebGPU (SwiftShader here) and on the WASM
// fallback, with the same number as the CLI on the same weights.

const ROOT = path.resolve(__dirname, '..');
const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
let browser: Browser;
let preview: Awaited<ReturnType<typeof startPreview>>;
let cliScore: number;

beforeAll(async () => {
  preview = await startPreview();
  browser = await launchBrowser();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/score.ts'), '--json', SPEECH], { encoding: 'utf8' });
  cliScore = JSON.parse(r.stdout).p_bonafide;
});
afterAll(async () => {
  await browser?.close();
  preview?.stop();
});

async function scoreInPage(page: Page, query: string): Promise<{ value: number; backend: string }> {
  await page.goto(preview.url + query);
  const input = page.getByTestId('test-file-input');
  await input.waitFor();
  await page.waitForFunction(() => !(document.querySelector('[data-testid=test-file-input]') as HTMLInputElement).disabled, null, { timeout: 120_000 });
  await input.setInputFiles(SPEECH);
  await page.getByTestId('score').waitFor({ timeout: 120_000 });
  return {
    value: Number(await page.getByTestId('score').getAttribute('data-value')),
    backend: (await page.getByTestId('backend').textContent()) ?? '',
  };
}

describe('minimal page in Chromium', () => {
  it.each([['', 'webgpu'], ['?backend=wasm', 'wasm']])('scores a real speech WAV like the CLI (%s -> %s)', async (query, backend) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const got = await scoreInPage(page, query);
    expect(got.backend).toBe(backend);
    expect(Math.abs(got.value - cliScore)).toBeLessThan(1e-3);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/Demo weights: untrained/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
