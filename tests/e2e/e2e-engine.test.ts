import { describe, expect, it } from 'vitest';
import { useApp } from '../browser';

// The timed engine probe where both engines are real. This machine has only a software adapter,
// which the app passes over without a probe; the fault-injection build's ?probe=software probes it
// as if it were a GPU, so the probe, its choice and its words are exercised here.

const app = useApp({ build: 'dist-faults' });

describe('engine choice by a timed probe', () => {
  it('times both engines at start, runs the faster and says by how much', async () => {
    const page = await app.open({ query: '?faults=1&probe=software' });
    const reason = (await page.getByTestId('backend-reason').textContent()) ?? '';
    const m =
      /(WebGPU|WASM), (?:(\d+(?:\.\d)?)x faster than|as fast as) (WebGPU|WASM) here \(a timed probe at start: (\d+) ms against (\d+) ms\)/.exec(
        reason,
      );
    expect(m, reason).not.toBeNull();
    const [, winner, ratio, loser, winMs, loseMs] = m!;
    expect(winner).not.toBe(loser);
    expect(Number(winMs)).toBeLessThanOrEqual(Number(loseMs));
    if (ratio) expect(Math.abs(Number(ratio) - Number(loseMs) / Math.max(1, Number(winMs)))).toBeLessThan(0.6);
    // the engine that runs is the one the probe named
    expect(await page.getByTestId('backend').textContent()).toBe(winner.toLowerCase());
    // a software adapter emulates the GPU on these two cores: WASM wins
    expect(winner).toBe('WASM');
    // a forced engine is not probed
    await page.goto(`${app.url}?faults=1&probe=software&backend=webgpu`);
    await expect
      .poll(() => page.getByTestId('backend-reason').textContent(), { timeout: 120_000 })
      .toMatch(/\(WebGPU was requested/);
    await page.close();
  });
});
