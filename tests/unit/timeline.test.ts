import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { type ClipProgress, WindowOptionsError, scoreClip } from '../../src/analysis/score-clip';
import {
  DEFAULT_WINDOWS,
  type WindowOptions,
  needsWindows,
  planWindows,
  summariseWindows,
  windowOptionProblems,
} from '../../src/analysis/windows';
import { loadModelFromDir } from '../../src/cli/node-weights';
import type { RatModel } from '../../src/model/load';
import { FIXTURES, readArrays, tempDir } from '../helpers';

const R = 16000;
const opts = (o: Partial<WindowOptions>): WindowOptions => ({ ...DEFAULT_WINDOWS, ...o });

describe('window planning', () => {
  it('an exact multiple of the hop ends on the last full window, with no extra tail window', () => {
    expect(planWindows(10 * R, R)).toEqual([0, 2, 4, 6].map((s) => ({ start: s * R, end: (s + 4) * R })));
  });

  it('a tail that the hops miss gets a last window aligned to the end', () => {
    const spans = planWindows(11 * R, R);
    expect(spans.map((s) => s.start / R)).toEqual([0, 2, 4, 6, 7]);
    expect(spans[spans.length - 1]).toEqual({ start: 7 * R, end: 11 * R });
  });

  it('a clip no longer than one window is one span of the whole clip', () => {
    expect(planWindows(3 * R, R)).toEqual([{ start: 0, end: 3 * R }]);
    expect(planWindows(4 * R, R)).toEqual([{ start: 0, end: 4 * R }]);
    expect(planWindows(1, R)).toEqual([{ start: 0, end: 1 }]);
  });

  it('windows only past the limit (12 s by default)', () => {
    expect(needsWindows(12 * R, R)).toBe(false);
    expect(needsWindows(12 * R + 1, R)).toBe(true);
    expect(needsWindows(5 * R, R, opts({ limitSeconds: 4.5 }))).toBe(true);
  });

  it('any clip and any usable options: equal-length windows that cover every sample, hop-spaced but for the tail', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 * R }),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        (n, win, hopFrac) => {
          const o = opts({ windowSeconds: win, hopSeconds: Math.max(0.1, win * hopFrac) });
          fc.pre(windowOptionProblems(o).length === 0);
          const spans = planWindows(n, R, o);
          const w = Math.round(win * R);
          const hop = Math.round(o.hopSeconds * R);
          expect(spans[0].start).toBe(0);
          expect(spans[spans.length - 1].end).toBe(n);
          for (let i = 0; i < spans.length; i++) {
            expect(spans[i].end - spans[i].start).toBe(Math.min(w, n));
            if (i > 0) expect(spans[i].start).toBeLessThanOrEqual(spans[i - 1].end); // no gap
            if (i > 0 && i < spans.length - 1) expect(spans[i].start - spans[i - 1].start).toBe(hop);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('names each bad option in words', () => {
    expect(windowOptionProblems(DEFAULT_WINDOWS)).toEqual([]);
    expect(windowOptionProblems(opts({ windowSeconds: -1 }))).toEqual([
      'the window length must be a positive number of seconds (got -1)',
      'the hop (2 s) must not exceed the window (-1 s), or audio between windows goes unscored',
    ]);
    expect(windowOptionProblems(opts({ hopSeconds: NaN }))).toEqual([
      'the hop must be a positive number of seconds (got NaN)',
    ]);
    expect(windowOptionProblems(opts({ limitSeconds: 0 }))).toEqual([
      'the windowing limit must be a positive number of seconds (got 0)',
    ]);
    expect(windowOptionProblems(opts({ singlePassMaxSeconds: -3 }))).toEqual([
      'the single-pass maximum must be 0 or more seconds (got -3)',
    ]);
    expect(windowOptionProblems(opts({ hopSeconds: 5 }))).toEqual([
      'the hop (5 s) must not exceed the window (4 s), or audio between windows goes unscored',
    ]);
    expect(windowOptionProblems(opts({ hopSeconds: 0.01 }))).toEqual(['the hop must be at least 0.1 s (got 0.01)']);
    expect(windowOptionProblems(opts({ windowSeconds: 0.05, hopSeconds: 0.05 }))).toHaveLength(2);
  });
});

describe('window summary', () => {
  it('mean, minimum and the fraction strictly below 0.5', () => {
    const s = summariseWindows([0.9, 0.5, 0.2, 0.4999, 1].map((p, i) => ({ start: i, end: i + 4, pBonafide: p })));
    expect(s.meanP).toBeCloseTo((0.9 + 0.5 + 0.2 + 0.4999 + 1) / 5, 12);
    expect(s.minP).toBe(0.2);
    expect(s.fractionBelowHalf).toBe(2 / 5);
    expect(() => summariseWindows([])).toThrow(/no windows/);
  });
});

describe('scoring a long clip on the tiny fixture model (wasm)', () => {
  let model: RatModel;
  let long: Float32Array;
  beforeAll(async () => {
    const dir = tempDir('timeline');
    await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'tiny') });
    model = await loadModelFromDir(path.join(dir, 'tiny'), 'wasm');
    const clips = await readArrays(path.join(FIXTURES, 'clips.safetensors'));
    // 9.6 s of real speech and noise, repeated: every window differs from its neighbours
    const parts = [...clips.values()].map((c) => c.data);
    const n = parts.reduce((a, p) => a + p.length, 0);
    long = new Float32Array(n);
    let at = 0;
    for (const p of parts) {
      long.set(p, at);
      at += p.length;
    }
  });
  afterAll(() => model?.dispose());

  const small: WindowOptions = { limitSeconds: 3, windowSeconds: 2, hopSeconds: 1.5, singlePassMaxSeconds: 30 };

  it('each window scores exactly as its slice scored directly; the single pass is the whole clip', async () => {
    const r = await scoreClip(model, long, { windows: small, diagnostics: true });
    const spans = planWindows(long.length, R, small);
    expect(r.timeline!.windows).toHaveLength(spans.length);
    expect(spans.length).toBeGreaterThan(3);
    for (let i = 0; i < spans.length; i++) {
      const direct = await model.score(long.slice(spans[i].start, spans[i].end));
      expect(r.timeline!.windows[i].start).toBe(spans[i].start / R);
      expect(r.timeline!.windows[i].end).toBe(spans[i].end / R);
      expect(r.timeline!.windows[i].pBonafide).toBe(direct.pBonafide);
    }
    const whole = await model.score(long);
    expect(r.pSource).toBe('single');
    expect(r.pBonafide).toBe(whole.pBonafide);
    expect(r.single!.diagnostics!.attnRms).toHaveLength(model.config.numLayers);
    const ps = r.timeline!.windows.map((w) => w.pBonafide);
    expect(r.timeline!.meanP).toBeCloseTo(ps.reduce((a, b) => a + b) / ps.length, 12);
    expect(new Set(ps).size).toBeGreaterThan(1);
  });

  it('past the single-pass maximum the headline is the window mean, and says so', async () => {
    const r = await scoreClip(model, long, { windows: { ...small, singlePassMaxSeconds: 5 } });
    expect(r.single).toBeNull();
    expect(r.pSource).toBe('window_mean');
    expect(r.pBonafide).toBe(r.timeline!.meanP);
  });

  it('a short clip is one pass with no timeline', async () => {
    const r = await scoreClip(model, long.subarray(0, 2 * R));
    expect(r.timeline).toBeNull();
    expect(r.pSource).toBe('single');
    expect(r.pBonafide).toBe((await model.score(long.slice(0, 2 * R))).pBonafide);
  });

  it('reuses one prepared reference for every window: the same numbers as scoring each slice with it', async () => {
    const ref = await model.prepareReference(long.subarray(R, 3 * R));
    try {
      const r = await scoreClip(model, long, { windows: { ...small, singlePassMaxSeconds: 0 }, reference: ref });
      const spans = planWindows(long.length, R, small);
      for (const i of [0, spans.length - 1]) {
        const direct = await model.score(long.slice(spans[i].start, spans[i].end), { reference: ref });
        expect(r.timeline!.windows[i].pBonafide).toBe(direct.pBonafide);
      }
    } finally {
      ref.dispose();
    }
  });

  it('reports window i of n, keeps the tensor count flat from window to window, and stops on cancel', async () => {
    const seen: ClipProgress[] = [];
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const run = scoreClip(model, long, {
      windows: { ...small, singlePassMaxSeconds: 0 },
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.layer === 1) counts.push(tf.memory().numTensors);
        if (p.window === 4 && p.layer === 2) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    const n = planWindows(long.length, R, small).length;
    expect(seen[0]).toMatchObject({ phase: 'window', window: 1, windows: n, layer: 1 });
    expect(Math.max(...seen.map((p) => p.window!))).toBe(4);
    expect(new Set(counts).size).toBe(1); // every window starts from the same number of tensors
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses unusable window settings before scoring anything', async () => {
    await expect(scoreClip(model, long, { windows: { ...small, hopSeconds: 3 } })).rejects.toThrow(WindowOptionsError);
    await expect(scoreClip(model, long, { windows: { ...small, hopSeconds: 3 } })).rejects.toThrow(
      /hop \(3 s\) must not exceed the window \(2 s\)/,
    );
  });
});
