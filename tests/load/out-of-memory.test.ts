import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreClip } from '../../src/analysis/score-clip';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { decodeClip } from '../../src/audio/decode';
import {
  OutOfMemoryError,
  isOutOfMemory,
  needsRestart,
  restartBackend,
  setMemoryGuard,
} from '../../src/model/out-of-memory';
import { wav } from '../audio-table';
import { ROOT, runCli, tempDir } from '../helpers';

// Out of memory on a long clip: attention grows with the square of the length, so a 10-minute file
// in one pass would overflow tfjs-wasm's 4 GB heap even on the demo weights. Such a pass is refused
// before it runs; one that hits the limit anyway (the estimate turned off) traps the module, which
// would fail every later call, so the engine must come back with the same scores as before. Both
// in-process, in the CLI and in the CLI's worker pool, each error naming the setting to change.

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
  const noise = Float32Array.from(
    { length: 600 * 16000 },
    () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2,
  );
  writeFileSync(tenMin, wav(noise, 16000));
  short = path.join(dir, 'speech.wav');
  execFileSync('sox', [SPEECH, '-r', '16000', short]);
});

function cli(...args: (string | Record<string, string>)[]) {
  const env = args.find((a): a is Record<string, string> => typeof a === 'object');
  const r = runCli(
    args.filter((a): a is string => typeof a === 'string'),
    { env },
  );
  return { status: r.status, stderr: r.stderr, lines: r.lines.map((l) => JSON.parse(l)) };
}

