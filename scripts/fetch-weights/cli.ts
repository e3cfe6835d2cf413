import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CheckpointError } from '../../src/convert/checkpoint';
import { planConversion } from '../../src/convert/convert';
import { LayoutError } from '../../src/convert/keymap';
import { parseManifest } from '../../src/model/manifest';
import { convertFile } from '../convert-weights/convert-file';
import { FetchError, download, formatBytes } from './download';
import { checkIndex, entryPath, register } from './register';

// npm run fetch-weights: the authors' published RAT checkpoint from Google Drive (the file the
// Security-FIT/RAT README links), resumable, checked to be a state_dict of RAT's layout by the
// converter's own readers (its pickle goes through the restricted unpickler: nothing in it is
// run), converted into a weights folder and offered in the app's weights menu. Each step is
// skipped when its result is already there and checked, so a second run changes nothing.

const DRIVE_ID = '1C85iclcmch9Mvxcg_myGiy5EAgo73Dyl';
const DRIVE_URL = 'https://drive.usercontent.google.com/download?id={id}&export=download';

interface Options {
  id: string;
  url: string;
  out: string;
  index: string;
  register: boolean;
  saveAs?: string;
  fromFile?: string;
  label: string;
  dtype: 'float32' | 'float16';
  sha256?: string;
  retries: number;
  retryDelay: number;
}

/** What a finished download is recorded with (`<file>.json`), to be reused only when it still matches. */
interface DownloadRecord {
  url: string;
  bytes: number;
  sha256: string;
}

