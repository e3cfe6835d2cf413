import { useEffect, useRef, useState } from 'react';
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin from 'wavesurfer.js/dist/plugins/regions.esm.js';
import type { TimelineSummary } from '../analysis/windows';
import type { PSource } from '../analysis/score-clip';
import { PALETTE, pColour } from '../analysis/palette';
import { TimelineChart } from './Charts';

// A long clip's timeline: the waveform with one coloured region per window (two lanes, so
// overlapping windows stay visible and clickable), the score curve under it, and the summary next
// to the whole-file score. Clicking a region, a curve point or a table row seeks playback there.

export interface TimelineProps {
  blob: Blob;
  label: string;
  timeline: TimelineSummary;
  /** The headline score and where it came from (the whole-file pass or the window mean). */
  pBonafide: number;
  pSource: PSource;
  /** Window settings used, for the summary's wording. */
  windowSeconds: number;
  hopSeconds: number;
  singlePassMaxSeconds: number;
  demo: boolean;
}

const fmt = (t: number) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, '0')}`;

export function Timeline(props: TimelineProps) {
  const { blob, label, timeline, pBonafide, pSource, demo } = props;
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [active, setActive] = useState<number | null>(null);
  const [zoom, setZoom] = useState(0);

  const seek = (i: number) => {
    setActive(i);
    ws.current?.setTime(timeline.windows[i].start);
    setTime(timeline.windows[i].start);
  };
  const seekRef = useRef(seek);
  seekRef.current = seek;

  useEffect(() => {
    const regions = RegionsPlugin.create();
    const w = WaveSurfer.create({
      container: box.current!,
      height: 96,
      waveColor: '#8aa4c8',
      progressColor: PALETTE.line,
      cursorColor: '#111',
      cursorWidth: 2,
      normalize: true,
      plugins: [regions],
    });
    ws.current = w;
    w.loadBlob(blob).catch(() => undefined); // undecodable in Web Audio: the scores are still shown below
    const offs = [
      w.on('ready', () => {
        regions.clearRegions();
        timeline.windows.forEach((win, i) => {
          const r = regions.addRegion({
            id: `w${i}`,
            start: win.start,
            end: win.end,
            color: pColour(win.pBonafide, 0.45),
            drag: false,
            resize: false,
          });
          const el = r.element;
          if (!el) return;
          // two lanes: neighbours overlap in time, so they sit one above the other
          Object.assign(el.style, {
            top: i % 2 ? '50%' : '0',
            height: '50%',
            borderLeft: '1px solid rgba(0,0,0,0.35)',
          });
          el.dataset.testid = 'timeline-region';
          el.dataset.p = String(win.pBonafide);
          el.title = `${fmt(win.start)}–${fmt(win.end)}: P(bona fide) ${win.pBonafide.toFixed(4)}`;
        });
      }),
      regions.on('region-clicked', (r, e) => {
        e.stopPropagation();
        seekRef.current(Number(r.id.slice(1)));
      }),
      w.on('play', () => setPlaying(true)),
      w.on('pause', () => setPlaying(false)),
      w.on('finish', () => setPlaying(false)),
      w.on('timeupdate', (t) => setTime(t)),
    ];
    return () => {
      offs.forEach((off) => off());
      w.destroy();
      ws.current = null;
    };
  }, [blob, timeline]);

  useEffect(() => {
    if (ws.current?.getDuration()) ws.current.zoom(zoom);
  }, [zoom]);

  const n = timeline.windows.length;
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
      <div
        ref={box}
        aria-label={`Waveform of ${label} with ${n} scored windows; click a window to play from there`}
        role="img"
      />
      <div className="wave-controls">
        <button type="button" onClick={() => ws.current?.playPause()}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <span className="muted" data-testid="timeline-time" data-value={String(time)}>
          {time.toFixed(2)} s
        </span>
        {active !== null && (
          <span className="muted">
            window {active + 1}: {fmt(timeline.windows[active].start)}–{fmt(timeline.windows[active].end)}, P{' '}
            {timeline.windows[active].pBonafide.toFixed(4)}
          </span>
        )}
        <label>
          Zoom{' '}
          <input
            type="range"
            min={0}
            max={200}
            step={5}
            value={zoom}
            onChange={(e) => setZoom(Number(e.target.value))}
          />
        </label>
        <span className="legend small">
          <span className="swatch" style={{ background: pColour(0) }} /> spoof side ·{' '}
          <span className="swatch" style={{ background: pColour(1) }} /> bona fide side
        </span>
      </div>
      <TimelineChart timeline={timeline} file={label} onSeek={(i) => seekRef.current(i)} />
      <details>
        <summary>All {n} windows as a table</summary>
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
                  <td>{fmt(w.start)}</td>
                  <td>{fmt(w.end)}</td>
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
