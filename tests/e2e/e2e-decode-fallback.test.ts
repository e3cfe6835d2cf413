import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeClip } from '../../src/audio/decode';
import { SPEECH } from '../audio-table';
import { dropFiles, newWatch, useApp } from '../browser';
import { runCli, tempDir } from '../helpers';

// The page's second decoder: what the shared decoder (audio-decode, the CLI's) does not recognise
// goes through Chromium's Web Audio decoder, then through the shared resampler. RF64 (the WAV
// container with 64-bit sizes that broadcast recorders write) is such a file: audio-type does not
// know its 'RF64' tag, Chromium's demuxer does. Its samples are those of a plain WAV, so the score
// can be held against the same audio given as WAV. Bytes that neither decoder reads keep the shared
// decoder's message.

const SHARED_HINT = 'supported: WAV, FLAC, MP3, OGG/Opus and more';

let dir: string;
const watch = newWatch();
const at = (f: string) => path.join(dir, f);

/**
 * The chunks of a RIFF/WAVE file in an RF64 container (EBU Tech 3306): 'RF64' for 'RIFF', a ds64
 * chunk first with the 64-bit RIFF and data sizes and the sample count, and 0xFFFFFFFF in the
 * 32-bit size fields it replaces. Every other chunk is kept as it was.
 */
function rf64(wav: Buffer): Buffer {
  const chunks: { id: string; body: Buffer }[] = [];
  for (let o = 12; o + 8 <= wav.length;) {
    const size = wav.readUInt32LE(o + 4);
    chunks.push({ id: wav.toString('latin1', o, o + 4), body: wav.subarray(o + 8, o + 8 + size) });
    o += 8 + size + (size % 2);
  }
  const head = (id: string, size: number) => {
    const b = Buffer.alloc(8);
    b.write(id, 0, 'latin1');
    b.writeUInt32LE(size, 4);
    return b;
  };
  const data = chunks.find((c) => c.id === 'data')!.body;
  const fmt = chunks.find((c) => c.id === 'fmt ')!.body;
  const blockAlign = fmt.readUInt16LE(12);
  const body = chunks.flatMap((c) => {
    const pad = c.body.length % 2 ? [Buffer.alloc(1)] : [];
    return [head(c.id, c.id === 'data' ? 0xffffffff : c.body.length), c.body, ...pad];
  });
  const ds64 = Buffer.alloc(28);
  const riffSize = 4 + 8 + ds64.length + body.reduce((n, b) => n + b.length, 0);
  ds64.writeBigUInt64LE(BigInt(riffSize), 0);
  ds64.writeBigUInt64LE(BigInt(data.length), 8);
  ds64.writeBigUInt64LE(BigInt(blockAlign ? Math.floor(data.length / blockAlign) : 0), 16);
  return Buffer.concat([head('RF64', 0xffffffff), Buffer.from('WAVE'), head('ds64', ds64.length), ds64, ...body]);
}

/** The shared decoder's error on a file (the CLI's, and the worker's first try). */
async function sharedError(file: string): Promise<AudioDecodeError> {
  try {
    await decodeClip(new Uint8Array(readFileSync(at(file))), file);
  } catch (e) {
    if (e instanceof AudioDecodeError) return e;
    throw e;
  }
  throw new Error(`${file}: the shared decoder read it`);
}

async function scoreOf(page: Page, file: string): Promise<number> {
  const score = page.locator(`[data-testid=result-row][data-file="${file}"] [data-testid=score]`);
  await score.waitFor({ timeout: 180_000 });
  return Number(await score.getAttribute('data-value'));
}

/** The rate and channels the clip list gives for a decoded file (in the row's text or a tooltip): "<rate> Hz, <channels> ch". */
async function clipInfo(page: Page, file: string): Promise<string> {
  const row = page.locator(`[data-testid=clip-row][data-file="${file}"]`);
  const said = () =>
    row.evaluate((el) =>
      [el.textContent, ...[...el.querySelectorAll('[title]')].map((e) => e.getAttribute('title'))].join(' '),
    );
  await expect.poll(said, { timeout: 120_000 }).toMatch(/\d+ Hz, \d+ ch/);
  return /\d+ Hz, \d+ ch/.exec(await said())![0];
}

function prepare() {
  dir = tempDir('e2e-decode-fallback');
  // SPEECH is 16-bit mono at 48 kHz, the rate Web Audio decodes to here; the 44.1 kHz copy makes Web Audio resample
  execFileSync('sox', [SPEECH, '-b', '16', at('speech-48k.wav')]);
  execFileSync('sox', [SPEECH, '-r', '44100', '-b', '16', at('speech-44k.wav')]);
  execFileSync('sox', [SPEECH, '-r', '16000', '-e', 'gsm-full-rate', at('gsm-codec.wav')]);
  for (const f of ['speech-48k', 'speech-44k', 'gsm-codec'])
    writeFileSync(at(`${f}-rf64.wav`), rf64(readFileSync(at(`${f}.wav`))));
}
const app = useApp({ prepare, timeout: 300_000 });

