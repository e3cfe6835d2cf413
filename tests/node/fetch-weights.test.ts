import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { download } from '../../scripts/fetch-weights/download';
import { confirmationTarget, pageReason } from '../../scripts/fetch-weights/drive-page';
import { FIXTURES, ROOT, tempDir } from '../helpers';
import { stateDictPickle, torchZip } from '../pickle-builder';

// `npm run fetch-weights` against a local server that answers as Google Drive does: the virus-scan
// confirmation page and its form, redirects and a download_warning cookie, a connection cut in the
// middle of the body, Range requests honoured or ignored, an error page and a file of another
// layout. Every run writes to a temporary copy of public/weights/index.json.

const ID = '1C85iclcmch9Mvxcg_myGiy5EAgo73Dyl';
const UUID = '3f0c2b1e-9a4d-4c55-8e11-2b7d6a0f9c31';
const CHECKPOINT = readFileSync(path.join(FIXTURES, 'tiny/checkpoint.pt'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Seen {
  path: string;
  query: URLSearchParams;
  range?: string;
  cookie?: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, n: number) => void;

let server: http.Server;
let base: string;
let handler: Handler;
let seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    seen.push({ path: url.pathname, query: url.searchParams, range: req.headers.range, cookie: req.headers.cookie });
    handler(req, res, url, seen.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const dirs: string[] = [];

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

afterEach(() => {
  seen = [];
});

/** The file as Drive sends it: whole, or from a Range's first byte (unless `ignoreRange`), or cut after `cutAt` bytes. */
function sendFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  bytes: Uint8Array,
  o: { ignoreRange?: boolean; cutAt?: number } = {},
) {
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="RAT.pt"; filename*=UTF-8''RAT.pt`,
  };
  const range = req.headers.range?.match(/^bytes=(\d+)-$/);
  let start = 0;
  if (range && !o.ignoreRange) {
    start = Number(range[1]);
    res.writeHead(206, {
      ...headers,
      'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      'Content-Length': bytes.length - start,
    });
  } else res.writeHead(200, { ...headers, 'Content-Length': bytes.length });
  if (o.cutAt === undefined) {
    res.end(Buffer.from(bytes.subarray(start)));
    return;
  }
  // the bytes before the cut reach the client, then the connection drops without the rest
  res.write(Buffer.from(bytes.subarray(start, o.cutAt)), () => setTimeout(() => res.socket?.destroy(), 50));
}

function page(res: http.ServerResponse, html: string, status = 200, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
  res.end(html);
}

/** Drive's "can't scan this file for viruses" page, with the form its "Download anyway" button submits. */
const scanWarning = (action: string, uuid = UUID) =>
  `<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body><div class="uc-main">` +
  `<div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>` +
  `<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id=${ID}">RAT.pt</a> (1.2G)</span>` +
  ` is too large for Google to scan for viruses. Would you still like to download this file?</p>` +
  `<form id="download-form" action="${action}" method="get">` +
  `<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/>` +
  `<input type="hidden" name="id" value="${ID}"><input type="hidden" name="export" value="download">` +
  `<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="${uuid}"></form></div></div></body></html>`;

const quotaPage =
  `<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body><div class="uc-main">` +
  `<div id="uc-text"><p class="uc-error-caption">Sorry, you can&#39;t view or download this file at this time.</p>` +
  `<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try accessing` +
  ` the file again later. If the file you are trying to access is particularly large or is shared with many people,` +
  ` it may take up to 24 hours to be able to view or download the file. If you still can't access a file after 24` +
  ` hours, contact your domain administrator.</p></div></div></body></html>`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run fetch-weights` (the script through tsx) to its end; async, since the server answers from this process. */
function fetchWeights(args: string[], cwd: string): Promise<Run> {
  const argv = [
    '--import',
    path.join(ROOT, 'node_modules/tsx/dist/loader.mjs'),
    path.join(ROOT, 'scripts/fetch-weights/cli.ts'),
    ...args,
  ];
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A temporary site (public/weights/index.json copied from the repository) and the options pointing into it. */
function site(url: string) {
  const dir = tempDir('fetch-weights');
  dirs.push(dir);
  mkdirSync(path.join(dir, 'public/weights'), { recursive: true });
  cpSync(path.join(ROOT, 'public/weights/index.json'), path.join(dir, 'public/weights/index.json'));
  const index = path.join(dir, 'public/weights/index.json');
  const out = path.join(dir, 'public/weights/rat-published');
  const saved = path.join(dir, 'download/RAT.pt');
  const args = ['--url', url, '--out', out, '--index', index, '--save-as', saved, '--retry-delay', '20'];
  return { dir, index, out, saved, args, indexBefore: readFileSync(index, 'utf8') };
}

/** The weights folder holds the tiny checkpoint converted, and the index offers it once. */
function expectRegistered(s: ReturnType<typeof site>) {
  const model = JSON.parse(readFileSync(path.join(s.out, 'model.json'), 'utf8'));
  expect(model.source.sha256).toBe(sha256(CHECKPOINT));
  expect(model.demo).toBe(false);
  const index = JSON.parse(readFileSync(s.index, 'utf8'));
  const ours = index.weights.filter((w: { id: string }) => w.id === 'rat-published');
  expect(ours).toEqual([
    {
      id: 'rat-published',
      path: 'weights/rat-published/',
      label: 'RAT (ASVspoof 5, published checkpoint)',
      demo: false,
    },
  ]);
  expect(index.weights[0].id).toBe('demo');
}

describe('Drive pages', () => {
  it('finds the form of the virus-scan page, with its hidden inputs as the query (entities decoded)', () => {
    const u = confirmationTarget(
      scanWarning('https://drive.usercontent.google.com/download', 'a&amp;b'),
      `https://drive.usercontent.google.com/download?id=${ID}&export=download`,
    );
    expect(u?.origin + u!.pathname).toBe('https://drive.usercontent.google.com/download');
    expect(Object.fromEntries(u!.searchParams)).toEqual({ id: ID, export: 'download', confirm: 't', uuid: 'a&b' });
  });

  it('follows an older page: a /uc link, a downloadUrl, a download_warning cookie', () => {
    const from = `https://drive.google.com/uc?export=download&id=${ID}`;
    const link = confirmationTarget(`<a href="/uc?export=download&amp;confirm=AbC1&amp;id=${ID}">x</a>`, from);
    expect(link?.href).toBe(`https://drive.google.com/uc?export=download&confirm=AbC1&id=${ID}`);
    const json = confirmationTarget(
      `{"downloadUrl":"https://doc-0k.googleusercontent.com/d?e\\u003ddownload\\u0026x\\u003d1"}`,
      from,
    );
    expect(json?.href).toBe('https://doc-0k.googleusercontent.com/d?e=download&x=1');
    const cookie = confirmationTarget('<html></html>', from, new Map([['download_warning_1_x', 'T0k']]));
    expect(cookie?.searchParams.get('confirm')).toBe('T0k');
  });

  it("says why an error page was sent, and finds no way on in it (nor in a page's scripts)", () => {
    expect(confirmationTarget(quotaPage, 'https://drive.google.com/uc')).toBeNull();
    expect(pageReason(quotaPage)).toMatch(
      /^Sorry, you can't view or download this file at this time\. Too many users have viewed/,
    );
    expect(pageReason('<html><head><title>Sign in - Google Accounts</title></head></html>')).toBe(
      'Sign in - Google Accounts',
    );
    expect(
      confirmationTarget('<script>location="javascript:alert(1)"</script><a href="javascript:x">', 'https://a.b/'),
    ).toBeNull();
  });
});

