import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOWS, type WindowOptions } from '../../src/analysis/windows';
import { type QueueInputs, ScoringQueue, keyOf } from '../../src/ui/scoring-queue';
import { type ScoreResult, WorkerError } from '../../src/worker/protocol';

// The page's scoring scheduler against a fake scorer: no browser, no worker. Each call to the fake
// waits until the test settles it, so the order of events is the test's to choose.

interface Call {
  clipId: string;
  refId: string | null;
  windows: WindowOptions;
  signal: AbortSignal;
  resolve: (p: number) => void;
  reject: (e: Error) => void;
}

function fake() {
  const calls: Call[] = [];
  const queue = new ScoringQueue(
    (req, opts) =>
      new Promise<ScoreResult>((resolve, reject) => {
        const call: Call = {
          clipId: req.clipId,
          refId: req.refId,
          windows: req.windows,
          signal: opts.signal,
          resolve: (p) => resolve({ pBonafide: p } as ScoreResult),
          reject,
        };
        // the worker answers a cancel with a cancelled error, later
        opts.signal.addEventListener('abort', () =>
          setTimeout(() => reject(new WorkerError('cancelled', 'AbortError', 'Cancelled.'))),
        );
        calls.push(call);
      }),
  );
  return { queue, calls };
}

const W = { id: 'w1', label: 'demo', sha256: null, demo: true };
const inputs = (over: Partial<QueueInputs> = {}): QueueInputs => ({
  ready: true,
  weights: W,
  clips: [
    { id: 'a', name: 'a.wav' },
    { id: 'b', name: 'b.wav' },
  ],
  refId: null,
  refName: 'zero vector',
  refSha256: null,
  refReady: true,
  windows: DEFAULT_WINDOWS,
  focusId: null,
  ...over,
});
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('scoring queue', () => {
  it('scores ready clips one at a time, in order, and keeps a row per clip, reference and weights', async () => {
    const { queue, calls } = fake();
    queue.update(inputs());
    let heard = 0;
    const off = queue.on(() => heard++);
    // the page passes new but equal inputs on every render: that starts nothing and is not news (a render loop otherwise)
    queue.update(inputs());
    queue.update(inputs());
    expect(heard).toBe(0);
    off();
    expect(calls.map((c) => c.clipId)).toEqual(['a']);
    expect(queue.snapshot.job).toMatchObject({ key: keyOf('a', null, 'w1'), label: 'Scoring a.wav' });
    calls[0].resolve(0.9);
    await tick();
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'b']);
    calls[1].resolve(0.1);
    await tick();
    expect(queue.snapshot.job).toBeNull();
    expect([...queue.snapshot.rows.keys()]).toEqual(['a|zero|w1', 'b|zero|w1']);
    expect(queue.snapshot.rows.get('a|zero|w1')?.result?.pBonafide).toBe(0.9);
    // another reference: the clip in view first, under a new key; the old rows stay; the rest waits for a go-ahead
    queue.update(inputs({ refId: 'r', refName: 'r.wav', focusId: 'b' }));
    expect(calls[2]).toMatchObject({ clipId: 'b', refId: 'r' });
    expect(queue.snapshot.rows.size).toBe(2);
    expect(queue.snapshot.awaiting).toEqual(['a']);
    calls[2].resolve(0.4);
    await tick();
    expect(calls).toHaveLength(3);
    queue.approve();
    expect(calls[3]).toMatchObject({ clipId: 'a', refId: 'r' });
    expect(queue.snapshot.awaiting).toEqual([]);
    calls[3].resolve(0.6);
    await tick();
    // back to the zero vector: everything is scored already, nothing runs
    queue.update(inputs({ focusId: 'b' }));
    expect(calls).toHaveLength(4);
    expect(queue.snapshot.rows.size).toBe(4);
  });

  it('new files are scored without asking; a single new file goes ahead of the running batch', async () => {
    const { queue, calls } = fake();
    const three = [
      { id: 'a', name: 'a.wav' },
      { id: 'b', name: 'b.wav' },
      { id: 'c', name: 'c.wav' },
    ];
    queue.update(inputs({ clips: three }));
    expect(queue.snapshot.queued).toEqual(['b', 'c']);
    // a recording lands while a is scored: it is next
    queue.update(inputs({ clips: [...three, { id: 'rec', name: 'recording.webm' }] }));
    queue.prioritize('rec');
    expect(queue.snapshot.queued).toEqual(['rec', 'b', 'c']);
    calls[0].resolve(0.5);
    await tick();
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'rec']);
    // after a reference change, a new file is still scored at once (nothing was scored for it before)
    calls[1].resolve(0.5);
    await tick();
    calls[2].resolve(0.5);
    await tick();
    calls[3].resolve(0.5);
    await tick();
    const four = [...three, { id: 'rec', name: 'recording.webm' }, { id: 'd', name: 'd.wav' }];
    queue.update(inputs({ clips: four, refId: 'r', refName: 'r.wav' }));
    expect(calls[4].clipId).toBe('d');
    expect(queue.snapshot.awaiting).toEqual(['a', 'b', 'c', 'rec']);
  });

  it('says what queued files wait for: the engine, the reference clip, a pause', async () => {
    const { queue, calls } = fake();
    queue.update(inputs({ ready: false }));
    expect(queue.snapshot).toMatchObject({ blocked: 'engine', queued: ['a', 'b'] });
    queue.update(inputs({ refId: 'r', refReady: false }));
    expect(queue.snapshot).toMatchObject({ blocked: 'reference', queued: ['a', 'b'] });
    queue.update(inputs());
    expect(queue.snapshot).toMatchObject({ blocked: null, queued: ['b'], job: { key: 'a|zero|w1' } });
    queue.pause();
    await tick();
    expect(queue.snapshot).toMatchObject({ blocked: 'paused', queued: ['b'] });
    expect(calls).toHaveLength(1);
  });

  it('waits for the engine, the weights and a decoded reference', () => {
    const { queue, calls } = fake();
    queue.update(inputs({ ready: false }));
    queue.update(inputs({ weights: null }));
    queue.update(inputs({ refId: 'r', refReady: false }));
    expect(calls).toHaveLength(0);
    queue.update(inputs({ refId: 'r', refReady: true }));
    expect(calls).toHaveLength(1);
  });

  it('pause cancels the running file (its row says Cancelled) and resume scores it again', async () => {
    const { queue, calls } = fake();
    const changes: boolean[] = [];
    const off = queue.on(() => changes.push(queue.snapshot.paused));
    queue.update(inputs());
    queue.pause();
    expect(calls[0].signal.aborted).toBe(true);
    await tick();
    expect(queue.snapshot.paused).toBe(true);
    expect(queue.snapshot.rows.get('a|zero|w1')).toMatchObject({ error: 'Cancelled', code: 'cancelled' });
    expect(calls).toHaveLength(1);
    queue.resume();
    expect(queue.snapshot.rows.size).toBe(0);
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'a']);
    off();
    const seen = changes.length;
    calls[1].resolve(0.5);
    await tick();
    expect(changes).toHaveLength(seen); // unsubscribed
  });

  it('a resume that lands before the cancel leaves no Cancelled row: the file is scored again', async () => {
    const { queue, calls } = fake();
    queue.update(inputs());
    queue.pause();
    queue.resume(); // before the worker's cancelled answer
    await tick();
    expect(queue.snapshot.rows.size).toBe(0);
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'a']);
  });

  it('out of memory: the row says what to lower in the window settings; other files go on', async () => {
    const { queue, calls } = fake();
    queue.update(inputs());
    calls[0].reject(new WorkerError('out-of-memory', 'OutOfMemoryError', 'ran out of memory scoring 90.0 s of audio'));
    await tick();
    const row = queue.snapshot.rows.get('a|zero|w1')!;
    expect(row.code).toBe('out-of-memory');
    expect(row.error).toMatch(
      /^Ran out of memory scoring 90\.0 s of audio\. Lower "Whole-file pass up to" \(now 30 s\)/,
    );
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'b']);
    // Rescore drops that row and scores the file again
    calls[1].resolve(0.5);
    await tick();
    queue.rescore('a|zero|w1');
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'b', 'a']);
  });

  it('a crashed worker leaves no row; scoring resumes once the restarted engine is ready', async () => {
    const { queue, calls } = fake();
    queue.update(inputs());
    queue.update(inputs({ ready: false })); // the engine restarts
    calls[0].reject(new WorkerError('crashed', 'WorkerCrashed', 'The inference worker crashed.'));
    await tick();
    expect(queue.snapshot.rows.size).toBe(0);
    expect(calls).toHaveLength(1);
    queue.update(inputs());
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'a']);
  });

  it('new window settings score the windowed clips again under them, not the one being scored', async () => {
    const { queue, calls } = fake();
    queue.update(inputs());
    calls[0].resolve(0.2);
    await tick();
    const hop3 = { ...DEFAULT_WINDOWS, hopSeconds: 3 };
    queue.newWindows(hop3, new Set(['a', 'b'])); // b is running: its row lands when it finishes
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'b']);
    calls[1].resolve(0.3);
    await tick();
    expect(calls.map((c) => c.clipId)).toEqual(['a', 'b', 'a']);
    expect(calls[2].windows).toBe(hop3); // before the page passes its new inputs
    expect(queue.snapshot.rows.has('b|zero|w1')).toBe(true);
  });
});
