import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/analysis/evaluate';
import { evaluationJson } from '../../src/analysis/result';
import { parseLabels } from '../../src/analysis/labels';
import { ROOT, runCli, tempDir } from '../helpers';

// The scoring CLI on a batch: folders walked recursively, --csv, --labels (the last --json line is
// the evaluation, equal to the unit-tested function on the same scores), --out, progress on stderr.

const ALSA = '/usr/share/sounds/alsa';
const DEMO_SHA = JSON.parse(readFileSync(path.join(ROOT, 'public/weights/demo/model.json'), 'utf8')).source
  .sha256 as string;

const score = (...args: string[]) => runCli(args);

const sha = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];

let dir: string;
let protocol: string;
beforeAll(() => {
  dir = tempDir('cli-batch');
  mkdirSync(path.join(dir, 'set/deeper'), { recursive: true });
  // ASVspoof 5 style ids: three "bona fide" recordings and three "spoof" ones, one in a subfolder, one FLAC
  execFileSync('sox', [path.join(ALSA, 'Front_Center.wav'), path.join(dir, 'set/D_0001.wav')]);
  execFileSync('sox', [path.join(ALSA, 'Front_Left.wav'), path.join(dir, 'set/D_0002.flac')]);
  execFileSync('sox', [path.join(ALSA, 'Rear_Center.wav'), path.join(dir, 'set/deeper/D_0003.wav')]);
  execFileSync('sox', [path.join(ALSA, 'Front_Center.wav'), path.join(dir, 'set/D_0004.wav'), 'pitch', '300']);
  execFileSync('sox', [path.join(ALSA, 'Rear_Left.wav'), path.join(dir, 'set/D_0005.wav'), 'speed', '1.2']);
  execFileSync('sox', [path.join(ALSA, 'Side_Left.wav'), path.join(dir, 'set/deeper/D_0006.wav'), 'reverse']);
  writeFileSync(path.join(dir, 'set/README.md'), 'not audio: skipped in folders\n');
  mkdirSync(path.join(dir, 'empty-folder'));
  protocol = path.join(dir, 'ASVspoof5.dev.track_1.tsv');
  writeFileSync(
    protocol,
    [
      'D_0062 D_0001 F - - - - bonafide bonafide -',
      'D_0062 D_0002 F - - - - bonafide bonafide -',
      'D_0063 D_0003 M - - - - bonafide bonafide -',
      'D_0062 D_0004 F - - - AC1 A11 spoof -',
      'D_0063 D_0005 M - - - AC3 A14 spoof -',
      'D_0063 D_0006 M - - - AC3 A14 spoof -',
      'D_0064 D_9999 M - - - AC2 A16 spoof -',
    ].join('\n') + '\n',
  );
});

