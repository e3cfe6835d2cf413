import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import {
  type HostileCase,
  type HostileCorpus,
  type HostilePath,
  makeHostileCorpus,
} from '../../scripts/hostile-corpus/make';
import { SPEECH } from '../audio-table';
import { loadModelFromDir } from '../../src/cli/node-weights';
import { ROOT, startCli, tempDir } from '../helpers';

// The hostile-input corpus (scripts/hostile-corpus/make.ts) through the two CLIs as a user runs them:
// every case ends in a non-zero exit with its refusal, within a time and a peak-memory bound, and
// nothing is written. The measured figures are printed as a table.

/** Beyond a CLI's own start-up (measured below, doubled for a loaded machine): what a refusal may take. */
const REFUSAL_MS = 5000;
/** Peak resident memory of one CLI run: start-up is a good part of it, a case must not add much. */
const RSS_MB = 400;
/** The same refusal inside the test process: reading a header, a manifest or a few MB of pickle. */
const IN_PROCESS_MS = 2000;
/** Two runs at once keep a 2-core machine busy without starving either. */
const CONCURRENCY = 2;

const dir = tempDir('hostile-corpus');
const corpus: HostileCorpus = await makeHostileCorpus(path.join(dir, 'corpus'));
const at = (rel: string) => path.join(dir, 'corpus', rel);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  rssMb: number;
}

const TIME = ['/usr/bin/time', '-f', 'RSS_KB=%M'];

/** Waits for a child started under /usr/bin/time; its wall time and peak RSS. */
function finish(child: ReturnType<typeof spawn>, t0: number): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  // a case that hangs is killed well past any bound, so the table still shows it
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(killer);
      const rss = /RSS_KB=(\d+)/.exec(stderr);
      resolve({
        status,
        stdout,
        stderr: stderr.replace(/(Command exited with non-zero status \d+\n)?RSS_KB=\d+\n?/, ''),
        ms: performance.now() - t0,
        rssMb: rss ? Number(rss[1]) / 1024 : NaN,
      });
    }),
  );
}

