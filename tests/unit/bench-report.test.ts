import { describe, expect, it } from 'vitest';
import {
  formatMs,
  kernelTotals,
  median,
  realTimeFactor,
  renderKernels,
  renderMarkdown,
  renderTable,
  timedTable,
} from '../../scripts/bench/report';

describe('benchmark report helpers', () => {
  it('median of odd and even counts, unsorted input untouched', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('real-time factor and time formatting', () => {
    expect(realTimeFactor(2000, 4)).toBe(0.5);
    expect(formatMs(950)).toBe('950 ms');
    expect(formatMs(2345)).toBe('2.35 s');
    expect(formatMs(12345)).toBe('12.3 s');
  });

  it('puts PyTorch first and computes ratios and |dP| against the matching PyTorch row', () => {
    const t = timedTable(
      [
        { backend: 'Node', seconds: 4, ref: 'zero', medianMs: 6000, pBonafide: 0.5001, memory: '1.7 GB' },
        { backend: 'PyTorch', seconds: 4, ref: 'zero', medianMs: 2000, pBonafide: 0.5, memory: '' },
        { backend: 'Node', seconds: 12, ref: 'audio', medianMs: 100, pBonafide: 0.2, memory: '' },
      ],
      'PyTorch',
    );
    expect(t[1][0]).toBe('PyTorch');
    expect(t[1][4]).toBe('1.00');
    expect(t[2][4]).toBe('3.00');
    expect(t[2][5]).toBe('1.50');
    expect(Number(t[2][6])).toBeCloseTo(1e-4, 8);
    expect(t[3][4]).toBe('-'); // no PyTorch row for 12 s audio
    const text = renderTable(t);
    expect(text.split('\n')).toHaveLength(5);
    expect(text.split('\n')[0]).toMatch(/^backend \| clip/);
    expect(renderMarkdown(t).split('\n')[1]).toBe(`|${' --- |'.repeat(9)}`);
  });

  it('totals kernels of a profile, skipping op wrappers and failed timings, with matrix products in GFLOP/s', () => {
    const t = kernelTotals([
      {
        name: '_FusedMatMul',
        kernelTimeMs: 2,
        inputShapes: [
          [100, 1000],
          [1000, 10],
        ],
        outputShapes: [[100, 10]],
      },
      {
        name: '_FusedMatMul',
        kernelTimeMs: 2,
        inputShapes: [
          [100, 1000],
          [1000, 10],
        ],
        outputShapes: [[100, 10]],
      },
      { name: 'Softmax', kernelTimeMs: 1, inputShapes: [[100, 10]], outputShapes: [[100, 10]] },
      { name: 'matMul__op', kernelTimeMs: 4, inputShapes: [], outputShapes: [] },
      { name: 'Add', kernelTimeMs: { error: 'timer unavailable' }, inputShapes: [], outputShapes: [] },
    ]);
    expect(t.map((k) => k.name)).toEqual(['_FusedMatMul', 'Softmax']);
    expect(t[0]).toMatchObject({ ms: 4, calls: 2, percent: 80 });
    expect(t[0].gflops).toBeCloseTo((2 * 2 * 100 * 10 * 1000) / 4 / 1e6, 12); // 2 products of 2 M flops in 4 ms
    expect(t[1].gflops).toBeNull();
    const lines = renderKernels(t, 1);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('all kernels 5 ms');
  });
});
