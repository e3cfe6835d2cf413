import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import {
  CONDITIONS,
  DEFAULT_SEED,
  addNoiseAtSnr,
  conditionReferences,
  energyMatchedNoise,
  gaussianNoise,
  meanSquare,
  truncateTo,
} from '../../src/analysis/conditions';
import { type ConditionResult, runConditions } from '../../src/analysis/run-conditions';
import { loadModelFromDir } from '../../src/cli/node-weights';
import type { RatModel } from '../../src/model/load';
import { FIXTURES, readArrays, relMaxError, tempDir } from '../helpers';

const R = 16000;
const ROOT = path.resolve(__dirname, '../..');

/** A deterministic, speech-like test signal: two tones under a slow envelope. */
function signal(n: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) => 0.3 * Math.sin(i / 7) * (0.5 + 0.5 * Math.sin(i / 3000)) + 0.05 * Math.cos(i / 2.3),
  );
}
const snrDb = (clean: Float32Array, noisy: Float32Array) => {
  const noise = noisy.map((v, i) => v - clean[i]);
  return 10 * Math.log10(meanSquare(clean) / meanSquare(noise));
};

describe('condition waveforms', () => {
  const ref = signal(2.5 * R);

  it('additive noise lands at 20 dB and 10 dB SNR', () => {
    expect(Math.abs(snrDb(ref, addNoiseAtSnr(ref, 20, 1)) - 20)).toBeLessThan(0.01);
    expect(Math.abs(snrDb(ref, addNoiseAtSnr(ref, 10, 1)) - 10)).toBeLessThan(0.01);
    const plan = conditionReferences({ matched: ref, mismatched: null });
    const by = Object.fromEntries(plan.map((c) => [c.spec.id, c]));
    expect(Math.abs(snrDb(ref, by.snr20.reference!) - 20)).toBeLessThan(0.01);
    expect(Math.abs(snrDb(ref, by.snr10.reference!) - 10)).toBeLessThan(0.01);
  });

  it('noise only has the reference energy and length, and is not the reference', () => {
    const n = energyMatchedNoise(ref, 5);
    expect(n.length).toBe(ref.length);
    expect(Math.abs(meanSquare(n) / meanSquare(ref) - 1)).toBeLessThan(1e-5);
    expect(relMaxError(n, ref)).toBeGreaterThan(0.5);
  });

  it('the Gaussian draw looks Gaussian: mean 0, variance 1, 68 % within one sigma', () => {
    const g = gaussianNoise(200_001, 9);
    let mean = 0;
    for (const v of g) mean += v;
    mean /= g.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(meanSquare(g) - 1)).toBeLessThan(0.01);
    expect(Math.abs(g.filter((v) => Math.abs(v) < 1).length / g.length - 0.6827)).toBeLessThan(0.005);
    expect(g.every(Number.isFinite)).toBe(true);
  });

  it('a seed gives the same waveforms bit for bit; another seed other noise', () => {
    const a = conditionReferences({ matched: ref, mismatched: null, seed: 7 });
    const b = conditionReferences({ matched: ref, mismatched: null, seed: 7 });
    const c = conditionReferences({ matched: ref, mismatched: null, seed: 8 });
    for (let i = 0; i < a.length; i++) expect(a[i].reference).toEqual(b[i].reference);
    const noise = (p: typeof a) => p.find((x) => x.spec.id === 'noise')!.reference!;
    expect(noise(a)).not.toEqual(noise(c));
    // the noise conditions do not share one draw
    const snr20 = a.find((x) => x.spec.id === 'snr20')!.reference!.map((v, i) => v - ref[i]);
    expect(Math.abs(snr20[0] / noise(a)[0] - snr20[1] / noise(a)[1])).toBeGreaterThan(1e-3);
  });

  it('truncation keeps exactly the first 1 s and 3 s; silence is zeros of the reference length', () => {
    const long = signal(3.5 * R);
    expect(truncateTo(long, 1)).toEqual(long.slice(0, R));
    expect(truncateTo(long, 3)!.length).toBe(3 * R);
    expect(truncateTo(long.subarray(0, 3 * R), 3)!.length).toBe(3 * R);
    expect(truncateTo(long.subarray(0, 3 * R - 1), 3)).toBeNull();
    const by = Object.fromEntries(conditionReferences({ matched: long, mismatched: ref }).map((c) => [c.spec.id, c]));
    expect(by.trunc1.reference!.length).toBe(R);
    expect(by.trunc3.reference!.length).toBe(3 * R);
    expect(by.silence.reference).toEqual(new Float32Array(long.length));
    expect(by.zero.reference).toBeNull();
    expect(by.matched.reference).toBe(long);
    expect(by.mismatched.reference).toBe(ref);
  });

  it('conditions that cannot run say why, in order, instead of failing', () => {
    const none = conditionReferences({ matched: null, mismatched: null });
    expect(none.map((c) => c.spec.id)).toEqual(CONDITIONS.map((c) => c.id));
    expect(none[0].unavailable).toBeUndefined();
    expect(none.filter((c) => c.unavailable).map((c) => c.spec.id)).toEqual([
      'matched',
      'mismatched',
      'silence',
      'noise',
      'snr20',
      'snr10',
      'trunc1',
      'trunc3',
    ]);
    expect(none[1].unavailable).toMatch(/Choose a reference clip first/);
    expect(none[2].unavailable).toMatch(/Choose a second clip as the mismatched reference/);
    const short = Object.fromEntries(
      conditionReferences({ matched: signal(2.5 * R), mismatched: null }).map((c) => [c.spec.id, c]),
    );
    expect(short.trunc1.unavailable).toBeUndefined();
    expect(short.trunc3.unavailable).toBe(
      'The matched reference is 0:02.5 long, shorter than 3 s: it cannot be cut to 3 s.',
    );
    const tiny = Object.fromEntries(
      conditionReferences({ matched: signal(0.8 * R), mismatched: null }).map((c) => [c.spec.id, c]),
    );
    expect(tiny.trunc1.unavailable).toMatch(/is 0:00\.8 long, shorter than 1 s/);
    // one sample short of 1 s: its length is rounded down, never "0:01.0 long, shorter than 1 s"
    const almost = Object.fromEntries(
      conditionReferences({ matched: signal(R - 1), mismatched: null }).map((c) => [c.spec.id, c]),
    );
    expect(almost.trunc1.unavailable).toMatch(/is 0:00\.9 long, shorter than 1 s/);
    const silent = Object.fromEntries(
      conditionReferences({ matched: new Float32Array(R), mismatched: null }).map((c) => [c.spec.id, c]),
    );
    expect(silent.noise.unavailable).toMatch(/silent/);
    expect(silent.snr10.unavailable).toMatch(/silent/);
    expect(silent.silence.unavailable).toBeUndefined();
  });

  it('every condition has a plain-language caption', () => {
    for (const c of CONDITIONS) expect(c.caption.length).toBeGreaterThan(40);
  });
});