describe('score CLI batch', () => {
  it('walks folders recursively for audio, and with --labels ends with the evaluation equal to evaluate()', () => {
    const r = score('--json', '--labels', protocol, path.join(dir, 'set'));
    expect(r.status).toBe(0);
    const objs = r.lines.map((l) => JSON.parse(l));
    const files = objs.slice(0, -1);
    expect(files.map((o) => path.relative(dir, o.file))).toEqual([
      'set/D_0001.wav',
      'set/D_0002.flac',
      'set/D_0004.wav',
      'set/D_0005.wav',
      'set/deeper/D_0003.wav',
      'set/deeper/D_0006.wav',
    ]);
    for (const o of files) {
      expect(o.audio_sha256).toBe(sha(o.file));
      expect(o.weights.sha256).toBe(DEMO_SHA);
      // whole files: the span a stretch scored in the app carries is null
      expect(o).toMatchObject({ span_start_s: null, span_end_s: null });
      expect(o.label).toBe(
        ['D_0001', 'D_0002', 'D_0003'].includes(path.basename(o.file).split('.')[0]) ? 'bonafide' : 'spoof',
      );
    }
    const last = objs[objs.length - 1];
    const expected = evaluationJson(
      evaluate(
        files.map((o) => ({ file: o.file, score: o.p_bonafide })),
        parseLabels(readFileSync(protocol, 'utf8'), protocol),
      ),
    );
    expect(last).toEqual(expected);
    expect(last).toMatchObject({ n_bonafide: 3, n_spoof: 3, unmatched_labels: ['D_9999'], unlabelled_files: [] });
    expect(last.eer).toBeGreaterThanOrEqual(0);
    expect(last.eer).toBeLessThanOrEqual(1);
    expect(typeof last.min_dcf).toBe('number');
    expect(last.attacks.map((a: { attack: string; n: number }) => [a.attack, a.n])).toEqual([
      ['bonafide', 3],
      ['A11', 1],
      ['A14', 2],
    ]);
    // no progress bar when stderr is not a terminal
    expect(r.stderr).not.toMatch(/scoring \[/);
  });

  it('--csv: one row per file, failures included with their reason, exit 1; --progress draws the bar on stderr', () => {
    const bad = path.join(dir, 'broken.wav');
    writeFileSync(bad, 'RIFF but not really');
    const r = score('--csv', '--progress', path.join(dir, 'set'), bad, path.join(dir, 'empty-folder'));
    expect(r.status).toBe(1);
    const parsed = Papa.parse<Record<string, string>>(r.stdout, { header: true, skipEmptyLines: true });
    const rows = parsed.data;
    expect(rows).toHaveLength(8);
    // the columns keep their places; the span columns came last, empty for whole files
    expect(parsed.meta.fields).toEqual(
      [
        'file,seconds,p_bonafide,p_source,verdict,ref_mode,ref,ref_sha256,backend,weights_label,weights_sha256',
        'demo_weights,audio_sha256,label,timeline_windows,timeline_mean_p,timeline_min_p,timeline_fraction_below_half',
        'window_limit_s,window_s,hop_s,single_pass_max_s,scored_at,case_id,error,span_start_s,span_end_s',
      ]
        .join(',')
        .split(','),
    );
    expect(rows.every((x) => x.span_start_s === '' && x.span_end_s === '')).toBe(true);
    expect(
      rows
        .slice(0, 6)
        .every((x) => Number(x.p_bonafide) > 0 && x.weights_sha256 === DEMO_SHA && x.audio_sha256 === sha(x.file)),
    ).toBe(true);
    expect(rows[6]).toMatchObject({
      file: bad,
      p_bonafide: '',
      error: expect.stringMatching(/not a decodable audio file/),
    });
    expect(rows[7]).toMatchObject({
      file: path.join(dir, 'empty-folder'),
      error: expect.stringMatching(/^no audio files in this folder/),
    });
    expect(r.stderr).toMatch(/DEMO WEIGHTS/);
    // the bar counts seconds of audio: at the end, all of it (the unreadable files add none)
    expect(r.stderr).toMatch(/scoring \[.*\] (\d+)\/\1 s of audio \| 8\/8 files/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--out writes a self-contained HTML report; text mode prints EER and minDCF', () => {
    const out = path.join(dir, 'report.html');
    // a 14 s file is windowed: its timeline is drawn in the report
    const long = path.join(dir, 'long-unlabelled.wav');
    execFileSync('sox', [...Array(10).fill(path.join(ALSA, 'Front_Center.wav')), long]);
    const r = score('--labels', protocol, '--out', out, path.join(dir, 'set'), long);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no label for 1 scored files \(left out\): .*long-unlabelled\.wav/);
    expect(r.stdout).toMatch(
      /EER \d+\.\d\d % \(threshold 0\.\d{4}\), minDCF \d+\.\d{4} \(ASVspoof 5 costs\) over 3 bona fide and 3 spoof files/,
    );
    expect(r.stdout).toMatch(/A14 \(AC3\): 2 files, EER vs bona fide/);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain(DEMO_SHA);
    expect(html).toContain('DEMO WEIGHTS');
    expect(html).not.toMatch(/\s(src|href)\s*=|<script/i);
    expect((html.match(/<tr><td>/g) ?? []).length).toBeGreaterThanOrEqual(7);
    expect(html).toMatch(
      /long-unlabelled\.wav: mean window P\(bona fide\) 0\.\d{4}, minimum 0\.\d{4}, \d+ % of \d+ windows below 0\.5<\/figcaption><svg[^>]*aria-label="P\(bona fide\) per window"/,
    );
    expect(html).toContain('files over 12 s as 4 s windows every 2 s');
  });

  it('refuses a malformed labels file before loading anything, naming the line', () => {
    const bad = path.join(dir, 'bad.tsv');
    writeFileSync(bad, 'D_1 D_0001 F - - - - bonafide bonafide -\nD_1 D_0002 F - - - - bonafide\n');
    const r = score('--json', '--labels', bad, path.join(dir, 'set'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /bad\.tsv line 2: expected 10 columns \(ASVspoof 5\), 5 \(ASVspoof 2019 LA\) or 2-3 \(file, key, attack\), got 8/,
    );
    expect(score('--json', '--csv', path.join(dir, 'set')).stderr).toMatch(/choose one of --json and --csv/);
  });
});
