import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCheckpoint } from '../src/convert/checkpoint';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..');
export const FIXTURES = path.resolve(__dirname, 'fixtures');

/** How the score CLI is started: Node with tsx's loader (by path, so any working directory will do). */
const CLI_ARGV = ['--import', path.join(ROOT, 'node_modules/tsx/dist/loader.mjs'), path.join(ROOT, 'src/cli/score.ts')];

export interface CliOptions {
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Added to (or, with `undefined`, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** A command the CLI runs under, e.g. `['/usr/bin/time', '-f', '%M']` or `['runuser', '-u', 'nobody', '--']`. */
  wrap?: string[];
  /** Kills the CLI after this many milliseconds. */
  timeout?: number;
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout's non-empty lines. */
  lines: string[];
}

function cliCommand(args: string[], opts: CliOptions): [string, string[], { cwd: string; env: NodeJS.ProcessEnv }] {
  const env: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const argv = [...(opts.wrap ?? []), process.execPath, ...CLI_ARGV, ...args];
  return [argv[0], argv.slice(1), { cwd: opts.cwd ?? ROOT, env }];
}

/** Runs the score CLI (src/cli/score.ts) with these arguments to its end. */
export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const [cmd, argv, o] = cliCommand(args, opts);
  const r = spawnSync(cmd, argv, { ...o, encoding: 'utf8', maxBuffer: 256 << 20, timeout: opts.timeout });
  if (r.error && r.status === null && r.signal === null) throw r.error;
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    lines: r.stdout.trim().split('\n').filter(Boolean),
  };
}

/** Starts the score CLI without waiting for it (to watch it while it runs). */
export function startCli(args: string[], opts: Omit<CliOptions, 'timeout'> = {}): ChildProcessWithoutNullStreams {
  const [cmd, argv, o] = cliCommand(args, opts);
  return spawn(cmd, argv, o);
}

/** The JSON lines of a CLI run's stdout (lines not starting with `{` are left out). */
export function jsonLines<T = Record<string, unknown>>(r: { stdout: string }): T[] {
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

export interface GoldenCase {
  clip: string;
  ref_mode: 'zero' | 'audio';
  ref: string | null;
  frames: number;
  p_bonafide: number;
  logits: [number, number];
  embedding: number[];
  attn_rms: number[];
  mlp_rms: number[];
}

export interface Golden {
  config: { num_layers: number };
  convert_config: Record<string, unknown> | null;
  cases: GoldenCase[];
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(path.join(FIXTURES, name, 'golden.json'), 'utf8'));
}

/** All tensors of a fixture safetensors file, as float32 arrays (read with the project's own reader). */
export async function readArrays(file: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const ckpt = await openCheckpoint(await openAsBlob(file));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of ckpt.tensors) out.set(k, { shape: t.shape, data: await t.read() });
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `rat-${prefix}-`));
}

/** Largest |a - b| over the largest |b|: a scale-free distance for whole feature maps. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}
