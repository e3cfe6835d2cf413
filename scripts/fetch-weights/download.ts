import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { confirmationTarget, pageReason } from './drive-page';

// A resumable download of one large file from Google Drive (or a mirror): redirects followed by
// hand so that cookies set on the way are kept, Drive's confirmation page for files too large to
// scan answered as its "Download anyway" button would, and the bytes written to `<dest>.part`.
// A broken connection is resumed with an HTTP Range request from the last byte on disk, after a
// backoff; only failures in a row without progress count towards giving up. `<dest>.part.json`
// remembers the address, size and validator, so a later run resumes where this one stopped.

/** A failure that trying again will not cure: the caller reports it and stops. */
export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface DownloadOptions {
  /** Where the download starts (Drive's download address for the file id). */
  url: string;
  /** The complete file; the bytes go to `<dest>.part` until the last one has arrived. */
  dest: string;
  /** What the user can do by hand, ending every refusal ("download it by hand from ... and run ..."). */
  byHand: string;
  /** Consecutive failures without progress before giving up (default 5). */
  retries?: number;
  /** First wait after a failure in ms, doubled after each further one, at most 30 s (default 2000). */
  backoffMs?: number;
  /** A response that sends nothing for this long is dropped and resumed (ms, default 60 000). */
  stallMs?: number;
  onProgress?: (have: number, total: number | null) => void;
  log?: (line: string) => void;
}

export interface DownloadResult {
  bytes: number;
  /** The file name the server gave (Content-Disposition), if any. */
  name: string | null;
}

interface PartState {
  url: string;
  /** The file's own address, after redirects and the confirmation page. */
  fileUrl: string | null;
  total: number | null;
  etag: string | null;
}

const PAGE_LIMIT = 2 << 20;
const MAX_REDIRECTS = 10;
const MAX_PAGES = 3;
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Cookies by domain, as a browser would send them back (paths and expiry are not needed for one download). */
class CookieJar {
  private cookies: { domain: string; hostOnly: boolean; name: string; value: string }[] = [];

  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let domain = url.hostname;
      let hostOnly = true;
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (k.toLowerCase() === 'domain' && v) {
          const d = v.replace(/^\./, '').toLowerCase();
          // a cookie for another site is not kept (as a browser refuses it)
          if (url.hostname === d || url.hostname.endsWith(`.${d}`)) {
            domain = d;
            hostOnly = false;
          }
        }
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.domain === domain));
      if (!expired) this.cookies.push({ domain, hostOnly, name, value });
    }
  }

  for(url: URL): Map<string, string> {
    const host = url.hostname;
    return new Map(
      this.cookies
        .filter((c) => host === c.domain || (!c.hostOnly && host.endsWith(`.${c.domain}`)))
        .map((c) => [c.name, c.value]),
    );
  }
}

/** Reads a response body as text, up to `limit` bytes (a confirmation page is small; anything past that is dropped). */
async function readText(res: Response, limit = PAGE_LIMIT): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, limit));
}

const discard = (res: Response) => res.body?.cancel().catch(() => undefined);

const isPage = (res: Response) =>
  /^(text\/html|application\/xhtml\+xml)\b/i.test(res.headers.get('content-type') ?? '');

function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

function contentLength(res: Response): number | null {
  const v = res.headers.get('content-length');
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}

/** The file name of a Content-Disposition header (RFC 5987 form first). */
function dispositionName(v: string | null): string | null {
  if (!v) return null;
  const star = v.match(/filename\*\s*=\s*[^']*'[^']*'([^;]+)/i);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      return star[1].trim();
    }
  }
  return v.match(/filename\s*=\s*"([^"]*)"/i)?.[1] ?? v.match(/filename\s*=\s*([^;\s]+)/i)?.[1] ?? null;
}

