import { useState } from 'react';
import type { PSource } from '../analysis/score-clip';
import { formatTime } from '../analysis/time';
import type { TimelineSummary } from '../analysis/windows';

// A long clip's window scores in words and numbers: the summary next to the whole-file score and a
// table of every window. The curve over time is drawn under the waveform (Waveform.tsx); a row of
// the table seeks playback there (the keyboard and screen-reader path).

export interface TimelineProps {
  timeline: TimelineSummary;
  /** The headline score and where it came from (the whole-file pass or the window mean). */
  pBonafide: number;
  pSource: PSource;
  /** Window settings used, for the summary's wording. */
  windowSeconds: number;
  hopSeconds: number;
  singlePassMaxSeconds: number;
  demo: boolean;
  /** Plays from a time (seconds). */
  onSeek: (seconds: number) => void;
}

export function Timeline(props: TimelineProps) {
  const { timeline, pBonafide, pSource, demo, onSeek } = props;
  const [active, setActive] = useState<number | null>(null);
  const n = timeline.windows.length;
  const seek = (i: number) => {
    setActive(i);
    onSeek(timeline.windows[i].start);
  };
  return (
    <div className="timeline" data-testid="timeline">
      <h3>
        Timeline: {n} windows of {props.windowSeconds} s every {props.hopSeconds} s
      </h3>
      <dl className="summary">
        <dt>{pSource === 'single' ? 'Whole file, one pass' : 'Whole file (mean of the windows)'}</dt>
        <dd>
          <strong data-testid="timeline-headline" data-value={String(pBonafide)}>
            {pBonafide.toFixed(4)}
          </strong>
          {pSource === 'window_mean' && (
            <span className="muted"> (longer than {props.singlePassMaxSeconds} s: no single pass)</span>
          )}
        </dd>
        <dt>Mean window P(bona fide)</dt>
        <dd data-testid="timeline-mean" data-value={String(timeline.meanP)}>
          {timeline.meanP.toFixed(4)}
        </dd>
        <dt>Lowest window</dt>
        <dd data-testid="timeline-min" data-value={String(timeline.minP)}>
          {timeline.minP.toFixed(4)}
        </dd>
        <dt>Windows below 0.5</dt>
        <dd data-testid="timeline-below">
          {(100 * timeline.fractionBelowHalf).toFixed(1)} % ({Math.round(timeline.fractionBelowHalf * n)} of {n})
        </dd>
      </dl>
      {demo && <p className="demo-tag small">Demo weights: these scores carry no meaning.</p>}
      <details>
        <summary>All {n} windows as a table</summary>
        {active !== null && (
          <p className="muted small" aria-live="polite">
            At window {active + 1}: {formatTime(timeline.windows[active].start)}–
            {formatTime(timeline.windows[active].end)}, P {timeline.windows[active].pBonafide.toFixed(4)}
          </p>
        )}
        <div className="table-wrap window-table">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">P(bona fide)</th>
                <th scope="col"></th>
              </tr>
            </thead>
            <tbody>
              {timeline.windows.map((w, i) => (
                <tr key={i} data-testid="timeline-row" className={i === active ? 'current' : undefined}>
                  <td>{i + 1}</td>
                  <td>{formatTime(w.start)}</td>
                  <td>{formatTime(w.end)}</td>
                  <td data-value={String(w.pBonafide)}>
                    {w.pBonafide.toFixed(4)} {w.pBonafide < 0.5 ? '✗' : '✓'}
                  </td>
                  <td>
                    <button type="button" onClick={() => seek(i)} aria-label={`Play from window ${i + 1}`}>
                      Go
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
