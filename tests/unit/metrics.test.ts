import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricsError, computeMetrics, histogram, probit } from '../../src/analysis/metrics';
import { FIXTURES } from '../helpers';

// EER and minDCF against scripts/reference/metrics_reference.py (a brute-force count per threshold in
// Python), on fixed score lists with ties, tiny sets, all-equal scores and perfect separation.

interface Case {
  name: string;
  bonafide: number[];
  spoof: number[];
  eer: number;
  eer_threshold: number;
  min_dcf: number;
  min_dcf_threshold: number;
}
const ref: { cases: Case[] } = JSON.parse(readFileSync(path.join(FIXTURES, 'metrics.json'), 'utf8'));

describe('EER and minDCF', () => {
  it.each(ref.cases.map((c) => [c.name, c] as const))('%s: equal to the Python reference', (_, c) => {
    const m = computeMetrics(c.bonafide, c.spoof);
    expect(m.eer).toBeCloseTo(c.eer, 12);
    expect(m.eerThreshold).toBe(c.eer_threshold);
    expect(m.minDcf).toBeCloseTo(c.min_dcf, 12);
    expect(m.minDcfThreshold).toBe(c.min_dcf_threshold);
    expect(m.nBonafide).toBe(c.bonafide.length);
    expect(m.nSpoof).toBe(c.spoof.length);
  });

  it('covers the edge cases the spec asks for', () => {
    const byName = new Map(ref.cases.map((c) => [c.name, c]));
    expect(byName.get('perfect separation')!.eer).toBe(0);
    expect(byName.get('all scores equal')!.eer).toBe(0.5);
    expect(byName.get('one bona fide and one spoof, inverted')!.eer).toBe(1);
    expect(ref.cases.length).toBeGreaterThanOrEqual(10);
  });

  it('does not depend on the order of the scores, and stays within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (b, s) => {
          const a = computeMetrics(b, s);
          const r = computeMetrics([...b].reverse(), [...s].reverse());
          expect(r.eer).toBe(a.eer);
          expect(r.minDcf).toBe(a.minDcf);
          expect(a.eer).toBeGreaterThanOrEqual(0);
          expect(a.eer).toBeLessThanOrEqual(1);
          expect(a.det.length).toBe(new Set([...b, ...s]).size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a missing class or a non-finite score, saying which', () => {
    expect(() => computeMetrics([0.4], [])).toThrow(MetricsError);
    expect(() => computeMetrics([], [0.4])).toThrow(
      /at least one bona fide and one spoof score \(got 0 bona fide, 1 spoof\)/,
    );
    expect(() => computeMetrics([NaN], [0.4])).toThrow(/finite number \(got NaN\)/);
  });

  it('probit inverts the normal CDF', () => {
    expect(probit(0.5)).toBeCloseTo(0, 9);
    expect(probit(0.975)).toBeCloseTo(1.959963985, 6);
    expect(probit(0.001)).toBeCloseTo(-3.090232306, 6);
    expect(probit(0)).toBe(-Infinity);
  });

  it('histogram puts every score in a bin, 1.0 in the last', () => {
    const h = histogram([0, 0.05, 0.5, 0.999, 1], 20);
    expect(h.reduce((a, b) => a + b)).toBe(5);
    expect(h[0]).toBe(1);
    expect(h[1]).toBe(1);
    expect(h[10]).toBe(1);
    expect(h[19]).toBe(2);
  });
});
