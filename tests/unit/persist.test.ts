import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSaved, toSaved } from '../../src/ui/persist';

// The stored form of a results row: what is saved comes back unchanged after a structured clone
// (what IndexedDB does), and anything else read from storage is dropped rather than shown.

const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const row = fc
  .record({
    key: fc.string({ minLength: 1, maxLength: 40 }),
    file: fc.string({ maxLength: 40 }),
    seconds: fc.option(fc.double({ min: 0, max: 7200, noNaN: true })),
    p: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
    refMode: fc.constantFrom('zero' as const, 'audio' as const),
    ref: fc.option(fc.string({ maxLength: 20 })),
    weights: fc.record({ label: fc.string({ maxLength: 30 }), sha256: fc.option(sha), demo: fc.boolean() }),
    audioSha256: fc.option(sha),
    backend: fc.option(fc.constantFrom('webgpu', 'wasm'), { nil: undefined }),
    elapsedMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
    error: fc.string({ minLength: 1, maxLength: 60 }),
    refSha256: fc.option(sha, { nil: undefined }),
    scoredAt: fc.option(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      { nil: undefined },
    ),
    windows: fc.option(
      fc.record({
        limitSeconds: fc.integer({ min: 1, max: 7200 }),
        windowSeconds: fc.integer({ min: 1, max: 60 }),
        hopSeconds: fc.integer({ min: 1, max: 60 }),
        singlePassMaxSeconds: fc.integer({ min: 0, max: 7200 }),
      }),
      { nil: undefined },
    ),
    span: fc.option(
      fc
        .tuple(fc.double({ min: 0, max: 7200, noNaN: true }), fc.double({ min: 0.025, max: 7200, noNaN: true }))
        .map(([start, length]) => ({ start, end: start + length })),
      { nil: undefined },
    ),
  })
  .map((r) => ({
    key: r.key,
    file: r.file,
    seconds: r.seconds,
    pBonafide: r.p,
    verdict: r.p == null ? null : r.p >= 0.5 ? ('bonafide' as const) : ('spoof' as const),
    refMode: r.refMode,
    ref: r.ref,
    weights: r.weights,
    audioSha256: r.audioSha256,
    backend: r.backend,
    elapsedMs: r.elapsedMs,
    error: r.p == null ? r.error : undefined,
    refSha256: r.refSha256,
    scoredAt: r.scoredAt,
    windows: r.windows,
    span: r.span,
  }));

const TIMELINE = {
  windows: [
    { start: 0, end: 4, pBonafide: 0.25 },
    { start: 2, end: 6, pBonafide: 0.75 },
  ],
  meanP: 0.5,
  minP: 0.25,
  fractionBelowHalf: 0.5,
};

