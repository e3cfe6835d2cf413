import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/analysis/time';

// The page's one time format (m:ss.s).

describe('formatTime', () => {
  it('writes minutes, two-digit seconds and tenths', () => {
    expect(formatTime(0)).toBe('0:00.0');
    expect(formatTime(1.43)).toBe('0:01.4');
    expect(formatTime(12)).toBe('0:12.0');
    expect(formatTime(300)).toBe('5:00.0');
    expect(formatTime(601.25)).toBe('10:01.3');
  });

  it('rounds to the nearest tenth once, carrying into the minutes', () => {
    expect(formatTime(59.94)).toBe('0:59.9');
    expect(formatTime(59.96)).toBe('1:00.0');
    expect(formatTime(119.99)).toBe('2:00.0');
    expect(formatTime(0.04)).toBe('0:00.0');
    expect(formatTime(0.05)).toBe('0:00.1');
  });

  it('rounds down or up to a tenth when a message compares the time with a limit', () => {
    // 15,999 samples at 16 kHz: shorter than 1 s, and must not read 0:01.0 beside "shorter than 1 s"
    expect(formatTime(15999 / 16000)).toBe('0:01.0');
    expect(formatTime(15999 / 16000, 'down')).toBe('0:00.9');
    // 30 s and one sample: over a 30 s limit, and must not read 0:30.0 beside "up to 30 s"
    expect(formatTime(30 + 1 / 16000)).toBe('0:30.0');
    expect(formatTime(30 + 1 / 16000, 'up')).toBe('0:30.1');
    // a whole number of tenths stays itself either way, float noise or not (0.1 + 0.2, 0.7 + 0.1)
    for (const t of [0, 0.1 + 0.2, 0.7 + 0.1, 3 * 1.1, 59.9, 600]) {
      expect(formatTime(t, 'down')).toBe(formatTime(t));
      expect(formatTime(t, 'up')).toBe(formatTime(t));
    }
    expect(formatTime(59.95, 'up')).toBe('1:00.0');
    expect(formatTime(59.99, 'down')).toBe('0:59.9');
  });

  it('keeps counting minutes past the hour', () => {
    expect(formatTime(3725.5)).toBe('62:05.5');
    expect(formatTime(7200)).toBe('120:00.0');
  });

  it('writes no number for what is not a time', () => {
    expect(formatTime(Number.NaN)).toBe('–:––.–');
    expect(formatTime(Number.POSITIVE_INFINITY)).toBe('–:––.–');
    expect(formatTime(-0.3)).toBe('0:00.0');
  });
});
