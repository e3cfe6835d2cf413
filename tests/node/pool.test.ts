import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { ScoringPool } from '../../src/cli/pool';
import type { RatModel } from '../../src/model/load';
import { FIXTURES, ROOT, readArrays, runCli, tempDir } from '../helpers';

const DEMO = path.join(ROOT, 'public/weights/demo');
const ALSA = '/usr/share/sounds/alsa';

function cli(args: string[]) {
  const r = runCli(args);
  return { status: r.status, lines: r.lines.map((l) => JSON.parse(l)), stderr: r.stderr };
}

describe('worker pool', () => {
  let pool: ScoringPool;
  let model: RatModel;
  let clips: Awaited<ReturnType<typeof readArrays>>;
  beforeAll(async () => {
    clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
    [pool, model] = await Promise.all([
      ScoringPool.create({ weights: DEMO, workers: 2 }),
      loadModelFromDir(DEMO, 'wasm'),
    ]);
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
    both.forEach((s) => {
      expect(s.refMode).toBe('audio');
      expect(s.pBonafide).toBe(withRef);
    });
    await pool.setReference(null);
    expect((await pool.score(clips.get('speech_front_center')!.data.slice())).pBonafide).toBe(expected[0]);
  });

  it('reports a clip it cannot score by name and keeps working', async () => {
    await expect(pool.score(new Float32Array(100))).rejects.toMatchObject({
      name: 'ClipTooShortError',
      message: expect.stringMatching(/needs at least 400 samples/),
    });
    expect((await pool.score(clips.get('odd_chirp')!.data.slice())).frames).toBeGreaterThan(0);
  });

  it('fails to start with the reason when the weights folder is missing', async () => {
    await expect(ScoringPool.create({ weights: '/nonexistent/weights', workers: 1 })).rejects.toThrow(
      /No model.json in \/nonexistent\/weights/,
    );
  });
});

describe('score CLI --workers', () => {
  it('gives the same scores in the same order as one worker, a bad file included, with a reference', () => {
    const dir = tempDir('workers');
    const bad = path.join(dir, 'bad.wav');
    writeFileSync(bad, 'not audio');
    const files = ['Front_Center', 'Front_Left', 'Noise', 'Rear_Right', 'Side_Left'].map((f) => `${ALSA}/${f}.wav`);
    const args = ['--json', '--ref', `${ALSA}/Side_Right.wav`, files[0], bad, ...files.slice(1)];
    const one = cli(args);
    const two = cli(['--workers', '2', ...args]);
    expect(two.status).toBe(1);
    expect(two.lines.map((l) => l.file)).toEqual(one.lines.map((l) => l.file));
    two.lines.forEach((l, i) => {
      if (one.lines[i].error) expect(l.error).toBe(one.lines[i].error);
      else {
        expect(l.ref_mode).toBe('audio');
        expect(l.p_bonafide).toBe(one.lines[i].p_bonafide);
      }
    });
    expect(two.lines.filter((l) => l.error)).toHaveLength(1);
    expect(cli(['--workers', '0', files[0]]).stderr).toMatch(/--workers.*whole number from 1 to 64/);
  });
});
