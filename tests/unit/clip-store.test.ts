import { describe, expect, it } from 'vitest';
import { ClipStore } from '../../src/worker/clip-store';

// The worker's clip store against a fake decoder: a file's samples are decoded once while cached,
// again after they leave the budget, and the budget holds however many clips pass through.

const SECOND = 16000 * 4;

function store(budget: number) {
  const calls: string[] = [];
  const clips = new ClipStore(async (name, file) => {
    calls.push(name);
    return new Float32Array((await file.arrayBuffer()).byteLength / 4);
  }, budget);
  // a file whose decoded waveform has the bytes of the file: seconds * SECOND
  const file = (seconds: number) => new Blob([new Uint8Array(seconds * SECOND)]);
  return { clips, calls, file };
}

describe('ClipStore', () => {
  it('keeps decoded waveforms under the budget, the newest first, and decodes an evicted one again', async () => {
    const { clips, calls, file } = store(3 * SECOND);
    for (let i = 0; i < 100; i++) {
      const f = file(1);
      clips.set(`c${i}`, { kind: 'file', name: `c${i}`, file: f }, new Float32Array(SECOND / 4));
      expect(clips.stats().cachedBytes).toBeLessThanOrEqual(3 * SECOND);
    }
    expect(clips.stats()).toEqual({ clips: 100, cached: 3, cachedBytes: 3 * SECOND });
    expect(calls).toEqual([]);
    // the three newest are cached; the first was evicted long ago
    await clips.wave('c99');
    expect(calls).toEqual([]);
    expect((await clips.wave('c0'))!.length).toBe(SECOND / 4);
    expect(calls).toEqual(['c0']);
    // c0 is now the newest: c97 (least recently used) left
    await clips.wave('c0');
    expect(calls).toEqual(['c0']);
    await clips.wave('c97');
    expect(calls).toEqual(['c0', 'c97']);
  });

  it('keeps the latest waveform even when it alone is over the budget, and only that one', async () => {
    const { clips, file } = store(2 * SECOND);
    clips.set('short', { kind: 'file', name: 'short', file: file(1) }, new Float32Array(SECOND / 4));
    clips.set('long', { kind: 'file', name: 'long', file: file(5) }, new Float32Array((5 * SECOND) / 4));
    expect(clips.stats()).toEqual({ clips: 2, cached: 1, cachedBytes: 5 * SECOND });
  });

  it('decodes a clip once for requests that arrive together', async () => {
    const { clips, calls, file } = store(0);
    clips.set('a', { kind: 'file', name: 'a', file: file(1) });
    const [x, y] = await Promise.all([clips.wave('a'), clips.wave('a')]);
    expect(calls).toEqual(['a']);
    expect(x).toBe(y);
  });

  it('keeps nothing of a clip forgotten while it decoded, and answers null for an unknown clip', async () => {
    const { clips, file } = store(10 * SECOND);
    clips.set('a', { kind: 'file', name: 'a', file: file(1) });
    const pending = clips.wave('a');
    clips.delete('a');
    expect((await pending)!.length).toBe(SECOND / 4);
    expect(clips.stats()).toEqual({ clips: 0, cached: 0, cachedBytes: 0 });
    expect(await clips.wave('a')).toBeNull();
  });

  it('keeps a waveform the page decoded outside the budget: it has no file to decode again', async () => {
    const { clips, calls } = store(0);
    const wave = new Float32Array(16000);
    clips.set('pcm', { kind: 'wave', wave });
    expect(await clips.wave('pcm')).toBe(wave);
    expect(calls).toEqual([]);
    expect(clips.stats().cached).toBe(0);
  });
});
