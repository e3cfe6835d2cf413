// Every fetch of the weights goes through one retry policy (retryFetch below): a network error or
// an HTTP error other than 404 is tried again after an exponential backoff, a 404 is final. On top
// of it, fetchRetried fetches a small file (model.json) and fetchResumable downloads a shard of
// known size with resume: a dropped connection continues from the last byte received (HTTP Range),
// so a flaky network costs time, not the bytes already fetched.

export interface RetryOptions {
  /** Consecutive failures (without progress, for a resumable download) before giving up (default 4). */
  retries?: number;
  /** First backoff in ms, doubled after each failure and capped at 8 s (default 500). */
  backoffMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface ResumableOptions extends RetryOptions {
  /** Called with each chunk's size; negative when a server that ignores Range makes the download start over. */
  onBytes?: (bytes: number) => void;
}

/** A download that failed for good: not retried, and the error the page and the worker report as `download`. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const CHECK = "Check the connection to the app's server and reload.";

/**
 * The retry policy: calls `attempt` until it returns, sleeping `backoffMs * 2^(n-1)` (at most 8 s)
 * after the n-th consecutive failure. A DownloadError or an abort ends it at once; after `retries + 1`
 * consecutive failures it throws `giveUp(attempts, last error's message)`. `progressed` (asked after
 * each failure) says whether that attempt got somewhere, which makes it the first failure again.
 */
async function retrying<T>(
  opts: RetryOptions,
  attempt: (init: RequestInit) => Promise<T>,
  giveUp: (attempts: number, last: string) => DownloadError,
  progressed: () => boolean = () => false,
): Promise<T> {
  const retries = opts.retries ?? 4;
  const sleep = opts.sleep ?? defaultSleep;
  let failures = 0;
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    if (failures > retries) throw giveUp(failures, last);
    if (failures) await sleep(Math.min(8000, (opts.backoffMs ?? 500) * 2 ** (failures - 1)));
    try {
      return await attempt({ signal: opts.signal });
    } catch (e) {
      if (e instanceof DownloadError || (e as Error)?.name === 'AbortError') throw e;
      last = (e as Error)?.message ?? String(e);
      failures = progressed() ? 1 : failures + 1;
    }
  }
}

/** One request: a 404 is final (a DownloadError saying what its absence means), another HTTP error is retried. */
async function request(url: string, init: RequestInit, opts: RetryOptions, missing: string): Promise<Response> {
  const res = await (opts.fetch ?? fetch)(url, init);
  if (res.status === 404)
    throw new DownloadError(`${new URL(url).pathname} is not on the server (HTTP 404): ${missing}.`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res;
}

/** Fetches a small file (its body is read by the caller), with the retries above; fails at once on 404. */
export function fetchRetried(url: string, opts: RetryOptions = {}): Promise<Response> {
  const name = new URL(url).pathname;
  return retrying(
    opts,
    (init) => request(url, init, opts, 'there are no weights at this address'),
    (attempts, last) => new DownloadError(`Could not fetch ${name} (${last}) after ${attempts} attempts. ${CHECK}`),
  );
}

/** Fetches exactly `size` bytes from `url`; fails at once on 404 or a body longer than `size`. */
export async function fetchResumable(url: string, size: number, opts: ResumableOptions = {}): Promise<ArrayBuffer> {
  const name = new URL(url).pathname;
  const out = new Uint8Array(size);
  let have = 0;
  let before = 0;
  return retrying(
    opts,
    async (init) => {
      before = have;
      const headers = have ? { Range: `bytes=${have}-` } : undefined;
      const res = await request(
        url,
        { ...init, ...(headers && { headers }) },
        opts,
        'the weights folder is incomplete',
      );
      if (have && res.status !== 206) {
        opts.onBytes?.(-have);
        have = 0;
      } // Range ignored: the body starts at byte 0
      if (!res.body) throw new Error('no response body');
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (have + value.length > size) {
          await reader.cancel().catch(() => undefined);
          throw new DownloadError(
            `${name} is longer than the ${size} bytes the manifest lists: the server holds another file.`,
          );
        }
        out.set(value, have);
        have += value.length;
        opts.onBytes?.(value.length);
      }
      if (have === size) return out.buffer;
      throw new Error(`the connection closed after ${have} of ${size} bytes`);
    },
    (attempts, last) =>
      new DownloadError(
        `Could not download ${name} (${last}) after ${attempts} attempts without progress; ${have} of ${size} bytes arrived. ${CHECK}`,
      ),
    // progress resets the count: only a stuck download gives up
    () => have > before,
  );
}
