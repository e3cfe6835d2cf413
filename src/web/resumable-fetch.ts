// Downloads one file of known size with retries, exponential backoff and resume: a dropped
// connection continues from the last byte received (HTTP Range), so a flaky network costs time,
// not the bytes already fetched.

export interface ResumableOptions {
  /** Consecutive failures without progress before giving up (default 4). */
  retries?: number;
  /** First backoff in ms, doubled after each failure and capped at 8 s (default 500). */
  backoffMs?: number;
  /** Called with each chunk's size; negative when a server that ignores Range makes the download start over. */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fetches exactly `size` bytes from `url`; fails at once on 404 or a body longer than `size`. */
export async function fetchResumable(url: string, size: number, opts: ResumableOptions = {}): Promise<ArrayBuffer> {
  const retries = opts.retries ?? 4;
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const name = new URL(url).pathname;
  const out = new Uint8Array(size);
  let have = 0;
  let failures = 0;
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    if (failures > retries) {
      throw new DownloadError(
        `Could not download ${name} (${last}) after ${failures} attempts without progress; ${have} of ${size} bytes arrived. ` +
          "Check the connection to the app's server and reload.",
      );
    }
    if (failures) await sleep(Math.min(8000, (opts.backoffMs ?? 500) * 2 ** (failures - 1)));
    const before = have;
    try {
      const res = await doFetch(url, {
        signal: opts.signal,
        ...(have ? { headers: { Range: `bytes=${have}-` } } : {}),
      });
      if (res.status === 404)
        throw new DownloadError(`${name} is not on the server (HTTP 404): the weights folder is incomplete.`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
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
    } catch (e) {
      if (e instanceof DownloadError || (e as Error)?.name === 'AbortError') throw e;
      last = (e as Error)?.message ?? String(e);
      failures = have > before ? 1 : failures + 1; // progress resets the count: only a stuck download gives up
    }
  }
}