const log = (line: string) => console.error(line);

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function count(name: string, min: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

/** Progress on stderr: a bar on a terminal, a line every tenth otherwise (a log keeps a few lines, not thousands). */
function progress() {
  let bar: cliProgress.SingleBar | null = null;
  let shown = -1;
  return {
    update(have: number, total: number | null) {
      if (process.stderr.isTTY && total !== null) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: 'downloading [{bar}] {percentage}% | {done} of {size} | {eta_formatted} left',
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, have, { done: formatBytes(have), size: formatBytes(total) });
        }
        bar.update(have, { done: formatBytes(have), size: formatBytes(total) });
        return;
      }
      const tenth = total ? Math.floor((10 * have) / total) : Math.floor(have / (100 << 20));
      if (tenth !== shown) {
        shown = tenth;
        log(`downloaded ${formatBytes(have)}${total ? ` of ${formatBytes(total)}` : ''}`);
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

async function readRecord(file: string): Promise<DownloadRecord | null> {
  try {
    return JSON.parse(await readFile(`${file}.json`, 'utf8')) as DownloadRecord;
  } catch {
    return null;
  }
}

/** The checkpoint: a file given by hand, a finished download that still matches its record, or a new download. */
async function obtain(o: Options, url: string, byHand: string): Promise<{ file: string; sha256: string }> {
  if (o.fromFile) {
    const info = await stat(o.fromFile).catch(() => null);
    if (!info?.isFile()) throw new FetchError(`${o.fromFile} is not a file.`);
    return { file: o.fromFile, sha256: await sha256File(o.fromFile) };
  }
  const file = o.saveAs ?? path.join('.cache', 'fetch-weights', `${o.id}.pt`);
  const info = await stat(file).catch(() => null);
  if (info?.isFile()) {
    const record = await readRecord(file);
    if (record?.url === url && record.bytes === info.size) {
      const sha256 = await sha256File(file);
      if (sha256 === record.sha256) {
        log(`using the finished download ${file} (${formatBytes(info.size)}; size and SHA-256 match its record)`);
        return { file, sha256 };
      }
    }
    log(`${file} does not match the record of its download; downloading it again.`);
    await rm(file, { force: true });
  } else if (info) {
    throw new FetchError(`${file} is in the way (not a file); move it or choose another --save-as.`);
  }
  await mkdir(path.dirname(file), { recursive: true });
  log(`downloading ${url} to ${file}`);
  const bar = progress();
  let result;
  try {
    result = await download({
      url,
      dest: file,
      byHand,
      retries: o.retries,
      backoffMs: o.retryDelay,
      onProgress: bar.update,
      log: (line) => {
        bar.stop();
        log(line);
      },
    });
  } finally {
    bar.stop();
  }
  const sha256 = await sha256File(file);
  const record: DownloadRecord = { url, bytes: result.bytes, sha256 };
  await writeFile(`${file}.json`, `${JSON.stringify(record, null, 1)}\n`);
  log(`downloaded ${result.name ?? path.basename(file)}: ${formatBytes(result.bytes)}, SHA-256 ${sha256}`);
  return { file, sha256 };
}

async function run(o: Options): Promise<void> {
  const url = o.url.replaceAll('{id}', encodeURIComponent(o.id));
  try {
    new URL(url);
  } catch {
    throw new FetchError(`--url ${o.url} is not a URL.`);
  }
  const page = o.url === DRIVE_URL ? `https://drive.google.com/file/d/${o.id}/view` : url;
  const byHand =
    `download it by hand from ${page} and run npm run convert-weights -- <file> --out ${o.out}` +
    ` (or npm run fetch-weights -- --from-file <file>, which also adds it to the app's weights menu)`;
  const id = path.basename(path.resolve(o.out));
  // settle what would refuse the result before spending a long download on it
  const entry = o.register ? { id, path: entryPath(o.index, o.out), label: o.label, demo: false } : null;
  if (o.register) await checkIndex(o.index);

  const { file, sha256 } = await obtain(o, url, byHand);
  if (o.sha256 && sha256 !== o.sha256.toLowerCase()) {
    throw new FetchError(
      `${file} has SHA-256 ${sha256}, not the ${o.sha256} asked for with --sha256: it is another file. Delete it to download again, or check the hash.`,
    );
  }
  const kept = o.fromFile ? '' : ` It is kept at ${file}; delete it to download again, or ${byHand}.`;
  try {
    const plan = await planConversion(await openAsBlob(file));
    log(
      `${file} is a RAT state_dict: ${plan.count} tensors, ${plan.config.numLayers} layers, width ${plan.config.embedDim}`,
    );
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof LayoutError)
      throw new FetchError(`${file} is not the RAT checkpoint: ${e.message}${kept}`);
    throw e;
  }

  const existing = await readFile(path.join(o.out, 'model.json'), 'utf8')
    .then((t) => parseManifest(t, path.join(o.out, 'model.json')))
    .catch(() => null);
  if (existing?.source?.sha256 === sha256 && existing.dtype === o.dtype && existing.label === o.label) {
    log(`${o.out} already holds this checkpoint converted (${o.dtype}); not converting again.`);
  } else {
    let last = 0;
    // convert-weights' own code: it replaces only a folder it wrote, and writes beside it then renames
    await convertFile(file, {
      out: o.out,
      dtype: o.dtype,
      label: o.label,
      force: true,
      onTensor(done, total) {
        if (process.stderr.isTTY && (performance.now() - last > 200 || done === total)) {
          last = performance.now();
          process.stderr.write(`\rconverting: ${done}/${total} tensors${done === total ? '\n' : ''}`);
        }
      },
    });
    log(`converted into ${o.out} (${o.dtype})`);
  }

  if (entry) {
    const how = await register(o.index, entry);
    const said = { added: 'added to', updated: 'updated in', unchanged: 'already in' }[how];
    log(`"${entry.label}" (${entry.id}, ${entry.path}) ${said} ${o.index}`);
  }
  console.log(`ready: ${o.out}. Score with: npm run score -- --weights ${o.out} <audio>`);
}

const program = new Command()
  .name('fetch-weights')
  .description(
    "Download the authors' published RAT checkpoint from Google Drive (resumable), check its layout, convert it into a weights folder and add it to the app's weights menu.",
  )
  .option('--id <id>', 'Google Drive file id of the checkpoint', DRIVE_ID)
  .option('--url <url>', 'where to download from; {id} is replaced by --id (a mirror, or a test server)', DRIVE_URL)
  .option('--out <dir>', 'the weights folder to write', 'public/weights/rat-published')
  .option('--index <file>', "the app's weights index to add the folder to", 'public/weights/index.json')
  .option('--no-register', 'convert only; leave the weights index alone')
  .option('--save-as <file>', 'where the downloaded checkpoint is kept (default .cache/fetch-weights/<id>.pt)')
  .option('--from-file <file>', 'a checkpoint downloaded by hand: check, convert and register it, download nothing')
  .option('--label <text>', 'the label shown with every score', 'RAT (ASVspoof 5, published checkpoint)')
  .addOption(
    new Option('--dtype <dtype>', 'storage type of the shards (float16: half the size)')
      .choices(['float32', 'float16'])
      .default('float32'),
  )
  .option('--sha256 <hex>', 'refuse a checkpoint whose SHA-256 differs from this')
  .option('--retries <n>', 'failures in a row without progress before giving up', count('--retries', 0), 5)
  .option(
    '--retry-delay <ms>',
    'first wait after a failure, doubled after each further one',
    count('--retry-delay', 0),
    2000,
  )
  .action(async (o: Options) => {
    await run(o);
  });

program.parseAsync().catch((e: Error) => {
  console.error(`fetch-weights: ${e.message}`);
  process.exit(1);
});
