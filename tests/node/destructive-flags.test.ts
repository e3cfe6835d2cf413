import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { FIXTURES, runCli, tempDir } from '../helpers';

// Flags that write must not destroy what the user did not hand over for replacing.

const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const TINY = path.join(FIXTURES, 'tiny/checkpoint.pt');
const score = (...args: string[]) => runCli(args);

let dir: string;
beforeAll(() => {
  dir = tempDir('flags');
});

describe('convert-weights --force', () => {
  it('replaces a converted weights folder', async () => {
    const out = path.join(dir, 'weights');
    await convertFile(TINY, { out });
    await convertFile(TINY, { out, force: true, label: 'again' });
    expect(JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')).label).toBe('again');
  });

  it('refuses a folder that is not a weights folder, naming what is there, and leaves it whole', async () => {
    const out = path.join(dir, 'photos');
    mkdirSync(out);
    writeFileSync(path.join(out, 'holiday.jpg'), 'not weights');
    await expect(convertFile(TINY, { out, force: true })).rejects.toThrow(/not a weights folder .*holiday\.jpg/);
    expect(readdirSync(out)).toEqual(['holiday.jpg']);
  });

  it('refuses a weights folder holding files its model.json does not list', async () => {
    const out = path.join(dir, 'weights-plus');
    await convertFile(TINY, { out });
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    await expect(convertFile(TINY, { out, force: true })).rejects.toThrow(/does not list \(notes\.txt\)/);
    expect(existsSync(path.join(out, 'notes.txt'))).toBe(true);
  });

  it('refuses a file as --out', async () => {
    const out = path.join(dir, 'a-file');
    writeFileSync(out, 'keep me');
    await expect(convertFile(TINY, { out, force: true })).rejects.toThrow(/is a file, not a weights folder/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });
});

describe('score --out', () => {
  it('never overwrites an input, by any name of it', () => {
    const victim = path.join(dir, 'victim.wav');
    copyFileSync(SPEECH, victim);
    const before = readFileSync(victim);
    const link = path.join(dir, 'link-to-victim.html');
    symlinkSync(victim, link);
    for (const out of [victim, path.join(dir, 'sub', '..', 'victim.wav'), link]) {
      const r = score('--out', out, victim);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/is one of the inputs/);
    }
    expect(readFileSync(victim).equals(before)).toBe(true);
  });

  it('writes the report through a temporary file, replacing an earlier report', () => {
    const out = path.join(dir, 'report.html');
    writeFileSync(out, 'old report');
    const r = score('--out', out, SPEECH);
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/i);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});
