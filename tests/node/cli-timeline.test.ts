import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOWS, planWindows } from '../../src/analysis/windows';
import { ALSA_SPEECH, audioSeconds, longSpeech, repeatSpeech } from '../audio-table';
import { runCli, tempDir } from '../helpers';

// The scoring CLI on long files: the timeline in text and JSON, the windowing flags and their
// errors, and a 10-minute file on the demo weights with its peak memory.

/** Runs the CLI under /usr/bin/time; rssMb is the peak resident memory of the node process. */
function score(...args: string[]) {
  const r = runCli(args, { wrap: ['/usr/bin/time', '-f', 'RSS_KB=%M'] });
  const rss = /RSS_KB=(\d+)/.exec(r.stderr);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr.replace(/RSS_KB=\d+\n?/, ''),
    rssMb: rss ? Number(rss[1]) / 1024 : NaN,
    lines: r.lines,
  };
}

let dir: string;
let long: string;
let oneMin: string;
let tenMin: string;
beforeAll(() => {
  dir = tempDir('cli-timeline');
  const speech = longSpeech(dir); // about 14 s of speech at 48 kHz
  long = speech.long;
  oneMin = repeatSpeech(speech.base, 60, path.join(dir, 'one-minute.wav'));
  tenMin = repeatSpeech(speech.base, 600, path.join(dir, 'ten-minutes.wav'));
});

describe('score CLI on long files', () => {
  it('--json: a timeline with the planned windows next to the whole-file score, existing fields kept', () => {
    const r = score('--json', long);
    expect(r.status).toBe(0);
    const o = JSON.parse(r.lines[0]);
    expect(o.seconds).toBeGreaterThan(DEFAULT_WINDOWS.limitSeconds);
    expect(o.p_source).toBe('single');
    expect(o.p_bonafide).toBeCloseTo(1 / (1 + Math.exp(o.logits[1] - o.logits[0])), 12);
    expect(o.warning).toMatch(/scores carry no meaning/);
    const spans = planWindows(Math.round(o.seconds * 16000), 16000);
    const t = o.timeline;
    expect(t.windows).toHaveLength(spans.length);
    expect(t.windows.map((w: { start: number }) => w.start)).toEqual(spans.map((s) => s.start / 16000));
    expect(t.windows[t.windows.length - 1].end).toBeCloseTo(o.seconds, 3);
    const ps: number[] = t.windows.map((w: { p_bonafide: number }) => w.p_bonafide);
    expect(t.mean_p).toBeCloseTo(ps.reduce((a, b) => a + b) / ps.length, 12);
    expect(t.min_p).toBe(Math.min(...ps));
    expect(t.fraction_below_half).toBe(ps.filter((p) => p < 0.5).length / ps.length);
    // the settings the file was scored under travel with its row
    expect(o.windows).toEqual({ limit_s: 12, window_s: 4, hop_s: 2, single_pass_max_s: 30 });
    expect(Date.parse(o.scored_at)).toBeGreaterThan(Date.parse('2026-01-01'));
    expect(o.p_bonafide).not.toBe(t.mean_p);
  });

  it('text: the summary line next to the whole-file score; a short file has none', () => {
    const r = score(long, ALSA_SPEECH[0]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /long\.wav: P\(bona fide\) = 0\.\d{4} whole file \((Likely|Leans|Uncertain)[^\n]*(bona fide|spoof)[^\n]*\) {2}ref:/,
    );
    const n = planWindows(Math.round(audioSeconds(long) * 16000), 16000).length;
    expect(r.stdout).toContain(`  timeline: ${n} windows`);
    expect(r.stdout).toMatch(
      /\n {2}timeline: \d+ windows of 4 s every 2 s: mean 0\.\d{4}, min 0\.\d{4}, \d+\.\d % of windows below 0\.5\n/,
    );
    expect(r.stdout.match(/timeline:/g)).toHaveLength(1);
  });

  it('the flags change the windows; past --single-pass-max the headline is the window mean', () => {
    const r = score('--json', '--window-limit', '5', '--window', '3', '--hop', '1.5', '--single-pass-max', '0', long);
    expect(r.status).toBe(0);
    const o = JSON.parse(r.lines[0]);
    expect(o.p_source).toBe('window_mean');
    expect(o.logits).toBeNull();
    expect(o.p_bonafide).toBe(o.timeline.mean_p);
    expect(o.timeline.windows).toHaveLength(
      planWindows(Math.round(o.seconds * 16000), 16000, {
        limitSeconds: 5,
        windowSeconds: 3,
        hopSeconds: 1.5,
        singlePassMaxSeconds: 0,
      }).length,
    );
    expect(o.timeline.windows[1].start).toBe(1.5);
    const text = score('--single-pass-max', '0', long);
    expect(text.stdout).toMatch(/P\(bona fide\) = 0\.\d{4} mean of \d+ windows \(longer than --single-pass-max 0 s\)/);
  });

  // a value that is not a number is commander's usage error (status 1, like --backend); a number that cannot be used is 2
  it.each([
    [['--hop', 'abc'], 1, /option '--hop <seconds>' argument 'abc' is invalid\. "abc" is not a number of seconds/],
    [
      ['--hop', '5'],
      2,
      /^score: the hop \(5 s\) must not exceed the window \(4 s\), or audio between windows goes unscored\.$/m,
    ],
    [
      ['--window', '-1', '--hop', '0.5'],
      2,
      /^score: the window length must be a positive number of seconds \(got -1\)/m,
    ],
    [['--window-limit', '0'], 2, /the windowing limit must be a positive number of seconds \(got 0\)/],
    [['--single-pass-max', '-2'], 2, /the single-pass maximum must be 0 or more seconds \(got -2\)/],
    [['--hop', '0.001'], 2, /the hop must be at least 0\.1 s \(got 0\.001\)/],
  ] as const)(
    'refuses %j with a clear message and exit status %i, before loading anything',
    (flags, status, message) => {
      const r = score(...flags, long);
      expect(r.status).toBe(status);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    },
  );

  it('a 10-minute file on the demo weights: ~300 windows, no whole-file pass, peak memory as for one minute', () => {
    const one = score('--json', oneMin);
    const ten = score('--json', '--progress', tenMin);
    expect(ten.status).toBe(0);
    // the bar counts seconds of audio, so one long file moves it window by window
    const mid = [...ten.stderr.matchAll(/\] (\d+)\/(\d+) s of audio \| 0\/1 files .*window (\d+) of/g)];
    expect(mid.some((m) => Number(m[1]) > 0 && Number(m[1]) < Number(m[2]) && Number(m[3]) > 1)).toBe(true);
    const o = JSON.parse(ten.lines[0]);
    expect(o.seconds).toBeCloseTo(audioSeconds(tenMin), 3);
    expect(o.seconds).toBeGreaterThan(590);
    expect(o.timeline.windows).toHaveLength(planWindows(Math.round(o.seconds * 16000), 16000).length);
    expect(o.timeline.windows.length).toBeGreaterThan(290);
    expect(o.p_source).toBe('window_mean');
    console.log(
      `peak RSS: ${one.rssMb.toFixed(0)} MB for ${JSON.parse(one.lines[0]).seconds.toFixed(0)} s, ${ten.rssMb.toFixed(0)} MB for ${o.seconds.toFixed(0)} s (${o.timeline.windows.length} windows, ${(o.elapsed_ms / 1000).toFixed(1)} s)`,
    );
    // ten times the audio: only the decoded samples themselves (~38 MB at 16 kHz float32, plus the file bytes) may add up
    expect(ten.rssMb - one.rssMb).toBeLessThan(120);
  }, 600_000);
});
