import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { FIXTURES, tempDir } from '../helpers';

// Random mutations of a good model.json: each is loaded and scores as the original, or refused
// quickly; the process's peak memory stays bounded across all of them.

const runs = Number(process.env.FUZZ_RUNS ?? 60);
let dir: string;
let good: Record<string, unknown>;
let reference: number;
const wave = Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i / 9) * 0.3);

beforeAll(async () => {
  dir = tempDir('manifest-prop');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'good') });
  good = JSON.parse(readFileSync(path.join(dir, 'good', 'model.json'), 'utf8'));
  const m = await loadModelFromDir(path.join(dir, 'good'), 'cpu', { warmup: false });
  reference = (await m.score(wave)).pBonafide;
  m.dispose();
});

// sizes only: a different eps is a different (valid) model, not a hostile one; invalid eps values are in 'replace'
const KEYS = ['embedDim', 'numLayers', 'numHeads', 'ffnDim', 'posConvKernel', 'posConvGroups', 'ribHeads', 'ribMlpDim'];

/** One mutation of the config or of a listed shape. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('scale'),
    key: fc.constantFrom(...KEYS),
    by: fc.constantFrom(2, 10, 1e3, 1e6, 1e9, -1, 0.5, 1.5),
  }),
  fc.record({
    kind: fc.constant('replace'),
    key: fc.constantFrom(...KEYS, 'eps', 'convLayers', 'classifierDims'),
    value: fc.constantFrom(null, '64', -3, 0, 2.5, [], {}, 1e300, Number.MAX_SAFE_INTEGER),
  }),
  fc.record({ kind: fc.constant('delete'), key: fc.constantFrom(...KEYS, 'eps', 'convLayers', 'classifierDims') }),
  fc.record({
    kind: fc.constant('conv'),
    layer: fc.nat(6),
    field: fc.nat(2),
    value: fc.constantFrom(0, -1, 1e9, 2 ** 31, 3.5),
  }),
  fc.record({ kind: fc.constant('layers'), extra: fc.integer({ min: 1, max: 1e9 }) }),
  fc.record({ kind: fc.constant('shape'), group: fc.nat(10), value: fc.constantFrom(2 ** 40, -1, 1e9, 0) }),
);

describe('model.json mutations', () => {
  it('are loaded and score as the original, or refused within 2 s, with bounded memory', async () => {
    const rss0 = process.memoryUsage().rss;
    let n = 0;
    const outcomes = { same: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        const folder = path.join(dir, `m${n++}`);
        cpSync(path.join(dir, 'good'), folder, { recursive: true });
        const m = structuredClone(good) as {
          config: Record<string, unknown>;
          weightsManifest: { weights: { shape: number[] }[] }[];
        };
        for (const x of muts) {
          if (x.kind === 'scale') m.config[x.key] = (m.config[x.key] as number) * x.by;
          else if (x.kind === 'replace') m.config[x.key] = x.value;
          else if (x.kind === 'delete') delete m.config[x.key];
          else if (x.kind === 'conv') {
            const c = m.config.convLayers as number[][];
            if (Array.isArray(c) && c[x.layer]) c[x.layer][x.field] = x.value;
          } else if (x.kind === 'layers') m.config.numLayers = (m.config.numLayers as number) + x.extra;
          else {
            const g = m.weightsManifest[x.group % m.weightsManifest.length];
            g.weights[0].shape = [x.value, ...g.weights[0].shape.slice(1)];
          }
        }
        writeFileSync(path.join(folder, 'model.json'), JSON.stringify(m));
        const t = performance.now();
        const model = await loadModelFromDir(folder, 'cpu', { warmup: false }).catch((e: Error) => e);
        const ms = performance.now() - t;
        if (model instanceof Error) {
          expect(model.message, JSON.stringify(muts)).toMatch(/model\.json|Weight shard/);
          expect(ms, JSON.stringify(muts)).toBeLessThan(2000);
          outcomes.refused++;
          return;
        }
        // loaded: only mutations that changed nothing the weights depend on get here
        const p = (await model.score(wave)).pBonafide;
        model.dispose();
        expect(Math.abs(p - reference), JSON.stringify(muts)).toBeLessThan(1e-9);
        outcomes.same++;
      }),
      { numRuns: runs, seed: 20261128 },
    );
    const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
    console.log(
      `model.json mutations: ${outcomes.refused} refused, ${outcomes.same} loaded and scored as the original; RSS grew ${grown.toFixed(0)} MB`,
    );
    expect(grown).toBeLessThan(300);
    expect(outcomes.refused).toBeGreaterThan(runs / 2);
  }, 300_000);
});
