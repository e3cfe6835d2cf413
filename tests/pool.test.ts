import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromDir } from '../src/cli/node-weights';
import { ScoringPool } from '../src/cli/pool';
import type { RatModel } from '../src/model/load';
import { FIXTURES, readArrays } from './helpers';

const DEMO = path.resolve(__dirname, '../public/weights/demo');

describe('worker pool', () => {
  let pool: ScoringPool;
  let model: RatModel;
  let clips: Awaited<ReturnType<typeof readArrays>>;
  beforeAll(async () => {
    clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
    [pool, model] = await Promise.all([ScoringPool.create({ weights: DEMO, workers: 2 }), loadModelFromDir(DEMO, 'wasm')]);
  });
  afterAll(async () => {
    await pool?.close();
    model?.dispose();
  });

  it('scores clips in parallel exactly as one model does, with and without a reference', async () => {
    const names = ['speech_front_center', 'speech_side_right', 'odd_chirp', 'short_noise'];
    const expected: number[] = [];
    for (const n of names) expected.push((await model.score(clips.get(n)!.data)).pBonafide);
    const got = await Promise.all(names.map((n) => pool.score(clips.get(n)!.data.slice())));
    got.forEach((s, i) => expect(s.pBonafide).toBe(expected[i]));

    const refWave = clips.get('ref_espeak')!.data;
    const ref = await model.prepareReference(refWave);
    const withRef = (await model.score(clips.get('speech_front_center')!.data, { reference: ref })).pBonafide;
    ref.dispose();
    await pool.setReference(refWave.slice());
    const both = await Promise.all([0, 1, 2].map(() => pool.score(clips.get('speech_front_center')!.data.slice())));
    both.forEach((s) => { expect(s.refMode).toBe('audio'); expect(s.pBonafide).toBe(withRef); });
    await pool.setReference(null);
    expect((await pool.score(clips.get('speech_front_center')!.data.slice())).pBonafide).toBe(expected[0]);
  });

  it('reports a clip it cannot score by name and keeps working', async () => {
    await expect(pool.score(new Float32Array(100))).rejects.toMatchObject({ name: 'ClipTooShortError', message: expect.stringMatching(/needs at least 400 samples/) });
    expect((await pool.score(clips.get('odd_chirp')!.data.slice())).frames).toBeGreaterThan(0);
  });

  it('fails to start with the reason when the weights folder is missing', async () => {
    await expect(ScoringPool.create({ weights: '/nonexistent/weights', workers: 1 })).rejects.toThrow(/No model.json in \/nonexistent\/weights/);
  });
});
