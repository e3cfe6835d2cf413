import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers';

const SPEECH = '/usr/share/sounds/alsa/Front_Center.wav';
const REF = '/usr/share/sounds/alsa/Front_Left.wav';

const score = (...args: string[]) => runCli(args);

let dir: string;
beforeAll(() => {
  dir = tempDir('cli');
  execFileSync('sox', [SPEECH, '-r', '44100', '-c', '2', path.join(dir, 'stereo44k.flac')]);
  writeFileSync(path.join(dir, 'empty.wav'), '');
  writeFileSync(path.join(dir, 'notes.wav'), 'this is not audio at all, just text pretending to be a wav file');
});

describe('score CLI', () => {
  it('prints one JSON object per file with the documented fields, on the demo weights by default', () => {
    const r = score('--json', SPEECH, path.join(dir, 'stereo44k.flac'));
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(2);
    for (const line of r.lines) {
      const o = JSON.parse(line);
      expect(o.p_bonafide).toBeGreaterThan(0);
      expect(o.p_bonafide).toBeLessThan(1);
      expect(o.logits).toHaveLength(2);
      expect(o.p_bonafide).toBeCloseTo(1 / (1 + Math.exp(o.logits[1] - o.logits[0])), 12);
      expect(o.ref_mode).toBe('zero');
      expect(o.seconds).toBeCloseTo(1.428, 2);
      expect(o.elapsed_ms).toBeGreaterThan(0);
      expect(o.weights.demo).toBe(true);
      expect(o.weights.label).toMatch(/untrained/);
      expect(o.warning).toMatch(/scores carry no meaning/);
    }
    // the same speech as 44.1 kHz stereo FLAC scores almost the same after downmix and resampling
    const [a, b] = r.lines.map((l) => JSON.parse(l).p_bonafide);
    expect(Math.abs(a - b)).toBeLessThan(0.02);
  });

  it('uses an audio reference and says so', () => {
    const r = score('--json', '--ref', REF, SPEECH);
    expect(r.status).toBe(0);
    const o = JSON.parse(r.lines[0]);
    expect(o.ref_mode).toBe('audio');
    expect(o.ref).toBe(REF);
    // the reference that was used, by content: its SHA-256 as sha256sum gives it
    expect(o.ref_sha256).toBe(createHash('sha256').update(readFileSync(REF)).digest('hex'));
    const zero = JSON.parse(score('--json', SPEECH).lines[0]);
    expect(o.p_bonafide).not.toBe(zero.p_bonafide);
    expect(zero.ref_sha256).toBeNull();
  });

  it('names each bad file and its reason, scores the others, exits 1, prints no stack trace', () => {
    const r = score(
      '--json',
      path.join(dir, 'empty.wav'),
      SPEECH,
      path.join(dir, 'notes.wav'),
      path.join(dir, 'missing.wav'),
    );
    expect(r.status).toBe(1);
    const out = r.lines.map((l) => JSON.parse(l));
    expect(out).toHaveLength(4);
    expect(out[0]).toEqual({
      file: path.join(dir, 'empty.wav'),
      // the bytes were read (all none of them): the row names what was refused
      audio_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      error: 'the file is empty (0 bytes)',
    });
    expect(out[1].p_bonafide).toBeGreaterThan(0);
    expect(out[2].error).toMatch(/not a decodable audio file/);
    expect(out[3]).toEqual({ file: path.join(dir, 'missing.wav'), audio_sha256: null, error: 'no such file' });
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints a human-readable line with the demo warning', () => {
    const r = score(SPEECH);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/DEMO WEIGHTS: untrained, scores carry no meaning/);
    expect(r.stdout).toMatch(
      /P\(bona fide\) = 0\.\d{4} \((Likely|Leans|Uncertain)[^\n]*(bona fide|spoof)[^\n]*\) {2}ref: zero vector/,
    );
  });

  it('explains a weights folder without model.json', () => {
    const r = score('--weights', dir, SPEECH);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/No model\.json in .*convert-weights/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the README's redirected commands", () => {
  it('npm run -s score -- --csv writes nothing but the CSV on stdout, and --json nothing but JSON lines', () => {
    const args = ['run', '-s', 'score', '--', '--csv', '--case-id', 'CASE-9', SPEECH];
    const csv = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8' });
    expect(csv.status).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^file,seconds,p_bonafide,/);
    const rows = Papa.parse<Record<string, string>>(csv.stdout, { header: true, skipEmptyLines: true }).data;
    expect(rows.map((r) => r.case_id)).toEqual(['CASE-9']);
    const json = spawnSync('npm', ['run', '-s', 'score', '--', '--json', SPEECH], { cwd: ROOT, encoding: 'utf8' });
    for (const line of json.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('score CLI on WebGPU (Dawn; SwiftShader here)', () => {
  it('scores on --backend webgpu as on wasm, both reference modes, and names the adapter', () => {
    const wasm = score('--json', SPEECH, '--ref', REF);
    const gpu = score('--json', '--backend', 'webgpu', SPEECH, '--ref', REF);
    expect(gpu.status).toBe(0);
    const [a, b] = [wasm, gpu].map((r) => JSON.parse(r.lines[0]));
    expect(b.backend).toBe('webgpu');
    expect(b.ref_mode).toBe('audio');
    expect(Math.abs(a.p_bonafide - b.p_bonafide)).toBeLessThan(1e-4);
    const text = score('--backend', 'webgpu', SPEECH);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/backend: webgpu \(SwiftShader.*software adapter: correct but slow\)/);
  });

  it('says why when no adapter can be had, and falls back only when asked', () => {
    const run = (...args: string[]) => runCli(args, { env: { VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    const r = run('--backend', 'webgpu', SPEECH);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/WebGPU is not available here: Dawn found no adapter.*VK_ICD_FILENAMES.*--backend wasm/s);
    expect(r.stdout).toBe('');
    const f = run('--json', '--backend', 'webgpu', '--fallback', 'wasm', SPEECH);
    expect(f.status).toBe(0);
    expect(f.stderr).toMatch(/using --fallback wasm instead/);
    expect(JSON.parse(f.stdout.trim()).backend).toBe('wasm');
  });

  it('recovers from a lost GPU device like a trapped WASM engine: restarted, weights reloaded, the file scored again', () => {
    const r = runCli(['--json', '--backend', 'webgpu', SPEECH, REF], { env: { RAT_FAULT_LOSE_DEVICE: REF } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /Front_Left\.wav: the GPU device was lost \(.*\); the engine was restarted and the file is scored again/,
    );
    const [a, b] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(a.p_bonafide).toBeGreaterThan(0);
    const wasm = JSON.parse(score('--json', REF).lines[0]);
    expect(Math.abs(b.p_bonafide - wasm.p_bonafide)).toBeLessThan(1e-4);
  });

  it('refuses several workers on one GPU', () => {
    const r = score('--backend', 'webgpu', '--workers', '2', SPEECH);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--workers must be 1 with --backend webgpu/);
  });
});