describe('condition scores against PyTorch on the tiny fixture model', () => {
  let model: RatModel;
  let clips: Awaited<ReturnType<typeof readArrays>>;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('conditions');
    await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'tiny') });
    model = await loadModelFromDir(path.join(dir, 'tiny'), 'wasm');
    clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
  });
  afterAll(() => model?.dispose());

  /** The TS-generated references, scored by scripts/reference/score_conditions.py. */
  function pytorch(test: Float32Array, plan: ReturnType<typeof conditionReferences>) {
    const f32 = (name: string, x: Float32Array) => {
      writeFileSync(path.join(dir, name), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      return name;
    };
    const runnable = plan.filter((c) => !c.unavailable);
    const manifest = {
      test: f32('test.f32', test),
      conditions: runnable.map((c) => ({
        id: c.spec.id,
        ref: c.reference ? f32(`${c.spec.id}.f32`, c.reference) : null,
      })),
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const out = execFileSync(
      '/usr/bin/python3',
      [
        path.join(ROOT, 'scripts/reference/score_conditions.py'),
        path.join(FIXTURES, 'tiny/checkpoint.pt'),
        path.join(FIXTURES, 'tiny/golden.json'),
        path.join(dir, 'manifest.json'),
      ],
      { encoding: 'utf8' },
    );
    return JSON.parse(out) as { id: string; p_bonafide: number; attn_rms: number[]; mlp_rms: number[] }[];
  }

  it('all nine conditions: P(bona fide) within 1e-4 and branch RMS within 1e-4 of PyTorch; a rerun is identical', async () => {
    const test = clips.get('speech_front_center')!.data;
    const inputs = {
      matched: clips.get('espeak_6s')!.data,
      mismatched: clips.get('ref_front_left')!.data,
      seed: DEFAULT_SEED,
    };
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const ts = await runConditions(model, test, inputs, { onProgress: (p) => progress.push(p.done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ts.map((c) => c.id)).toEqual(CONDITIONS.map((c) => c.id));
    expect(ts.every((c) => c.unavailable === undefined)).toBe(true);
    const py = pytorch(test, conditionReferences(inputs));
    expect(py.map((c) => c.id)).toEqual(ts.map((c) => c.id));
    for (let i = 0; i < ts.length; i++) {
      expect(Math.abs(ts[i].pBonafide! - py[i].p_bonafide), ts[i].id).toBeLessThan(1e-4);
      expect(relMaxError(ts[i].attnRms!, py[i].attn_rms), ts[i].id).toBeLessThan(1e-4);
      expect(relMaxError(ts[i].mlpRms!, py[i].mlp_rms), ts[i].id).toBeLessThan(1e-4);
    }
    // the conditions really differ: the references change the scores (the tiny model is untrained)
    expect(new Set(ts.map((c) => c.pBonafide!.toFixed(6))).size).toBeGreaterThan(5);
    const again: ConditionResult[] = await runConditions(model, test, inputs);
    expect(again).toEqual(ts);
  }, 120_000);

  it('without a mismatched clip and with a 2 s reference: those conditions say why, the rest still match PyTorch', async () => {
    const test = clips.get('odd_chirp')!.data;
    const inputs = { matched: clips.get('ref_espeak')!.data, mismatched: null };
    const ts = await runConditions(model, test, inputs);
    const missing = ts.filter((c) => c.unavailable).map((c) => c.id);
    expect(missing).toEqual(['mismatched', 'trunc3']); // ref_espeak is 2.1 s
    expect(ts.find((c) => c.id === 'trunc3')!.unavailable).toMatch(/is 0:02\.1 long, shorter than 3 s/);
    const py = pytorch(test, conditionReferences(inputs));
    const ran = ts.filter((c) => !c.unavailable);
    expect(py.map((c) => c.id)).toEqual(ran.map((c) => c.id));
    ran.forEach((c, i) => expect(Math.abs(c.pBonafide! - py[i].p_bonafide), c.id).toBeLessThan(1e-4));
  }, 120_000);

  it('clips too long for one pass: the test clip is refused with the limit, a long reference is named and skipped', async () => {
    const speech = clips.get('speech_front_center')!.data;
    await expect(runConditions(model, speech, { matched: null, mismatched: null }, { maxSeconds: 1 })).rejects.toThrow(
      /The test clip is 0:01\.5 long; the conditions score whole clips, up to 1 s/,
    );
    const ts = await runConditions(
      model,
      speech,
      { matched: clips.get('espeak_6s')!.data, mismatched: null },
      { maxSeconds: 5 },
    );
    expect(ts.find((c) => c.id === 'matched')!.unavailable).toMatch(
      /This reference is 0:06\.\d long, over the 5 s limit/,
    );
    expect(ts.find((c) => c.id === 'trunc3')!.pBonafide).toBeGreaterThan(0);
  });

  it('a mismatched clip too short for the model is named, not fatal', async () => {
    const ts = await runConditions(model, clips.get('speech_front_center')!.data, {
      matched: null,
      mismatched: new Float32Array(100),
    });
    expect(ts.find((c) => c.id === 'mismatched')!.unavailable).toMatch(
      /The reference cannot be used: The clip has 100 samples/,
    );
    expect(ts.find((c) => c.id === 'zero')!.pBonafide).toBeGreaterThan(0);
  });
});
