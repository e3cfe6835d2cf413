import { PALETTE, pColour } from '../analysis/palette';
import { formatTime } from '../analysis/time';
import type { TimelineSummary } from '../analysis/windows';
import { lowestWindow } from './Waveform';

// A clip's score at a glance, small enough for its row in the file list: a long file's window scores
// over time with the lowest window marked, or a short file's one score as a marker on a 0 to 1 scale.

const W = 64;
const H = 16;

export function MiniTimeline({ p, timeline }: { p: number; timeline: TimelineSummary | null }) {
  if (timeline?.windows.length) {
    const end = timeline.windows[timeline.windows.length - 1].end;
    const x = (t: number) => (W * t) / end;
    const y = (q: number) => 1 + (H - 2) * (1 - q);
    const low = lowestWindow(timeline);
    const points = timeline.windows.map((w) => `${x((w.start + w.end) / 2).toFixed(1)},${y(w.pBonafide).toFixed(1)}`);
    return (
      <svg
        className="mini-timeline"
        data-testid="mini-timeline"
        data-kind="windows"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`P(bona fide) of ${timeline.windows.length} windows over time; the lowest, ${low.pBonafide.toFixed(4)}, at ${formatTime(low.start)}`}
      >
        <rect width={W} height={H} fill={PALETTE.plot} stroke={PALETTE.grid} />
        <rect
          x={x(low.start)}
          width={Math.max(1, x(low.end) - x(low.start))}
          height={H}
          fill={pColour(low.pBonafide, 0.3)}
        />
        <line
          x1={0}
          x2={W}
          y1={y(0.5)}
          y2={y(0.5)}
          stroke={PALETTE.threshold}
          strokeDasharray="2 2"
          strokeWidth={0.75}
        />
        <polyline points={points.join(' ')} fill="none" stroke={PALETTE.line} strokeWidth={1.25} />
      </svg>
    );
  }
  const cx = 3 + (W - 6) * Math.min(1, Math.max(0, p));
  return (
    <svg
      className="mini-timeline"
      data-testid="mini-timeline"
      data-kind="marker"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`P(bona fide) ${p.toFixed(4)} on a scale from 0 (spoof, left) to 1 (bona fide, right)`}
    >
      <line x1={3} x2={W - 3} y1={H / 2} y2={H / 2} stroke={PALETTE.axis} />
      <line x1={W / 2} x2={W / 2} y1={3} y2={H - 3} stroke={PALETTE.threshold} strokeWidth={0.75} />
      <circle cx={cx} cy={H / 2} r={4} fill={pColour(p)} stroke={PALETTE.ink} strokeWidth={0.75} />
    </svg>
  );
}