/** Downloads `opts.url` into `opts.dest`, resuming a `.part` file left by an earlier run. */
export async function download(opts: DownloadOptions): Promise<DownloadResult> {
  const log = opts.log ?? (() => undefined);
  const retries = opts.retries ?? 5;
  const backoffMs = opts.backoffMs ?? 2000;
  const stallMs = opts.stallMs ?? 60_000;
  const part = `${opts.dest}.part`;
  const stateFile = `${part}.json`;
  const jar = new CookieJar();

  let state: PartState | null = null;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8')) as PartState;
  } catch {
    state = null;
  }
  let have = (await stat(part).catch(() => null))?.size ?? 0;
  if (have && state?.url !== opts.url) {
    log(`${part} ${state ? 'belongs to another download' : 'has no record of where it came from'}; starting over.`);
    have = 0;
  }
  if (!have) {
    state = null;
    await rm(part, { force: true });
    await rm(stateFile, { force: true });
  } else {
    log(`resuming ${part} from ${formatBytes(have)}`);
  }
  let fileUrl = state?.fileUrl ? new URL(state.fileUrl) : null;
  let name: string | null = null;

  const webPage = (reason: string | null, status = 200) =>
    new FetchError(
      `Drive answered ${status === 200 ? '' : `HTTP ${status} `}with a web page, not the file${reason ? `: "${reason}"` : ''}. ` +
        `${status === 404 || status === 410 ? 'Check --id' : 'Try again later'}, or ${opts.byHand}.`,
    );

  const restart = async () => {
    have = 0;
    state = null;
    await rm(part, { force: true });
    await rm(stateFile, { force: true });
  };

  /** One request with redirects followed by hand (cookies kept, an https-to-http redirect refused). */
  async function get(start: URL, headers: Record<string, string>, signal: AbortSignal) {
    let url = start;
    for (let hops = 0; ; hops++) {
      const cookies = [...jar.for(url)].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, {
        redirect: 'manual',
        signal,
        headers: {
          'User-Agent': 'Mozilla/5.0 (compatible; rat-detector fetch-weights)',
          'Accept-Encoding': 'identity',
          ...(cookies && { Cookie: cookies }),
          ...headers,
        },
      });
      jar.store(url, res.headers);
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) return { res, url };
      await discard(res);
      if (hops >= MAX_REDIRECTS) throw new FetchError(`${start.host} redirected more than ${MAX_REDIRECTS} times.`);
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:')
        throw new FetchError(`${url.host} redirected to an unencrypted address (${next.href}); refused.`);
      url = next;
    }
  }

  /**
   * An answer that is not the file: a busy or failing server (429, 5xx) is tried again; a missing or
   * private file or an error page is refused, keeping the bytes already here for a later run.
   */
  async function refuseStatus(res: Response, at: URL): Promise<never> {
    const reason = isPage(res) ? pageReason(await readText(res)) : (await discard(res), null);
    // a busy or failing server may do better after a pause: these are tried again
    if (res.status === 429 || res.status >= 500)
      throw new Error(`HTTP ${res.status} from ${at.host}${reason ? ` ("${reason}")` : ''}`);
    if (reason !== null || isPage(res)) throw webPage(reason, res.status);
    if ([401, 403, 404, 410].includes(res.status))
      throw new FetchError(
        `${at.host} answered HTTP ${res.status}: the file id is wrong or the file is not shared publicly. Check --id, or ${opts.byHand}.`,
      );
    throw new Error(`HTTP ${res.status} from ${at.host}`);
  }

  /** From the start address to the file itself: redirects, then up to MAX_PAGES confirmation pages. */
  async function resolveFile(signal: AbortSignal): Promise<{ res: Response; url: URL }> {
    let url = new URL(opts.url);
    for (let pages = 0; ; pages++) {
      const r = await get(url, {}, signal);
      if (r.res.ok && isPage(r.res)) {
        const html = await readText(r.res);
        const next = confirmationTarget(html, r.url.href, jar.for(r.url));
        if (!next) throw webPage(pageReason(html));
        if (pages >= MAX_PAGES) throw webPage('the confirmation page came back after confirming');
        if (r.url.protocol === 'https:' && next.protocol !== 'https:')
          throw new FetchError(`The confirmation page leads to an unencrypted address (${next.href}); refused.`);
        log(`Drive asks to confirm the download (too large for its virus scan); confirming.`);
        url = next;
        continue;
      }
      if (r.res.ok) return r;
      return refuseStatus(r.res, r.url);
    }
  }

  const rangeHeaders = (): Record<string, string> => ({
    Range: `bytes=${have}-`,
    // a strong ETag makes the server send the whole file again if it changed since the first part
    ...(state?.etag && !state.etag.startsWith('W/') && { 'If-Range': state.etag }),
  });

  async function attempt(): Promise<void> {
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
    };
    arm();
    let wrongFile = false;
    try {
      let res: Response | null = null;
      let at: URL | null = null;
      if (have && fileUrl) {
        const r = await get(fileUrl, rangeHeaders(), ctl.signal);
        // an address that has expired answers with a page or an error: go through the front door again
        if (r.res.status === 206 || r.res.status === 416 || (r.res.ok && !isPage(r.res))) ({ res, url: at } = r);
        else await discard(r.res);
      }
      if (!res) {
        const r = await resolveFile(ctl.signal);
        fileUrl = r.url;
        if (have) {
          // the first answer starts at byte 0; ask the file's own address for the rest
          await discard(r.res);
          const again = await get(fileUrl, rangeHeaders(), ctl.signal);
          if (again.res.ok && isPage(again.res)) throw new Error('the resumed request was answered with a page');
          if (!again.res.ok && again.res.status !== 416) return refuseStatus(again.res, again.url);
          ({ res, url: at } = again);
        } else ({ res, url: at } = r);
      }
      if (!at) throw new Error('internal: no address');
      name = dispositionName(res.headers.get('content-disposition')) ?? name;

      let total: number | null;
      if (res.status === 416) {
        const cr = res.headers.get('content-range')?.match(/\/(\d+)$/);
        await discard(res);
        if (cr && Number(cr[1]) === have) return; // every byte was already here
        log('The server refused to resume from the bytes kept; starting over.');
        await restart();
        throw new Error('the server refused the range request');
      }
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        if (!cr || cr.start !== have) {
          await discard(res);
          log(`The server sent another range (${res.headers.get('content-range')}) than asked for; starting over.`);
          await restart();
          throw new Error('the server answered with the wrong range');
        }
        total = cr.total;
        if (total !== null && state?.total != null && total !== state.total) {
          await discard(res);
          log('The file on the server changed size since the download began; starting over.');
          await restart();
          throw new Error('the file changed on the server');
        }
      } else {
        if (have) log('The server ignored the range request and sent the whole file; starting over.');
        have = 0;
        total = contentLength(res);
      }
      const etag = res.headers.get('etag');
      state = { url: opts.url, fileUrl: at.href, total, etag };
      await writeFile(stateFile, JSON.stringify(state));
      if (!res.body) throw new Error('the response has no body');

      const fh = await open(part, have ? 'r+' : 'w');
      try {
        if (have) await fh.truncate(have);
        const reader = res.body.getReader();
        // the first bytes are checked before any is kept: a page or a wrong file is refused at once
        let head: Uint8Array | null = have ? null : new Uint8Array(0);
        const checkHead = async (bytes: Uint8Array) => {
          if (ZIP_MAGIC.every((b, i) => bytes[i] === b)) return;
          await reader.cancel().catch(() => undefined);
          wrongFile = true;
          const start = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
          if (start.startsWith('<')) throw webPage(null);
          const hex = Buffer.from(bytes.subarray(0, 8)).toString('hex');
          throw new FetchError(
            `The server sent a file that is not a PyTorch checkpoint (a .pt file is a zip archive; this one starts with ${hex || 'nothing'}, Content-Type ${res.headers.get('content-type') ?? 'none'}). Check --id and --url, or ${opts.byHand}.`,
          );
        };
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (e) {
            const why = ctl.signal.aborted ? (ctl.signal.reason as Error).message : (e as Error).message;
            throw new Error(
              `the connection broke after ${formatBytes(have)}${total !== null ? ` of ${formatBytes(total)}` : ''} (${why})`,
            );
          }
          if (chunk.done) break;
          arm();
          let bytes = chunk.value;
          if (head) {
            head = Buffer.concat([head, bytes]);
            if (head.length < ZIP_MAGIC.length) continue;
            await checkHead(head);
            bytes = head;
            head = null;
          }
          if (total !== null && have + bytes.length > total) {
            await reader.cancel().catch(() => undefined);
            throw new Error(`the server sent more than the ${formatBytes(total)} it announced`);
          }
          await fh.write(bytes, 0, bytes.length, have);
          have += bytes.length;
          opts.onProgress?.(have, total);
        }
        if (head) await checkHead(head);
      } finally {
        await fh.close();
      }
      if (total !== null && have < total)
        throw new Error(`the connection closed after ${formatBytes(have)} of ${formatBytes(total)}`);
    } catch (e) {
      if (e instanceof FetchError) {
        // a wrong file is not worth resuming; bytes kept after a refused answer are, by a later run
        if (wrongFile) await restart();
        throw e;
      }
      if (ctl.signal.aborted && !(e as Error).message.startsWith('the connection'))
        throw new Error((ctl.signal.reason as Error).message);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  let failures = 0;
  for (;;) {
    const before = have;
    try {
      await attempt();
      break;
    } catch (e) {
      if (e instanceof FetchError) throw e;
      const why = (e as Error).message;
      failures = have > before ? 1 : failures + 1;
      if (failures > retries) {
        throw new FetchError(
          `The download failed ${failures} times in a row without progress (last: ${why}); ${formatBytes(have)} are kept in ${part}. Run the command again to resume, or ${opts.byHand}.`,
        );
      }
      const wait = Math.min(30_000, backoffMs * 2 ** (failures - 1));
      log(`${why}; trying again in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
    }
  }
  await rename(part, opts.dest);
  await rm(stateFile, { force: true });
  return { bytes: have, name };
}
