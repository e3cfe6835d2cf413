// The one way the page writes a time: minutes, seconds and tenths (m:ss.s, e.g. 5:00.0), so that a
// duration, a play position, a window's start and the ruler under the waveform read alike.

/** Seconds as m:ss.s (minutes keep counting past the hour: 62:05.5); rounded to the nearest tenth. */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–:––.–';
  // rounded once, to tenths, so 59.96 s reads 1:00.0 and never 0:60.0
  const tenths = Math.round(Math.max(0, seconds) * 10);
  const s = (tenths % 600) / 10;
  return `${Math.floor(tenths / 600)}:${s.toFixed(1).padStart(4, '0')}`;
}