describe('the Web Audio decode fallback', () => {
  it('RF64 files, which the shared decoder does not recognise, are decoded by Chromium and score as the same audio in WAV', async () => {
    // the shared decoder refuses them as unrecognised, the one case that goes to the browser's decoder
    for (const f of ['speech-48k-rf64.wav', 'speech-44k-rf64.wav']) {
      const e = await sharedError(f);
      expect(e.undecodable, f).toBe(true);
      expect(e.reason, f).toBe(`not a decodable audio file (Unknown audio format); ${SHARED_HINT}`);
    }
    const page = await app.open({ query: '?backend=wasm', watch });
    await dropFiles(page, ['speech-48k.wav', 'speech-44k.wav', 'speech-48k-rf64.wav', 'speech-44k-rf64.wav'].map(at));
    const p = {
      wav48: await scoreOf(page, 'speech-48k.wav'),
      wav44: await scoreOf(page, 'speech-44k.wav'),
      rf48: await scoreOf(page, 'speech-48k-rf64.wav'),
      rf44: await scoreOf(page, 'speech-44k-rf64.wav'),
    };
    console.log(`P(bona fide) on WASM: 48 kHz WAV ${p.wav48}, RF64 ${p.rf48}; 44.1 kHz WAV ${p.wav44}, RF64 ${p.rf44}`);
    // the decoded audio as the page reports it: the OfflineAudioContext at 48 kHz hands every file over
    // at 48 kHz, so the 44.1 kHz RF64 file says 48000 Hz where its WAV twin, read by the shared decoder, says 44100
    expect(await clipInfo(page, 'speech-48k.wav')).toBe('48000 Hz, 1 ch');
    expect(await clipInfo(page, 'speech-48k-rf64.wav')).toBe('48000 Hz, 1 ch');
    expect(await clipInfo(page, 'speech-44k.wav')).toBe('44100 Hz, 1 ch');
    expect(await clipInfo(page, 'speech-44k-rf64.wav')).toBe('48000 Hz, 1 ch');
    // at 48 kHz Web Audio does not resample: its samples differ from the shared decoder's only in the
    // rounding of the 16-bit to float conversion, and the same resampler and model follow
    expect(Math.abs(p.rf48 - p.wav48)).toBeLessThan(1e-5);
    // at 44.1 kHz Chromium's resampler takes the audio to 48 kHz before libsamplerate takes it to
    // 16 kHz, where the WAV goes to 16 kHz in one step. Both resamplers are transparent well below
    // their cutoffs, and all the model hears (below 8 kHz) lies far below Chromium's (near 22 kHz),
    // so the waveforms agree to far less than the speech's level: ten times the 48 kHz bound.
    expect(Math.abs(p.rf44 - p.wav44)).toBeLessThan(1e-4);
    expect(await page.getByTestId('error').count()).toBe(0);
    await page.close();
  }, 300_000);

  it("bytes neither decoder reads show the shared decoder's message whole, and the engine goes on scoring", async () => {
    const cases = ['gsm-codec.wav', 'gsm-codec-rf64.wav'];
    const reasons = await Promise.all(cases.map(async (f) => (await sharedError(f)).reason));
    expect(reasons).toEqual([
      `not a decodable audio file (Unsupported WAV format: 0x31); ${SHARED_HINT}`,
      `not a decodable audio file (Unknown audio format); ${SHARED_HINT}`,
    ]);
    const page = await app.open({ query: '?backend=wasm', watch });
    await dropFiles(page, cases.map(at));
    for (const [i, f] of cases.entries()) {
      const shown = page.getByTestId('error').filter({ hasText: `${f}: ` });
      await shown.waitFor({ timeout: 120_000 });
      expect(await shown.textContent()).toBe(`${f}: ${reasons[i]}`);
      // its row in the results says the same and holds no score
      const row = page.locator(`[data-testid=result-row][data-file="${f}"]`);
      expect((await row.getByTestId('error').textContent())?.trim(), f).toBe(reasons[i]);
      expect(await row.getByTestId('score').count(), f).toBe(0);
    }
    // and a file the fallback reads still scores: as the CLI scores its WAV twin (the app-against-CLI tolerance)
    await dropFiles(page, [at('speech-44k-rf64.wav')]);
    const cli = JSON.parse(runCli(['--json', at('speech-44k.wav')]).stdout).p_bonafide;
    expect(Math.abs((await scoreOf(page, 'speech-44k-rf64.wav')) - cli)).toBeLessThan(1e-3);
    await page.close();
  }, 300_000);

  it('made no request outside its own origin and threw no page error', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
