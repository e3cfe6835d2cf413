import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLabelBytes } from '../../src/analysis/labels';
import { decodeClip, resamplerRates, sampleRateProblem, wavDeclaredRate } from '../../src/audio/decode';
import { hasNoSignal } from '../../src/audio/limits';
import { jsonLines, runCli, tempDir } from '../helpers';

// Files and folders as strangers hand them over: each scores or is named with its reason.

const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const score = (...args: string[]) => {
  const r = runCli(args);
  return { ...r, json: jsonLines<{ file: string; p_bonafide: number; signal_warning?: string }>(r) };
};

/** SPEECH with its fmt chunk's sample rate (and byte rate) rewritten. */
function withDeclaredRate(rate: number, file: string): string {
  const b = Buffer.from(readFileSync(SPEECH));
  const fmt = b.indexOf('fmt ');
  const blockAlign = b.readUInt16LE(fmt + 20);
  b.writeUInt32LE(rate, fmt + 12);
  b.writeUInt32LE(rate * blockAlign, fmt + 16);
  writeFileSync(file, b);
  return file;
}

let dir: string;
beforeAll(() => {
  dir = tempDir('odd');
});

describe('sample rates', () => {
  it('reads the declared rate of a WAV before decoding', () => {
    expect(wavDeclaredRate(readFileSync(SPEECH))).toBe(48000);
    expect(wavDeclaredRate(new TextEncoder().encode('not a wav file at all'))).toBeNull();
  });

  it.each([8, 63, 100, 3999])('refuses a WAV declaring %i Hz at once, naming the rate', async (rate) => {
    const file = withDeclaredRate(rate, path.join(dir, `rate-${rate}.wav`));
    const t = performance.now();
    await expect(decodeClip(readFileSync(file), file)).rejects.toThrow(
      new RegExp(`sample rate of ${rate} Hz, below the 4000 Hz`),
    );
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('scores a legitimate 384 kHz file like its 48 kHz original', async () => {
    const hi = path.join(dir, 'hi.wav');
    execFileSync('sox', [SPEECH, '-r', '384000', hi]);
    const a = await decodeClip(readFileSync(SPEECH), 'a');
    const b = await decodeClip(readFileSync(hi), 'b');
    expect(b.sourceSampleRate).toBe(384000);
    expect(Math.abs(b.wave.length - a.wave.length)).toBeLessThanOrEqual(1);
    let err = 0;
    let peak = 0;
    for (let i = 1000; i < a.wave.length - 1000; i++) {
      err = Math.max(err, Math.abs(a.wave[i] - b.wave[i]));
      peak = Math.max(peak, Math.abs(a.wave[i]));
    }
    expect(err / peak).toBeLessThan(0.02);
  });

  it('hands the resampler whole chunks at every common rate, and the same ratio', () => {
    for (const r of [
      8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000, 352800, 384000,
      768000,
    ]) {
      const [i, o] = resamplerRates(r)!;
      expect(i % 10).toBe(0);
      expect(Math.max(i, o)).toBeLessThanOrEqual(192000);
      expect(o / i).toBe(16000 / r);
    }
  });

  it('scores a long 11025 Hz file (the resampler cuts it into chunks)', async () => {
    const long = path.join(dir, 'long-11025.wav');
    execFileSync('sox', [SPEECH, '-r', '11025', long, 'repeat', '70']);
    const c = await decodeClip(readFileSync(long), 'long');
    expect(c.sourceSampleRate).toBe(11025);
    expect(Math.abs(c.wave.length - Math.round(c.seconds * 16000))).toBeLessThanOrEqual(1);
  });

  it('names what the resampler cannot take', () => {
    expect(sampleRateProblem(44100)).toBeNull();
    expect(sampleRateProblem(4_096_001)).toMatch(/above the 4096000 Hz/);
    expect(sampleRateProblem(200_003)).toMatch(/no ratio to 16 kHz/);
    expect(sampleRateProblem(22050.5)).toMatch(/fractional/);
  });
});

describe('formats', () => {
  it("refuses a format outside the README's list by name, before any decoder runs", async () => {
    const amr = Buffer.concat([Buffer.from('#!AMR\n'), Buffer.alloc(2000)]);
    await expect(decodeClip(amr, 'call.amr')).rejects.toThrow(
      /AMR audio is not among the formats read here \(WAV, FLAC, MP3, .*\); convert it first/,
    );
  });
});

describe('signal', () => {
  it('flags silence, a constant and near-silence, not speech', async () => {
    expect(hasNoSignal(new Float32Array(16000))).toBe(true);
    expect(hasNoSignal(new Float32Array(16000).fill(0.3))).toBe(true);
    expect(hasNoSignal(Float32Array.from({ length: 16000 }, (_, i) => 0.2 + 1e-5 * Math.sin(i)))).toBe(true);
    expect((await decodeClip(readFileSync(SPEECH), 's')).noSignal).toBe(false);
  });

  it('the CLI warns beside the score of a silent file', () => {
    const silent = path.join(dir, 'silence.wav');
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', silent, 'trim', '0', '1']);
    const r = score('--json', silent, SPEECH);
    expect(r.status).toBe(0);
    expect(r.json[0].signal_warning).toMatch(/no speech signal/);
    expect(r.json[1].signal_warning).toBeUndefined();
    expect(score(silent).stdout).toMatch(/\[no speech signal/);
  });
});

describe('folders', () => {
  it('follows links inside the folder once, lists what it skips, and scores a non-UTF-8 name', () => {
    const root = path.join(dir, 'folder');
    const outside = path.join(dir, 'outside.wav');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    copyFileSync(SPEECH, outside);
    copyFileSync(SPEECH, path.join(root, 'sub', 'real.wav'));
    symlinkSync(path.join(root, 'sub', 'real.wav'), path.join(root, 'link-in.wav'));
    symlinkSync(outside, path.join(root, 'link-out.wav'));
    symlinkSync(path.join(root, 'missing.wav'), path.join(root, 'dangling.wav'));
    writeFileSync(path.join(root, 'notes.txt'), 'not audio');
    const latin1 = Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9]), Buffer.from('.wav')]);
    copyFileSync(SPEECH, latin1);
    const r = score('--json', root);
    expect(r.status).toBe(0);
    const files = r.json.map((o) => path.relative(root, o.file)).sort();
    expect(files).toEqual(['caf\\xe9.wav', 'link-in.wav', 'sub/real.wav']);
    expect(new Set(r.json.map((o) => o.p_bonafide.toFixed(6))).size).toBe(1);
    expect(r.stderr).toMatch(/skipped .*link-out\.wav: a link out of the folder/);
    expect(r.stderr).toMatch(/skipped .*dangling\.wav: a link to nothing/);
    expect(r.stderr).toMatch(/skipped .*notes\.txt: not an audio file/);
  });

  it('scores the rest of a folder when a subfolder cannot be read, naming it', () => {
    const root = path.join(dir, 'locked');
    mkdirSync(path.join(root, 'private'), { recursive: true });
    copyFileSync(SPEECH, path.join(root, 'ok.wav'));
    copyFileSync(SPEECH, path.join(root, 'private', 'hidden.wav'));
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    execFileSync('chmod', ['000', path.join(root, 'private')]);
    // as root every folder can be read: run as an ordinary user where there is one
    const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--'] : [];
    const r = runCli(['--json', root], { wrap: asUser, cwd: dir, env: { HOME: dir } });
    execFileSync('chmod', ['755', path.join(root, 'private')]);
    expect(r.stderr).toMatch(/skipped .*private: the folder cannot be read \(EACCES\)/);
    expect(r.status).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => path.basename(JSON.parse(l).file)),
    ).toEqual(['ok.wav']);
  });
});

describe('labels files', () => {
  const text = 'file,label\nD_0001.wav,bonafide\nD_0002.wav,spoof\n';
  it('reads UTF-8 (with or without BOM) and UTF-16 with a BOM', () => {
    expect(decodeLabelBytes(new TextEncoder().encode(`\uFEFF${text}`))).toBe(text);
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(decodeLabelBytes(le)).toBe(text);
    const be = Buffer.from(le);
    be.swap16();
    expect(decodeLabelBytes(be)).toBe(text);
  });

  it('names UTF-16 without a BOM and bytes that are not UTF-8', () => {
    expect(() => decodeLabelBytes(Buffer.from(text, 'utf16le'), 'l.csv')).toThrow(
      /l\.csv: .*UTF-16 text without a byte-order mark/,
    );
    expect(() => decodeLabelBytes(Buffer.from([0x66, 0xe9, 0x2c, 0x0a]), 'l.csv')).toThrow(/not UTF-8 text/);
  });
});
