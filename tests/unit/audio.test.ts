import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeClip, resampleTo16k } from '../../src/audio/decode';
import { tempDir } from '../helpers';

// Real speech from alsa-utils (48 kHz, 16-bit mono), re-encoded with sox / lame / opusenc.
const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
let dir: string;
let reference: Float32Array;

const sox = (...args: string[]) => execFileSync('sox', args);

beforeAll(async () => {
  dir = tempDir('audio');
  reference = (await decodeClip(readFileSync(SPEECH), SPEECH)).wave;
});

function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < n; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('decodeClip: formats decode to the same 16 kHz mono speech', () => {
  it('resamples 48 kHz to 16 kHz with the expected length', async () => {
    const src = await decodeClip(readFileSync(SPEECH), SPEECH);
    expect(src.sourceSampleRate).toBe(48000);
    expect(src.channels).toBe(1);
    expect(Math.abs(src.wave.length - Math.round(src.seconds * 16000))).toBeLessThanOrEqual(1);
  });

  const lossless: [string, string[]][] = [
    ['wav-s24', ['-b', '24', '-e', 'signed-integer']],
    ['wav-s32', ['-b', '32', '-e', 'signed-integer']],
    ['wav-f32', ['-b', '32', '-e', 'floating-point']],
    ['flac', []],
  ];
  it.each(lossless)('%s matches the 16-bit WAV sample for sample', async (name, args) => {
    const file = path.join(dir, `${name}.${name === 'flac' ? 'flac' : 'wav'}`);
    sox(SPEECH, ...args, file);
    const clip = await decodeClip(readFileSync(file), file);
    expect(clip.wave.length).toBe(reference.length);
    let err = 0;
    for (let i = 0; i < reference.length; i++) err = Math.max(err, Math.abs(clip.wave[i] - reference[i]));
    expect(err).toBeLessThan(1e-3); // 16-bit scaling conventions differ by 1/32768
  });

  it.each([
    ['mp3', (f: string) => execFileSync('lame', ['--quiet', '-b', '192', SPEECH, f])],
    ['ogg', (f: string) => sox(SPEECH, f)],
    ['opus', (f: string) => execFileSync('opusenc', ['--quiet', '--bitrate', '96', SPEECH, f])],
  ])('%s decodes to the same speech (correlation > 0.95)', async (ext, encode) => {
    const file = path.join(dir, `speech.${ext}`);
    encode(file);
    const clip = await decodeClip(readFileSync(file), file);
    expect(Math.abs(clip.seconds - reference.length / 16000)).toBeLessThan(0.1);
    // lossy codecs add a short delay; align on the best lag within 30 ms
    let best = 0;
    for (let lag = 0; lag < 480; lag += 1) best = Math.max(best, correlation(clip.wave.subarray(lag), reference));
    expect(best).toBeGreaterThan(0.95);
  });

  it('downmixes stereo to the mean of the channels', async () => {
    const file = path.join(dir, 'stereo.wav');
    sox('-M', SPEECH, '-v', '0', SPEECH, '-e', 'floating-point', file); // left = speech, right = silence
    const clip = await decodeClip(readFileSync(file), file);
    expect(clip.channels).toBe(2);
    let err = 0;
    for (let i = 0; i < reference.length; i++) err = Math.max(err, Math.abs(clip.wave[i] - reference[i] / 2));
    expect(err).toBeLessThan(1e-3);
  });
});

describe('decodeClip: bad input gives an AudioDecodeError naming the file', () => {
  it('empty file', async () => {
    await expect(decodeClip(new Uint8Array(0), 'empty.wav')).rejects.toThrow('empty.wav: the file is empty (0 bytes)');
  });
  it('a PNG renamed .wav', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(64).fill(0)]);
    const e = await decodeClip(png, 'photo.wav').catch((x) => x);
    expect(e).toBeInstanceOf(AudioDecodeError);
    expect(e.message).toMatch(/^photo\.wav: /);
  });
  it('random bytes', async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    await expect(decodeClip(bytes, 'noise.bin')).rejects.toBeInstanceOf(AudioDecodeError);
  });
  it('NaN samples in a float WAV', async () => {
    const file = path.join(dir, 'nan.wav');
    sox(SPEECH, '-e', 'floating-point', '-b', '32', file);
    const bytes = readFileSync(file);
    const dataAt = bytes.indexOf(Buffer.from('data')) + 8;
    bytes.writeFloatLE(NaN, dataAt + 400);
    writeFileSync(file, bytes);
    await expect(decodeClip(bytes, 'nan.wav')).rejects.toThrow(/NaN or infinite/);
  });
});

describe('resampleTo16k', () => {
  it.each([
    [48000, 68544],
    [48000, 48000 * 30],
    [44100, 44100 * 7 + 13],
    [22050, 22050 * 3 + 1],
    [8000, 8001],
    [96000, 96000 * 2],
  ])('keeps the whole clip: %i Hz, %i samples', async (rate, n) => {
    const x = new Float32Array(n).map((_, i) => Math.sin((2 * Math.PI * 440 * i) / rate));
    const y = await resampleTo16k(x, rate);
    expect(y.length).toBe(Math.round((n * 16000) / rate));
    // the last 10 ms still carry the tone (nothing dropped or zeroed at the end)
    const tail = y.subarray(y.length - 160 - 40, y.length - 40);
    expect(Math.sqrt(tail.reduce((a, v) => a + v * v, 0) / tail.length)).toBeGreaterThan(0.6);
  });
});
