import { describe, expect, it } from 'vitest';
import { DownloadError, fetchResumable, fetchRetried } from '../../src/web/resumable-fetch';

// The shard downloader against a scripted fake server: retries with exponential backoff, resume
// from the last byte with Range, servers that ignore Range, and the failures that must not retry.

const URL_ = 'http://127.0.0.1/weights/demo/shard-0001.bin';
const DATA = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);

type Step = 'fail' | 404 | 500 | { from?: number; upTo?: number; status?: number; extra?: number };

/** A fetch that plays `steps` in order and records each request's Range header. */
function server(steps: Step[]) {
  const ranges: (string | null)[] = [];
  const fake = (async (_: string, init?: RequestInit) => {
    const range = (init?.headers as Record<string, string> | undefined)?.Range ?? null;
    ranges.push(range);
    const step = steps.shift() ?? 'fail';
    if (step === 'fail') throw new TypeError('Failed to fetch');
    if (typeof step === 'number') return new Response('nope', { status: step });
    const from = step.from ?? 0;
    const body = new Uint8Array([...DATA.subarray(from, step.upTo ?? DATA.length), ...new Uint8Array(step.extra ?? 0)]);
    // two chunks, so progress is seen mid-body
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body.subarray(0, body.length >> 1));
        c.enqueue(body.subarray(body.length >> 1));
        c.close();
      },
    });
    return new Response(stream, { status: step.status ?? (from ? 206 : 200) });
  }) as unknown as typeof fetch;
  return { fake, ranges };
}

async function run(steps: Step[], retries = 4) {
  const s = server(steps);
  const sleeps: number[] = [];
  let progress = 0;
  const result = await fetchResumable(URL_, DATA.length, {
    retries,
    fetch: s.fake,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onBytes: (n) => {
      progress += n;
    },
  }).then(
    (b) => new Uint8Array(b),
    (e: Error) => e,
  );
  return { result, sleeps, ranges: s.ranges, progress };
}

describe('shard download with retry, backoff and resume', () => {
  it('retries network errors with exponential backoff', async () => {
    const r = await run(['fail', 'fail', 500, {}]);
    expect(r.result).toEqual(DATA);
    expect(r.sleeps).toEqual([500, 1000, 2000]);
    expect(r.progress).toBe(DATA.length);
  });

  it('resumes a dropped body from the last byte with Range, twice', async () => {
    const r = await run([{ upTo: 3000 }, { from: 3000, upTo: 7001 }, 'fail', { from: 7001 }]);
    expect(r.result).toEqual(DATA);
    expect(r.ranges).toEqual([null, 'bytes=3000-', 'bytes=7001-', 'bytes=7001-']);
    expect(r.progress).toBe(DATA.length); // no byte counted twice
  });

  it('starts over when the server ignores Range (200 with the whole file)', async () => {
    const r = await run([{ upTo: 4000 }, { status: 200 }]);
    expect(r.result).toEqual(DATA);
    expect(r.ranges).toEqual([null, 'bytes=4000-']);
    expect(r.progress).toBe(DATA.length);
  });

  it('gives up after the retries with a message saying what arrived, backoff capped at 8 s', async () => {
    const r = await run([{ upTo: 100 }, ...Array(8).fill('fail')], 6);
    expect(r.result).toBeInstanceOf(DownloadError);
    expect((r.result as Error).message).toMatch(
      /Could not download \/weights\/demo\/shard-0001\.bin \(Failed to fetch\) after 7 attempts without progress; 100 of 10000 bytes arrived/,
    );
    expect(r.sleeps).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });

  it('does not retry a 404 or a body longer than the manifest says', async () => {
    const missing = await run([404, {}]);
    expect((missing.result as Error).message).toMatch(/not on the server \(HTTP 404\)/);
    expect(missing.ranges).toHaveLength(1);
    const long = await run([{ extra: 10 }, {}]);
    expect((long.result as Error).message).toMatch(/longer than the 10000 bytes the manifest lists/);
    expect(long.ranges).toHaveLength(1);
  });

  it('stops at once when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(fetchResumable(URL_, 10, { signal: ac.signal, fetch: server([{}]).fake })).rejects.toThrow();
  });
});

describe('small-file fetch (model.json) with the same retry policy', () => {
  const MANIFEST = 'http://127.0.0.1/weights/demo/model.json';
  async function get(steps: Step[]) {
    const s = server(steps);
    const sleeps: number[] = [];
    const result = await fetchRetried(MANIFEST, {
      fetch: s.fake,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }).then(
      (res) => res.arrayBuffer().then((b) => new Uint8Array(b)),
      (e: Error) => e,
    );
    return { result, sleeps, requests: s.ranges.length };
  }

  it('retries network and server errors with the same backoff, then returns the response', async () => {
    const r = await get(['fail', 500, {}]);
    expect(r.result).toEqual(DATA);
    expect(r.sleeps).toEqual([500, 1000]);
  });

  it('gives up after the retries with a DownloadError naming the file and the last error', async () => {
    const r = await get(Array(9).fill('fail'));
    expect(r.result).toBeInstanceOf(DownloadError);
    expect((r.result as Error).message).toMatch(
      /Could not fetch \/weights\/demo\/model\.json \(Failed to fetch\) after 5 attempts\. Check the connection/,
    );
    expect(r.sleeps).toEqual([500, 1000, 2000, 4000]);
  });

  it('does not retry a 404', async () => {
    const r = await get([404, {}]);
    expect(r.result).toBeInstanceOf(DownloadError);
    expect((r.result as Error).message).toMatch(/model\.json is not on the server \(HTTP 404\)/);
    expect(r.requests).toBe(1);
  });

  it('stops at once when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(fetchRetried(MANIFEST, { signal: ac.signal, fetch: server([{}]).fake })).rejects.toThrow();
  });
});
