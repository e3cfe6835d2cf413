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
