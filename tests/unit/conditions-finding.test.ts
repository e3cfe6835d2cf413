import { describe, expect, it } from 'vitest';
import { PAPER_FINDING, PAPER_RATIO, conditionsFinding } from '../../src/analysis/conditions';

// The teaching panel's captions: the paper's finding stated as the trained model's, then what the
// loaded weights did in this run, from made-up condition results.

const cond = (label: string, pBonafide: number | undefined, ratio: number, layers = 4) => ({
  label,
  pBonafide,
  attnRms: Array.from({ length: layers }, (_, l) => ratio * (l + 1)),
  mlpRms: Array.from({ length: layers }, (_, l) => l + 1),
});

describe('the conditions finding', () => {
  it("states the paper's finding as the trained model's, not the loaded weights'", () => {
    expect(PAPER_FINDING).toMatch(/in the trained RAT model/);
    expect(PAPER_FINDING).toMatch(/ratio ≈ 0\.02/);
    expect(PAPER_FINDING).toMatch(/Other weights need not behave so/);
    expect(PAPER_FINDING).not.toMatch(/essentially unchanged/);
    expect(PAPER_RATIO).toBe(0.02);
  });

  it('weights that behave otherwise: the spread, the two ends, the ratio against 0.02, and why', () => {
    const results = [
      cond('Zero vector', 0.47, 0.5),
      cond('Matched reference', 0.86, 1.5),
      cond('Silence', 0.91, 1.7),
      { label: 'Reference cut to 3 s', unavailable: 'too short' },
    ];
    const demo = conditionsFinding(results, { demo: true });
    expect(demo.paperLike).toBe(false);
    expect(demo.spread).toBeCloseTo(0.44, 10);
    expect(demo.score).toBe(
      'These weights move the score by up to 0.44 across the 3 conditions (0.47 with zero vector, 0.91 with silence), unlike the trained model in the paper, whose score the reference barely moves.',
    );
    expect(demo.meanRatio).toBeCloseTo((0.5 + 1.5 + 1.7) / 3, 10);
    expect(demo.maxRatio).toBeCloseTo(1.7, 10);
    expect(demo.ratio).toBe(
      "Their attention branch averages 1.2 of the MLP branch (up to 1.7 on one layer), about 62 times the trained model's 0.02 (the dashed line): here the reference channel is connected.",
    );
    expect(demo.why).toMatch(/^These are the demo weights: seeded and untrained/);
    // other weights that differ: said to be another model, not the paper's
    const other = conditionsFinding(results, { demo: false });
    expect(other.score).toBe(demo.score);
    expect(other.why).toMatch(/behave otherwise than the paper's trained model/);
  });

  it("weights that behave as the paper's trained model: a small spread, a ratio near 0.02, no excuse", () => {
    const f = conditionsFinding(
      [
        cond('Zero vector', 0.9312, 0.019, 24),
        cond('Matched reference', 0.9331, 0.021, 24),
        cond('Noise only', 0.9298, 0.022, 24),
      ],
      { demo: false },
    );
    expect(f.paperLike).toBe(true);
    expect(f.score).toBe(
      'These weights move the score by at most 0.0033 across the 3 conditions (0.9298 with noise only, 0.9331 with matched reference), as the paper found for its trained model: here too the reference barely matters.',
    );
    expect(f.ratio).toBe(
      "Their attention branch averages 0.021 of the MLP branch (up to 0.022 on one layer), near the trained model's 0.02 (the dashed line): the reference channel is all but disconnected, as in the paper.",
    );
    expect(f.why).toBeNull();
  });

  it('a small spread with a large branch is not the paper: each half says what it saw', () => {
    const f = conditionsFinding([cond('Zero vector', 0.5, 0.4), cond('Silence', 0.51, 0.6)], { demo: false });
    expect(f.paperLike).toBe(false);
    expect(f.score).toMatch(/^These weights move the score by at most 0\.0100 .* as the paper found/);
    expect(f.ratio).toMatch(/about 25 times the trained model's 0\.02/);
    expect(f.why).not.toBeNull();
  });

  it('with one condition run there is nothing to compare yet', () => {
    const f = conditionsFinding(
      [cond('Zero vector', 0.5, 0.4), { label: 'Matched reference', unavailable: 'no reference' }],
      { demo: true },
    );
    expect(f.spread).toBeNull();
    expect(f.paperLike).toBe(false);
    expect(f.score).toMatch(/^Only one condition ran, so there is nothing to compare yet/);
    expect(f.why).toMatch(/demo weights/);
  });
});