describe('out of memory', () => {
  it('recognises out-of-memory failures and nothing else', () => {
    expect(isOutOfMemory(new WebAssembly.RuntimeError('memory access out of bounds'))).toBe(true);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('table index is out of bounds'))).toBe(true);
    expect(isOutOfMemory(new WebAssembly.RuntimeError('Aborted(OOM). Build with -sASSERTIONS for more info.'))).toBe(
      true,
    );
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(Object.assign(new Error('x'), { name: 'GPUOutOfMemoryError' }))).toBe(true);
    expect(isOutOfMemory(new OutOfMemoryError(600, 'x'))).toBe(true);
    expect(isOutOfMemory(new Error('not a decodable audio file'))).toBe(false);
    // a file name is part of many messages: "room.wav" must not read as OOM
    expect(isOutOfMemory(new Error('room.wav: not a decodable audio file'))).toBe(false);
    expect(isOutOfMemory(new RangeError('Offset is outside the bounds of the DataView'))).toBe(false);
    expect(isOutOfMemory(new DOMException('Cancelled.', 'AbortError'))).toBe(false);
    expect(isOutOfMemory(null)).toBe(false);
    // only a pass that ran out leaves the engine unusable; a refusal happened before anything ran
    expect(needsRestart(new OutOfMemoryError(600, 'x'))).toBe(true);
    expect(needsRestart(new WebAssembly.RuntimeError('memory access out of bounds'))).toBe(true);
    expect(needsRestart(new OutOfMemoryError(600, 'x', true))).toBe(false);
    expect(needsRestart(new Error('not a decodable audio file'))).toBe(false);
  });

  it('a pass that cannot fit is refused before it runs, with the memory it would need; the engine is untouched, and a 2-minute pass still runs', async () => {
    const model = await loadModelFromDir(DEMO, 'wasm');
    const speech = (await decodeClip(readFileSync(short), short)).wave;
    const before = (await model.score(speech)).pBonafide;
    const wave = (await decodeClip(readFileSync(tenMin), tenMin)).wave;
    const tensors = tf.memory().numTensors;
    const t0 = performance.now();
    const err = await scoreClip(model, wave, { windows: ONE_PASS }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).refused).toBe(true);
    expect((err as Error).message).toMatch(
      /^ran out of memory scoring 600\.0 s of audio in one pass \(it would need about 7\.\d GB of working memory; the wasm engine has about 4\.3 GB beside the weights\)$/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect((await model.score(speech)).pBonafide).toBe(before);
    const two = await scoreClip(model, wave.subarray(0, 120 * 16000), { windows: ONE_PASS });
    expect(two.pSource).toBe('single');
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  }, 600_000);

  it('when a pass does hit the real limit (estimate off): OutOfMemoryError, the trapped backend fails everything after, and a restarted one scores exactly as before', async () => {
    let model = await loadModelFromDir(DEMO, 'wasm');
    const speech = (await decodeClip(readFileSync(short), short)).wave;
    const before = (await model.score(speech)).pBonafide;
    const wave = (await decodeClip(readFileSync(tenMin), tenMin)).wave;
    setMemoryGuard(false);
    try {
      const t0 = performance.now();
      const err = await scoreClip(model, wave, { windows: ONE_PASS }).then(
        () => null,
        (e: unknown) => e,
      );
      console.log(
        `10-minute single pass failed after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(err as Error)?.message}`,
      );
      expect(err).toBeInstanceOf(OutOfMemoryError);
      expect((err as OutOfMemoryError).refused).toBe(false);
      expect((err as Error).message).toMatch(/^ran out of memory scoring 600\.0 s of audio in one pass \(/);
    } finally {
      setMemoryGuard(true);
    }
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

  it('CLI: a refused file gets an error naming the flags to change; the files after it score as in a fresh run', () => {
    const fresh = cli('--json', short);
    expect(fresh.status).toBe(0);
    const r = cli('--json', '--window-limit', '3600', '--single-pass-max', '3600', tenMin, short, tenMin, short);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.lines).toHaveLength(4);
    for (const i of [0, 2]) {
      expect(r.lines[i].file).toBe(tenMin);
      expect(r.lines[i].error).toMatch(
        /^ran out of memory scoring 600\.0 s of audio in one pass \(it would need about .* GB .*\)\. Lower --single-pass-max \(now 3600 s\) or --window-limit \(now 3600 s\) so long files are scored in 4 s windows\.$/,
      );
    }
    for (const i of [1, 3]) expect(r.lines[i].p_bonafide).toBe(fresh.lines[0].p_bonafide);
  }, 600_000);

  it('CLI, estimate off: the file that hit the limit says the engine was restarted; the files after it score as in a fresh run', () => {
    const fresh = cli('--json', short);
    const r = cli('--json', '--window-limit', '3600', '--single-pass-max', '3600', tenMin, short, {
      RAT_MEMORY_GUARD: 'off',
    });
    expect(r.status).toBe(1);
    expect(r.lines[0].error).toMatch(
      /^ran out of memory scoring 600\.0 s of audio in one pass \(.*\); the engine was restarted\. Lower --single-pass-max \(now 3600 s\)/,
    );
    expect(r.lines[1].p_bonafide).toBe(fresh.lines[0].p_bonafide);
  }, 600_000);

  it('CLI worker pool, estimate off: a worker that hit the limit restarts its engine; every short file still scores as in a fresh run', () => {
    const fresh = cli('--json', short);
    // two long files, one per worker, then short ones that can only go to workers that failed
    const r = cli(
      '--json',
      '--workers',
      '2',
      '--window-limit',
      '3600',
      '--single-pass-max',
      '3600',
      tenMin,
      tenMin,
      short,
      short,
      short,
      { RAT_MEMORY_GUARD: 'off' },
    );
    expect(r.status).toBe(1);
    expect(r.lines.slice(0, 2).map((l) => l.error)).toEqual([
      expect.stringMatching(/^ran out of memory scoring 600\.0 s.*memory access out of bounds/),
      expect.stringMatching(/^ran out of memory scoring 600\.0 s.*memory access out of bounds/),
    ]);
    for (const l of r.lines.slice(2)) expect(l.p_bonafide).toBe(fresh.lines[0].p_bonafide);
  }, 600_000);
});