describe('download', () => {
  it('refuses a body that is not a zip at its first bytes, sent as a file or as a page in disguise, keeping nothing', async () => {
    const dir = tempDir('fetch-weights');
    dirs.push(dir);
    for (const [body, message] of [
      [
        new Uint8Array(4096).fill(7),
        /not a PyTorch checkpoint \(a \.pt file is a zip archive; this one starts with 0707/,
      ],
      [new TextEncoder().encode('\n<!DOCTYPE html><html>' + 'x'.repeat(4000)), /^Drive answered with a web page/],
    ] as const) {
      handler = (req, res) => sendFile(req, res, body);
      const dest = path.join(dir, 'x.pt');
      await expect(download({ url: `${base}/f`, dest, byHand: 'by hand' })).rejects.toThrow(message);
      expect(existsSync(`${dest}.part`) || existsSync(`${dest}.part.json`) || existsSync(dest)).toBe(false);
    }
  });
});

describe('npm run fetch-weights', () => {
  it('(a) answers the confirmation page with its form, then converts and registers the file', async () => {
    handler = (req, res, url) => {
      if (url.pathname !== '/download') return page(res, '<title>Not found</title>', 404);
      if (!url.searchParams.has('confirm')) return page(res, scanWarning(`${base}/download`));
      if (url.searchParams.get('uuid') === UUID && url.searchParams.get('id') === ID)
        return sendFile(req, res, CHECKPOINT);
      page(res, '<title>Bad confirmation</title>', 400);
    };
    const s = site(`${base}/download?id={id}&export=download`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.stderr).toContain('Drive asks to confirm the download');
    expect(r.status, r.stderr).toBe(0);
    expect(seen.map((q) => q.path)).toEqual(['/download', '/download']);
    expect(Object.fromEntries(seen[1].query)).toEqual({ id: ID, export: 'download', confirm: 't', uuid: UUID });
    expect(readFileSync(s.saved).equals(CHECKPOINT)).toBe(true);
    expect(existsSync(`${s.saved}.part`)).toBe(false);
    expectRegistered(s);
    expect(r.stdout).toContain(`ready: ${s.out}`);
  });

  it('(b) follows redirects and sends back the download_warning cookie with its confirm token', async () => {
    const cookie = `download_warning_13058876669334088843_${ID}`;
    handler = (req, res, url) => {
      if (url.pathname === '/uc') return res.writeHead(302, { Location: `/moved/uc${url.search}` }).end();
      if (url.pathname === '/moved/uc' && !url.searchParams.has('confirm'))
        return page(
          res,
          `<a id="uc-download-link" href="/moved/uc?export=download&amp;confirm=Xy9_&amp;id=${ID}">Download anyway</a>`,
          200,
          {
            'Set-Cookie': `${cookie}=Xy9_; Path=/; HttpOnly`,
          },
        );
      if (url.pathname === '/moved/uc' && url.searchParams.get('confirm') === 'Xy9_') {
        if (!req.headers.cookie?.includes(`${cookie}=Xy9_`)) return page(res, '<title>No cookie</title>', 403);
        return res.writeHead(303, { Location: `${base}/files/RAT.pt?sig=1` }).end();
      }
      if (url.pathname === '/files/RAT.pt') return sendFile(req, res, CHECKPOINT);
      page(res, '<title>Not found</title>', 404);
    };
    const s = site(`${base}/uc?export=download&id={id}`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(seen.map((q) => q.path)).toEqual(['/uc', '/moved/uc', '/moved/uc', '/files/RAT.pt']);
    expect(seen[2].cookie).toContain(`${cookie}=Xy9_`);
    expect(readFileSync(s.saved).equals(CHECKPOINT)).toBe(true);
    expectRegistered(s);
  });

  it('(c) resumes a transfer cut in the middle with a Range request from the last byte received', async () => {
    const cut = 300_000;
    handler = (req, res, url, n) => {
      if (url.pathname !== '/download') return page(res, '<title>Not found</title>', 404);
      sendFile(req, res, CHECKPOINT, n === 1 ? { cutAt: cut } : {});
    };
    const s = site(`${base}/download?id={id}&export=download`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the connection broke after .*; trying again/);
    expect(seen.map((q) => q.range)).toEqual([undefined, `bytes=${cut}-`]);
    expect(readFileSync(s.saved).equals(CHECKPOINT)).toBe(true);
    expectRegistered(s);
  });

  it('(c) resumes in a later run what an earlier run left in the .part file', async () => {
    const cut = 200_000;
    handler = (req, res, url, n) => {
      if (url.pathname !== '/download') return page(res, '<title>Not found</title>', 404);
      if (!url.searchParams.has('confirm')) return page(res, scanWarning(`${base}/download`));
      sendFile(req, res, CHECKPOINT, n === 2 ? { cutAt: cut } : {});
    };
    const s = site(`${base}/download?id={id}&export=download`);
    const first = await fetchWeights([...s.args, '--retries', '0'], s.dir);
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(`are kept in ${s.saved}.part. Run the command again to resume`);
    expect(statSync(`${s.saved}.part`).size).toBe(cut);
    expect(readFileSync(s.index, 'utf8')).toBe(s.indexBefore);
    // a run refused by an error page keeps the bytes for the next one
    const answer = handler;
    handler = (_req, res) => page(res, quotaPage);
    const refused = await fetchWeights(s.args, s.dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Drive answered with a web page, not the file');
    expect(statSync(`${s.saved}.part`).size).toBe(cut);
    handler = answer;
    const before = seen.length;
    const last = await fetchWeights(s.args, s.dir);
    expect(last.status, last.stderr).toBe(0);
    expect(last.stderr).toContain(`resuming ${s.saved}.part`);
    // the last run asks the file's own address (the confirmed one) for the rest
    expect(seen.slice(before).map((q) => [q.query.get('confirm'), q.range])).toEqual([['t', `bytes=${cut}-`]]);
    expect(readFileSync(s.saved).equals(CHECKPOINT)).toBe(true);
    expectRegistered(s);
  });

  it('(c) starts over cleanly when the server ignores the Range request', async () => {
    handler = (req, res, _url, n) =>
      sendFile(req, res, CHECKPOINT, n === 1 ? { cutAt: 250_000 } : { ignoreRange: true });
    const s = site(`${base}/download?id={id}&export=download`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(seen.map((q) => q.range)).toEqual([undefined, 'bytes=250000-']);
    expect(r.stderr).toContain('The server ignored the range request and sent the whole file; starting over.');
    expect(readFileSync(s.saved).equals(CHECKPOINT)).toBe(true);
    expectRegistered(s);
  });

  it('(d) refuses an error page with what Drive said and what to do, leaving the index alone', async () => {
    handler = (_req, res) => page(res, quotaPage);
    const s = site(`${base}/download?id={id}&export=download`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `fetch-weights: Drive answered with a web page, not the file: "Sorry, you can't view or download this file at this time. Too many users`,
    );
    expect(r.stderr).toContain(
      `Try again later, or download it by hand from ${base}/download?id=${ID}&export=download`,
    );
    expect(r.stderr).toContain(`npm run convert-weights -- <file> --out ${s.out}`);
    expect(readFileSync(s.index, 'utf8')).toBe(s.indexBefore);
    expect(existsSync(s.out)).toBe(false);
    expect(existsSync(`${s.saved}.part`)).toBe(false);
  });

  it('(d) refuses a checkpoint of another layout, naming what is wrong, leaving the index alone', async () => {
    const other = await torchZip(stateDictPickle([{ key: 'fc.weight', storage: '0', numel: 4, shape: [2, 2] }]), {
      0: new Uint8Array(16),
    });
    handler = (req, res) => sendFile(req, res, other);
    const s = site(`${base}/download?id={id}&export=download`);
    const r = await fetchWeights(s.args, s.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`fetch-weights: ${s.saved} is not the RAT checkpoint:`);
    expect(r.stderr).toMatch(/fc\.weight|published RAT layout|extractor/);
    expect(r.stderr).toContain('delete it to download again');
    expect(readFileSync(s.index, 'utf8')).toBe(s.indexBefore);
    expect(existsSync(s.out)).toBe(false);
  });

  it('(e) a second run reuses the checked download and the folder, and registers the entry once', async () => {
    handler = (req, res) => sendFile(req, res, CHECKPOINT);
    const s = site(`${base}/download?id={id}&export=download`);
    const first = await fetchWeights(s.args, s.dir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('added to');
    const index = readFileSync(s.index, 'utf8');
    const shards = statSync(path.join(s.out, 'model.json')).mtimeMs;
    const requests = seen.length;
    const second = await fetchWeights(s.args, s.dir);
    expect(second.status, second.stderr).toBe(0);
    expect(seen.length).toBe(requests);
    expect(second.stderr).toContain('size and SHA-256 match its record');
    expect(second.stderr).toContain('not converting again');
    expect(second.stderr).toContain('already in');
    expect(readFileSync(s.index, 'utf8')).toBe(index);
    expect(statSync(path.join(s.out, 'model.json')).mtimeMs).toBe(shards);
    expectRegistered(s);
  });
});