describe('saved results rows', () => {
  it("keep a long file's timeline, its logits and the no-signal flag", () => {
    const saved = toSaved(
      {
        key: 'k',
        file: 'long.wav',
        seconds: 6,
        pBonafide: 0.5,
        verdict: 'bonafide',
        refMode: 'zero',
        ref: null,
        weights: { label: 'w', sha256: null, demo: true },
        audioSha256: null,
        timeline: TIMELINE,
        logits: [0.1, -0.2],
        noSignal: true,
      },
      5,
    );
    expect(saved.timeline).toEqual(TIMELINE);
    expect(saved.timeline).not.toBe(TIMELINE);
    expect(parseSaved(structuredClone(saved))).toEqual(saved);
    expect(parseSaved(structuredClone(saved))).toMatchObject({ noSignal: true, logits: [0.1, -0.2] });
  });

  it("keep a stretch's span (and its name), and a whole-file row's null span", () => {
    const stretch = toSaved(
      {
        key: 'stretch|k',
        file: 'a.wav [0:01.2–0:03.4]',
        seconds: 2.2,
        span: { start: 1.2345, end: 3.4345 },
        pBonafide: 0.3,
        verdict: 'spoof',
        refMode: 'zero',
        ref: null,
        weights: { label: 'w', sha256: null, demo: true },
        audioSha256: null,
      },
      5,
    );
    const back = parseSaved(structuredClone(stretch));
    expect(back).toEqual(stretch);
    expect(back).toMatchObject({ file: 'a.wav [0:01.2–0:03.4]', span: { start: 1.2345, end: 3.4345 } });
    const whole = toSaved({ ...stretch, key: 'k', file: 'a.wav', span: null }, 5);
    expect(parseSaved(structuredClone(whole))?.span).toBeNull();
    // nothing else from storage rides along on the span
    const extra = parseSaved({ ...stretch, span: { start: 1, end: 2, evil: '<img>' } });
    expect(extra?.span).toEqual({ start: 1, end: 2 });
  });

  it('round-trip through a structured clone unchanged', () => {
    fc.assert(
      fc.property(row, fc.nat(), (r, t) => {
        const saved = toSaved({ ...r, onRescore: () => undefined } as Parameters<typeof toSaved>[0], t);
        expect(Object.values(saved).some((v) => typeof v === 'function')).toBe(false);
        expect(parseSaved(structuredClone(saved))).toEqual(saved);
      }),
      { numRuns: 500 },
    );
  });

  it('anything else read back from storage is dropped, never thrown on', () => {
    const junk = fc.oneof(
      fc.anything(),
      row.chain((r) =>
        fc
          .record({ field: fc.constantFrom(...Object.keys(r)), value: fc.anything() })
          .map(({ field, value }) => ({ ...toSaved(r, 1), [field]: value })),
      ),
    );
    fc.assert(
      fc.property(junk, (v) => {
        const out = parseSaved(v);
        if (out) expect(parseSaved(structuredClone(out))).toEqual(out);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a probability above 1', { pBonafide: 1.5 }],
    ['NaN as a probability', { pBonafide: NaN }],
    ['an unknown verdict', { verdict: 'maybe' }],
    ['weights without a label', { weights: { sha256: null, demo: true } }],
    ['neither a score nor an error', { pBonafide: null, verdict: null }],
    ['markup as a reference mode', { refMode: '<img src=x onerror=alert(1)>' }],
    ['a number as the reference hash', { refSha256: 5 }],
    ['window settings without a hop', { windows: { limitSeconds: 12, windowSeconds: 4, singlePassMaxSeconds: 30 } }],
    ['an object as the scoring time', { scoredAt: {} }],
    ['a timeline whose window has no probability', { timeline: { ...TIMELINE, windows: [{ start: 0, end: 4 }] } }],
    [
      'a timeline window that ends before it starts',
      { timeline: { ...TIMELINE, windows: [{ start: 4, end: 1, pBonafide: 0.5 }] } },
    ],
    ['a timeline mean above 1', { timeline: { ...TIMELINE, meanP: 7 } }],
    ['a string as the timeline', { timeline: 'x' }],
    ['a string as the no-signal flag', { noSignal: 'yes' }],
    ['three logits', { logits: [1, 2, 3] }],
    ['a stretch that ends before it starts', { span: { start: 3, end: 1 } }],
    ['a stretch before the start of the file', { span: { start: -1, end: 1 } }],
    ['a stretch without an end', { span: { start: 1 } }],
    ['a stretch that never ends', { span: { start: 1, end: Infinity } }],
    ['a string as the stretch', { span: '0:01.2–0:03.4' }],
  ])('drops a row with %s', (_, patch) => {
    const good = toSaved(
      {
        key: 'k',
        file: 'a.wav',
        seconds: 1,
        pBonafide: 0.7,
        verdict: 'bonafide',
        refMode: 'zero',
        ref: null,
        weights: { label: 'w', sha256: null, demo: true },
        audioSha256: null,
      },
      5,
    );
    expect(parseSaved(good)).toEqual(good);
    expect(parseSaved({ ...good, ...patch })).toBeNull();
  });
});