/** npm run convert-weights, without npm: Node with tsx's loader on the converter CLI. */
function convert(...args: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(
    TIME[0],
    [
      ...TIME.slice(1),
      process.execPath,
      '--import',
      path.join(ROOT, 'node_modules/tsx/dist/loader.mjs'),
      path.join(ROOT, 'scripts/convert-weights/cli.ts'),
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') } },
  );
  return finish(child, t0);
}

function score(...args: string[]): Promise<Run> {
  const t0 = performance.now();
  return finish(startCli(args, { wrap: TIME }), t0);
}

interface Row {
  c: HostileCase;
  path: HostilePath;
  refusal: RegExp;
  run: Run;
  /** What the CLI said (the refusal line, or the scored row's error). */
  said: string;
  /** Where the converter would have written (cli-convert). */
  out?: string;
}

let outs = 0;
/** One case through one CLI path. */
async function runCase(c: HostileCase, p: HostilePath): Promise<Row> {
  const refusal = new RegExp(c.paths[p]!);
  if (p === 'cli-score') {
    const run = await score('--json', '--weights', at(c.file), SPEECH);
    const said = c.stage === 'score' ? (jsonError(run.stdout) ?? run.stderr) : run.stderr;
    return { c, path: p, refusal, run, said };
  }
  const out = path.join(dir, `out-${++outs}`);
  const run = await convert(at(c.file), '--out', out);
  if (c.stage === 'load') return { c, path: p, refusal, run, said: run.stderr, out };
  // accepted by the converter: the refusal comes when its weights score a clip
  if (run.status !== 0) return { c, path: p, refusal, run, said: run.stderr };
  const scored = await score('--json', '--weights', out, SPEECH);
  return {
    c,
    path: p,
    refusal,
    said: jsonError(scored.stdout) ?? scored.stderr,
    run: { ...scored, ms: run.ms + scored.ms, rssMb: Math.max(run.rssMb, scored.rssMb) },
  };
}

/** The error of the one --json row; a row with a score fails the case. */
function jsonError(stdout: string): string | null {
  const line = stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (!line) return null;
  const o = JSON.parse(line);
  return o.p_bonafide !== undefined ? `scored: p_bonafide ${o.p_bonafide}` : String(o.error);
}

/**
 * The same refusal inside this process (the converter's convertFile, the CLI's folder loader), before
 * any CLI runs: the time a refusal takes without a process start-up, which dominates the CLI figures.
 */
async function inProcess(c: HostileCase): Promise<{ ms: number; message: string }> {
  const t0 = performance.now();
  try {
    if (c.family === 'weights-folder') (await loadModelFromDir(at(c.file), 'cpu', { warmup: false })).dispose();
    else await convertFile(at(c.file), { out: path.join(dir, `in-process-${c.id}`) });
    return { ms: performance.now() - t0, message: 'accepted' };
  } catch (e) {
    return { ms: performance.now() - t0, message: (e as Error).message };
  }
}
const direct = new Map<string, { ms: number; message: string }>();

const planned = corpus.cases.flatMap((c) =>
  (['cli-convert', 'cli-score'] as const).filter((p) => c.paths[p] !== undefined).map((p) => ({ c, p })),
);
const rows = new Map<string, Row>();
const key = (c: HostileCase, p: HostilePath) => `${c.id} ${p}`;
let startup: { convert: number; score: number };
/** The start-ups a row's runs include: a score-stage conversion is followed by a scoring run. */
const startupOf = (r: Row) =>
  r.path === 'cli-score' ? startup.score : startup.convert + (r.c.stage === 'score' ? startup.score : 0);
let good: { convert: Run; score: Run };

beforeAll(async () => {
  // start-up: each CLI refusing an argument that does not exist, before it reads anything; both at once,
  // as the cases run two at a time
  const [c1, s1] = await Promise.all([
    convert(path.join(dir, 'nothing.pt'), '--out', path.join(dir, 'never')),
    score('--weights', path.join(dir, 'nothing'), SPEECH),
  ]);
  startup = { convert: c1.ms, score: s1.ms };
  for (const c of corpus.cases) if (c.stage === 'load') direct.set(c.id, await inProcess(c));
  const limit = pLimit(CONCURRENCY);
  const goodOut = path.join(dir, 'good-out');
  const [goodConvert, goodScore] = await Promise.all([
    limit(() => convert(at(corpus.good.checkpoint), '--out', goodOut)),
    limit(() => score('--json', '--weights', at(corpus.good.folder), SPEECH)),
    ...planned.map(({ c, p }) => limit(async () => rows.set(key(c, p), await runCase(c, p)))),
  ]);
  good = { convert: goodConvert as Run, score: goodScore as Run };
}, 600_000);

afterAll(() => {
  const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
  const table = [
    '| case | family | path | outcome | time to refusal (CLI) | in-process | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...planned.map(({ c, p }) => {
      const r = rows.get(key(c, p))!;
      const d = direct.get(c.id);
      const refused = r.run.status !== 0 && r.refusal.test(r.said);
      const outcome = refused
        ? `refused (exit ${r.run.status})`
        : `NOT REFUSED AS EXPECTED (exit ${r.run.status}): ${r.said.trim().slice(0, 120)}`;
      return `| ${r.c.id} | ${r.c.family} | ${r.path} | ${outcome} | ${ms(r.run.ms)} | ${d ? `${d.ms.toFixed(0)} ms` : 'n/a'} | ${r.run.rssMb.toFixed(0)} MB |`;
    }),
  ];
  console.log(
    `hostile corpus through the CLIs (${corpus.cases.length} cases; start-up: convert ${ms(startup.convert)}, score ${ms(startup.score)}; ` +
      `good checkpoint converted in ${ms(good.convert.ms)}, good folder scored in ${ms(good.score.ms)}):\n${table.join('\n')}`,
  );
  rmSync(dir, { recursive: true, force: true });
});

describe('hostile corpus through the CLIs', () => {
  it('the good checkpoint and folder the cases derive from are accepted (the refusals are the cases, not the harness)', () => {
    expect(good.convert.status, good.convert.stderr).toBe(0);
    expect(good.score.status, good.score.stderr).toBe(0);
    expect(jsonError(good.score.stdout)).toMatch(/^scored: p_bonafide /);
  });

  it.each(planned.map(({ c, p }) => [c.id, p, c.what] as const))(
    '%s through %s (%s): refused with its message, in bounded time and memory',
    (id, p) => {
      const r = rows.get(`${id} ${p}`)!;
      const { c, run } = r;
      expect(run.status, `${r.said}`).not.toBe(0);
      expect(run.status, 'a crash or a kill, not a refusal').not.toBeNull();
      expect(r.said).toMatch(r.refusal);
      if (c.stage === 'score') {
        // never a score: no p_bonafide, and the row's error says why
        expect(r.said).not.toMatch(/^scored/);
        expect(run.status).toBe(1);
      } else if (p === 'cli-convert') {
        // the message names the checkpoint, and nothing was written
        expect(r.said).toContain(at(c.file));
        expect(existsSync(r.out!)).toBe(false);
        expect(run.status).toBe(1);
      } else {
        expect(run.status).toBe(2); // the run could not start: unusable weights
      }
      expect(r.said).not.toMatch(/TypeError|RangeError|at .*\.ts:\d+/); // a message, not a stack
      expect(run.ms, 'time to refusal').toBeLessThan(2 * startupOf(r) + REFUSAL_MS);
      expect(run.rssMb, 'peak RSS (MB)').toBeLessThan(RSS_MB);
      const d = direct.get(c.id);
      if (d) {
        expect(d.message).toMatch(r.refusal);
        expect(d.ms, 'time to refusal in-process').toBeLessThan(IN_PROCESS_MS);
      }
    },
  );
});
