// The one way the page writes a time: minutes, seconds and tenths (m:ss.s, e.g. 5:00.0), so that a
// duration, a play position, a window's start and the ruler under the waveform read alike.

/**
 * Seconds as m:ss.s (minutes keep counting past the hour: 62:05.5); rounded to the nearest tenth,
 * or down or up to a tenth where a message compares the time with a limit ("0:00.9 long, shorter
 * than 1 s" must not read 0:01.0).
 */
export function formatTime(seconds: number, round: 'nearest' | 'down' | 'up' = 'nearest'): string {
  if (!Number.isFinite(seconds)) return '–:––.–';
  // rounded once, to tenths, so 59.96 s reads 1:00.0 and never 0:60.0; the 1e-9 keeps a whole number
  // of tenths off by float noise (0.1 + 0.2 s is 3.0000000000000004 tenths) where it is; a sample
  // (1/16000 s) is far larger
  const x = Math.max(0, seconds) * 10;
  const tenths = round === 'down' ? Math.floor(x + 1e-9) : round === 'up' ? Math.ceil(x - 1e-9) : Math.round(x);
  const s = (tenths % 600) / 10;
  return `${Math.floor(tenths / 600)}:${s.toFixed(1).padStart(4, '0')}`;
}
