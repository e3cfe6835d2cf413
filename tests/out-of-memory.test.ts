import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreClip } from '../src/analysis/score-clip';
import { loadModelFromDir } from '../src/cli/node-weights';
import { OutOfMemoryError, isOutOfMemory, restartBackend } from '../src/model/out-of-memory';
import { wav } from './audio-table';
import { tempDir } from './helpers';

// Out of memory on a long clip: attention grows with the square of the length, so a 10-minute file
// in one pass overflows tfjs-wasm's 4 GB heap even on the demo weights. The module traps and would
// fail every later call; the error must name the cause and the setting to change, and the engine
// must come back with the same scores as before, in-process, in the CLI and in the CLI's worker pool.

const ROOT = path.resolve(__dirname, '..');
const DEMO = path.join(ROOT, 'public/weights/demo');
const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
/** The 10-minute clip needs every window setting raised for a single pass. */
const ONE_PASS = { limitSeconds: 3600, windowSeconds: 4, hopSeconds: 2, singlePassMaxSeconds: 3600 };

let dir: string;
let tenMin: string;
let short: string;
beforeAll(() => {
  dir = tempDir('oom');
  tenMin = path.join(dir, 'ten-minutes.wav');
  let seed = 7;
  const noise = Float32Array.from({ length: 600 * 16000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2);
  writeFileSync(tenMin, wav(noise, 16000));
  short = path.join(dir, 'speech.wav');
  execFileSync('sox', [SPEECH, '-r', '16000', short]);
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/score.ts'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('out of memory', () => {
  it('recognises out-of-memory failures and nothing else', () => {
    expect(isOutOfMemory(new WebAssembly.RuntimeError('memory access out of bounds'))).toBe(true);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('Aborted(OOM). Build with -sASSERTIONS for more info.'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(Object.assign(new Error('x'), { name: 'GPUOutOfMemoryError' }))).toBe(true);
    expect(isOutOfMemory(new OutOfMemoryError(600, 'single', new Error('x')))).toBe(true);
    expect(isOutOfMemory(new Error('not a decodable audio file'))).toBe(false);
    expect(isOutOfMemory(new RangeError('Offset is outside the bounds of the DataView'))).toBe(false);
    expect(isOutOfMemory(new DOMException('Cancelled.', 'AbortError'))).toBe(false);
    expect(isOutOfMemory(null)).toBe(false);
  });

  it('in-process: a 10-minute single pass fails as OutOfMemoryError, and after a backend restart the same clip scores exactly as before', async () => {
    let model = await loadModelFromDir(DEMO, 'wasm');
    const { decodeClip } = await import('../src/audio/decode');
    const { readFileSync } = await import('node:fs');
    const speech = (await decodeClip(readFileSync(short), short)).wave;
    const before = (await model.score(speech)).pBonafide;
    const wave = (await decodeClip(readFileSync(tenMin), tenMin)).wave;
    const t0 = performance.now();
    const err = await scoreClip(model, wave, { windows: ONE_PASS }).then(() => null, (e: unknown) => e);
    console.log(`10-minute single pass failed after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(err as Error)?.message}`);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).pass).toBe('single');
    expect((err as OutOfMemoryError).seconds).toBeCloseTo(600, 3);
    expect((err as Error).message).toMatch(/^ran out of memory scoring 600\.0 s of audio in one pass \(/);
    // the trapped module fails everything after it: that is why the restart exists
    await expect(model.score(speech)).rejects.toSatisfy(isOutOfMemory);
    await restartBackend('wasm');
    expect(tf.memory().numTensors).toBe(0);
    model = await loadModelFromDir(DEMO, 'wasm');
    const loaded = tf.memory().numTensors;
    expect((await model.score(speech)).pBonafide).toBe(before);
    // windowed as by default, the same file scores without trouble
    const windowed = await scoreClip(model, wave);
    expect(windowed.pSource).toBe('window_mean');
    expect(windowed.timeline!.windows.length).toBe(299);
    expect(tf.memory().numTensors).toBe(loaded);
    model.dispose();
  }, 600_000);

  it('CLI: the file that ran out of memory gets an error naming the flags to change; the files after it score as in a fresh run', () => {
    const fresh = cli('--json', short);
    expect(fresh.status).toBe(0);
    const r = cli('--json', '--window-limit', '3600', '--single-pass-max', '3600', tenMin, short, tenMin, short);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.lines).toHaveLength(4);
    for (const i of [0, 2]) {
      expect(r.lines[i].file).toBe(tenMin);
      expect(r.lines[i].error).toMatch(/^ran out of memory scoring 600\.0 s of audio in one pass \(.*\); the engine was restarted\. Lower --single-pass-max \(now 3600 s\) or --window-limit \(now 3600 s\)/);
    }
    for (const i of [1, 3]) expect(r.lines[i].p_bonafide).toBe(fresh.lines[0].p_bonafide);
  }, 600_000);

  it('CLI worker pool: a worker that ran out of memory restarts its engine; every short file still scores as in a fresh run', () => {
    const fresh = cli('--json', short);
    // two long files, one per worker, then short ones that can only go to workers that failed
    const r = cli('--json', '--workers', '2', '--window-limit', '3600', '--single-pass-max', '3600', tenMin, tenMin, short, short, short);
    expect(r.status).toBe(1);
    expect(r.lines.slice(0, 2).map((l) => l.error)).toEqual([expect.stringMatching(/^ran out of memory scoring 600\.0 s/), expect.stringMatching(/^ran out of memory scoring 600\.0 s/)]);
    for (const l of r.lines.slice(2)) expect(l.p_bonafide).toBe(fresh.lines[0].p_bonafide);
  }, 600_000);
});
