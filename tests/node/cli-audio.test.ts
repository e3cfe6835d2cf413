import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { type AudioCase, makeAudioTable } from '../audio-table';
import { FIXTURES, ROOT, runCli, tempDir } from '../helpers';

// Hostile audio through the scoring CLI, table-driven: every file gets a score that matches PyTorch
// (tiny fixture model, scripts/reference/score_files.py) or a one-line error naming it; the others
// are still scored, the exit status is 1, and no stack trace is printed.

let dir: string;
let weights: string;
let table: AudioCase[];

const cli = (...args: string[]) => runCli(['--weights', weights, ...args]);

function python(files: string[]): Map<string, number> {
  const r = spawnSync(
    '/usr/bin/python3',
    [path.join(ROOT, 'scripts/reference/score_files.py'), '--fixture', 'tiny', ...files],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`score_files.py failed: ${r.stderr}`);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const o = JSON.parse(l);
        return [o.file, o.p_bonafide];
      }),
  );
}

beforeAll(async () => {
  dir = tempDir('cli-audio');
  table = makeAudioTable(dir);
  weights = path.join(dir, 'tiny-weights');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: weights });
}, 300_000);

describe('score CLI on hostile audio', () => {
  it('--json: a score matching PyTorch or {file, error} for every row, in order; exit 1; no stack trace', () => {
    const files = table.map((c) => path.join(dir, c.file));
    // 20 s windows, end to end: the 1-hour file is 180 windows instead of the default's many more, to keep CI short
    const r = cli('--json', '--window', '20', '--hop', '20', ...files);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const out = r.lines.map((l) => JSON.parse(l));
    expect(out.map((o) => o.file)).toEqual(files);
    const truth = python(table.filter((c) => c.score?.python).map((c) => path.join(dir, c.file)));
    const report: string[] = [];
    table.forEach((c, i) => {
      const o = out[i];
      if (c.error) {
        expect(Object.keys(o).sort(), c.what).toEqual(['audio_sha256', 'error', 'file']);
        expect(o.error, c.what).toMatch(c.error);
        report.push(`${c.what}: error "${o.error}"`);
      } else {
        expect(o.error, c.what).toBeUndefined();
        expect(o.p_bonafide, c.what).toBeGreaterThan(0);
        expect(o.p_bonafide, c.what).toBeLessThan(1);
        if (!c.score!.python) {
          // a long file: scored as windows, summarised by their mean
          const w = o.timeline.windows.map((x: { p_bonafide: number }) => x.p_bonafide);
          expect(o.p_bonafide, c.what).toBeCloseTo(w.reduce((a: number, b: number) => a + b) / w.length, 10);
          report.push(
            `${c.what}: P ${o.p_bonafide.toFixed(6)}, mean of ${w.length} windows, ${o.seconds} s of audio in ${(o.elapsed_ms / 1000).toFixed(1)} s`,
          );
          return;
        }
        const want = truth.get(path.join(dir, c.file))!;
        const diff = Math.abs(o.p_bonafide - want);
        report.push(
          `${c.what}: P ${o.p_bonafide.toFixed(6)}, PyTorch ${want.toFixed(6)}, diff ${diff.toExponential(1)}`,
        );
        expect(diff, c.what).toBeLessThan(c.score!.python!);
      }
    });
    console.log(`hostile audio through the CLI (tiny fixture weights):\n  ${report.join('\n  ')}`);
  }, 600_000);

  it('without --json: one stderr line per bad file naming the file and the reason', () => {
    const rows = table.filter((c) => !c.slow);
    const bad = rows.filter((c) => c.error);
    const r = cli(...rows.map((c) => path.join(dir, c.file)));
    expect(r.status).toBe(1);
    const errLines = r.stderr.trim().split('\n');
    for (const c of bad) {
      const line = errLines.find((l) => l.startsWith(`${path.join(dir, c.file)}: `));
      expect(line, c.what).toBeDefined();
      expect(line!.slice(path.join(dir, c.file).length + 2), c.what).toMatch(c.error!);
    }
    expect(r.lines.filter((l) => l.includes('P(bona fide) =')).length).toBe(rows.filter((c) => c.score).length);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);
});
