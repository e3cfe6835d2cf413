import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../scripts/convert-weights/convert-file';
import { type NodeBackend, loadModelFromDir } from '../src/cli/node-weights';
import type { RatModel } from '../src/model/load';
import type { PreparedReference } from '../src/model/rat';
import { FIXTURES, type Golden, readArrays, readGolden, relMaxError, tempDir } from './helpers';

// Parity with PyTorch, shared by tests/unit/parity.test.ts (cpu, wasm) and tests/node/parity-webgpu.test.ts
// (Node WebGPU): every number compared was written by scripts/reference/make_fixtures.py.

const P_ABS = 1e-4;
const LOGIT_REL = 1e-4;
const FEATURE_REL = 1e-4;

type Arrays = Awaited<ReturnType<typeof readArrays>>;
let clips: Arrays;
const converted: Record<string, string> = {};

/** Backend, converted weights (`tiny`, `tiny-safetensors`, `odd`), fixture, and how a prepared reference is laid out. */
export type ParitySuite = [NodeBackend, string, string, 'auto' | 'folded'];

const SOURCES: Record<string, string> = {
  tiny: 'tiny/checkpoint.pt',
  'tiny-safetensors': 'tiny/checkpoint.safetensors',
  odd: 'odd/checkpoint.pt',
};

/** Converts the weights the suites name (with the real converter), then checks every fixture case on each suite. */
export function parityWithPyTorch(suites: ParitySuite[]): void {
  beforeAll(async () => {
    clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
    const out = tempDir('parity');
    for (const name of new Set(suites.map((s) => s[1]))) {
      const golden = readGolden(name.split('-')[0]);
      converted[name] = path.join(out, name);
      await convertFile(path.join(FIXTURES, SOURCES[name]), {
        out: converted[name],
        overrides: golden.convert_config ?? undefined,
      });
    }
  });

  describe.each(suites)(
    'parity with PyTorch on the %s backend: %s, %s reference layout',
    (backend, weights, fixture, layout) => {
      let model: RatModel;
      let golden: Golden;
      let features: Arrays;
      const refs = new Map<string, PreparedReference>();

      beforeAll(async () => {
        golden = readGolden(fixture);
        features = await readArrays(path.join(FIXTURES, fixture, 'features.safetensors'));
        model = await loadModelFromDir(converted[weights], backend);
        expect(tf.getBackend()).toBe(backend);
        expect(model.pass).toBe(backend === 'webgpu' ? 'gpu' : 'generic');
        for (const c of golden.cases) {
          if (c.ref && !refs.has(c.ref))
            refs.set(c.ref, await model.prepareReference(clips.get(c.ref)!.data, { referenceLayout: layout }));
        }
      });
      afterAll(() => {
        refs.forEach((r) => r.dispose());
        model?.dispose();
      });

      it.each(readGolden(fixture).cases.map((c) => [`${c.clip} / ${c.ref_mode} reference`, c] as const))(
        '%s',
        async (_, c) => {
          const last = golden.config.num_layers - 1;
          const s = await model.score(clips.get(c.clip)!.data, {
            reference: c.ref ? refs.get(c.ref) : null,
            diagnostics: true,
            embedding: true,
            probeLayers: [0, last],
          });
          expect(s.refMode).toBe(c.ref_mode);
          expect(s.frames).toBe(c.frames);
          expect(Math.abs(s.pBonafide - c.p_bonafide)).toBeLessThan(P_ABS);
          s.logits.forEach((l, i) =>
            expect(Math.abs(l - c.logits[i])).toBeLessThanOrEqual(LOGIT_REL * Math.abs(c.logits[i])),
          );
          expect(relMaxError(s.embedding!, c.embedding)).toBeLessThan(FEATURE_REL);
          expect(relMaxError(s.probes![0], features.get(`${c.clip}/first`)!.data)).toBeLessThan(FEATURE_REL);
          expect(relMaxError(s.probes![last], features.get(`${c.clip}/last`)!.data)).toBeLessThan(FEATURE_REL);
          expect(relMaxError(s.diagnostics!.attnRms, c.attn_rms)).toBeLessThan(FEATURE_REL);
          expect(relMaxError(s.diagnostics!.mlpRms, c.mlp_rms)).toBeLessThan(FEATURE_REL);
        },
      );
    },
  );
}
