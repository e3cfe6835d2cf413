import { type ReactNode, type Ref, useEffect, useImperativeHandle, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin from 'wavesurfer.js/dist/plugins/regions.esm.js';
import SpectrogramPlugin from 'wavesurfer.js/dist/plugins/spectrogram.esm.js';
import TimelinePlugin from 'wavesurfer.js/dist/plugins/timeline.esm.js';
import { PALETTE, pColour } from '../analysis/palette';
import { formatTime } from '../analysis/time';
import type { TimelineSummary, WindowScore } from '../analysis/windows';
import type { ScoreResult } from '../worker/protocol';
import { VerdictText } from './Verdict';

// The one waveform of the page (suspect clips and the reference): wavesurfer.js with a time ruler,
// an optional spectrogram, click-to-seek, zoom, and a stretch selected by dragging that can be scored
// on its own. A long file's window scores are drawn as a curve inside wavesurfer's own scrolling
// wrapper, so the curve shares the waveform's time axis at every zoom and scroll position.

/** A stretch of the clip, in seconds. */
export interface Span {
  start: number;
  end: number;
}

/** What a parent can ask of the waveform: seek (and play) from a time. */
export interface WaveHandle {
  seek: (seconds: number, play?: boolean) => void;
}

export interface WaveformProps {
  blob: Blob;
  /** The file's name: the waveform's title. */
  label: string;
  /** Length of the decoded clip the model reads: a selected stretch is kept within it. */
  seconds?: number;
  /** Shown beside the title (the clip's score). */
  headline?: ReactNode;
  /** The space bar plays and pauses this waveform (the page's main one). */
  keyboard?: boolean;
  /** Scores a stretch of the clip; without it no stretch can be selected. */
  scoreSpan?: (span: Span, signal: AbortSignal) => Promise<ScoreResult>;
  /** A long file's window scores: the curve under the waveform and its lowest window marked. */
  timeline?: TimelineSummary | null;
  ref?: Ref<WaveHandle>;
}

/** Ruler steps (label interval, tick interval) in seconds, from fine to coarse; the finest a tenth, as m:ss.s writes. */
const RULER_STEPS: [number, number][] = [
  [0.1, 0.05],
  [0.2, 0.05],
  [0.5, 0.1],
  [1, 0.2],
  [2, 0.5],
  [5, 1],
  [10, 2],
  [15, 5],
  [30, 5],
  [60, 10],
  [120, 30],
  [300, 60],
  [600, 120],
  [1800, 300],
  [3600, 600],
];
/** Labels at least this far apart (pixels), so that m:ss.s labels never touch. */
const LABEL_SPACING_PX = 80;

/** The ruler step whose labels stand at least LABEL_SPACING_PX apart at this zoom. */
export function rulerStep(pxPerSecond: number): [number, number] {
  return RULER_STEPS.find(([label]) => label * pxPerSecond >= LABEL_SPACING_PX) ?? RULER_STEPS[RULER_STEPS.length - 1];
}

/** Controls whose own response to the space bar (press, toggle, type, scroll a link's page) comes first. */
const SPACE_OWNERS =
  'button, input, select, textarea, a[href], summary, [role=button], [role=link], [role=checkbox], ' +
  '[role=radio], [role=switch], [role=menuitem], [role=option], [role=tab], [role=slider], [role=spinbutton], ' +
  '[role=textbox], [role=combobox]';

/**
 * Whether a key press belongs to the focused element (a control or editable text), not to playback.
 * A control marked data-space-plays (the file already shown, whose press would do nothing) leaves it to playback.
 */
function ownsSpace(t: EventTarget | null): boolean {
  if (!(t instanceof Element)) return false;
  if (t instanceof HTMLElement && t.isContentEditable) return true;
  const owner = t.closest(SPACE_OWNERS);
  return owner !== null && !owner.hasAttribute('data-space-plays');
}

/** The window with the lowest score (the first of equals). */
export const lowestWindow = (t: TimelineSummary): WindowScore =>
  t.windows.reduce((low, w) => (w.pBonafide < low.pBonafide ? w : low), t.windows[0]);

type SpanState = { span: Span; scorer: WaveformProps['scoreSpan'] } & (
  { busy: true } | { busy: false; result: ScoreResult } | { busy: false; error: string }
);

export function Waveform({ blob, label, seconds, headline, keyboard, scoreSpan, timeline, ref }: WaveformProps) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const regions = useRef<ReturnType<typeof RegionsPlugin.create> | null>(null);
  const spanAbort = useRef<AbortController | null>(null);
  /** Elements inside wavesurfer's wrapper (ruler, spectrogram, curve): they scroll and zoom with the waveform. */
  const [hosts, setHosts] = useState<{ ruler: HTMLDivElement; spectrogram: HTMLDivElement; curve: HTMLDivElement }>();
  const [duration, setDuration] = useState(0);
  const [pxPerSecond, setPxPerSecond] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [zoom, setZoom] = useState(0);
  const [spectrogram, setSpectrogram] = useState(false);
  const [selection, setSelection] = useState<Span | null>(null);
  const [spanState, setSpanState] = useState<SpanState | null>(null);
  const selectable = !!scoreSpan;

  useEffect(() => {
    const regionsPlugin = RegionsPlugin.create();
    const w = WaveSurfer.create({
      container: box.current!,
      height: 80,
      waveColor: '#8aa4c8',
      progressColor: PALETTE.line,
      cursorColor: PALETTE.threshold,
      cursorWidth: 2,
      normalize: true,
      // the spectrogram then shows the band the model hears (up to 8 kHz); past ten minutes, half
      // that keeps the page's copy of a long file small
      sampleRate: seconds !== undefined && seconds > 600 ? 8000 : 16000,
      plugins: [regionsPlugin],
    });
    ws.current = w;
    regions.current = regionsPlugin;
    // the ruler, spectrogram and curve sit in the wrapper right under the waveform, in that order
    const wrapper = w.getWrapper();
    const made = { ruler: div('ruler'), spectrogram: div('spectrogram'), curve: div('curve') };
    wrapper.querySelector('.canvases')?.after(made.ruler, made.spectrogram, made.curve);
    setHosts(made);
    w.loadBlob(blob).catch(() => undefined); // undecodable in Web Audio: the scorer shows the error
    // zoom, the ruler and the regions need the decoded audio, not only the media element's length
    const measure = () => {
      const d = w.getDecodedData() ? w.getDuration() : 0;
      setDuration(d);
      if (d > 0) setPxPerSecond(w.getWrapper().scrollWidth / d);
    };
    const offs = [
      w.on('ready', measure),
      w.on('zoom', measure),
      w.on('resize', measure),
      w.on('play', () => setPlaying(true)),
      w.on('pause', () => setPlaying(false)),
      w.on('finish', () => setPlaying(false)),
      w.on('timeupdate', (t) => setTime(t)),
      regionsPlugin.on('region-created', (r) => {
        if (r.id !== 'selection') return;
        // one stretch at a time: a new drag replaces the last one
        regionsPlugin.getRegions().forEach((o) => o !== r && o.id === 'selection' && o.remove());
        if (r.element) r.element.dataset.testid = 'selection';
        setSelection({ start: r.start, end: r.end });
      }),
      regionsPlugin.on('region-updated', (r) => {
        if (r.id === 'selection') setSelection({ start: r.start, end: r.end });
      }),
      regionsPlugin.on('region-removed', (r) => {
        if (r.id === 'selection' && !regionsPlugin.getRegions().some((o) => o.id === 'selection')) setSelection(null);
      }),
      regionsPlugin.on('region-clicked', (r, e) => {
        if (r.id !== 'lowest') return;
        e.stopPropagation();
        w.setTime(r.start);
      }),
    ];
    return () => {
      offs.forEach((off) => off());
      spanAbort.current?.abort();
      w.destroy();
      ws.current = null;
      regions.current = null;
      setHosts(undefined);
    };
    // seconds only picks the decoding rate: a clip's length never changes while it is shown
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [blob]);

  // dragging across the waveform selects a stretch; the click that seeks still works
  useEffect(() => {
    if (!selectable || !duration) return;
    return regions.current?.enableDragSelection({ id: 'selection', color: 'rgba(31, 78, 140, 0.18)' });
  }, [selectable, duration]);

  // the ruler's labels keep their spacing at every zoom: a new step, a new ruler
  const [labelStep, tickStep] = rulerStep(pxPerSecond || 1);
  useEffect(() => {
    const w = ws.current;
    if (!w || !hosts || !duration) return;
    const ruler = w.registerPlugin(
      TimelinePlugin.create({
        container: hosts.ruler,
        height: 18,
        timeInterval: tickStep,
        primaryLabelInterval: labelStep,
        secondaryLabelInterval: labelStep,
        formatTimeCallback: formatTime,
        style: { color: '#4b5563', fontSize: '11px' },
      }),
    );
    return () => w.unregisterPlugin(ruler);
  }, [hosts, duration, labelStep, tickStep]);

  // the spectrogram costs a Fourier transform per pixel column: drawn only when asked for
  useEffect(() => {
    const w = ws.current;
    if (!w || !hosts || !spectrogram || !duration) return;
    const sp = w.registerPlugin(
      SpectrogramPlugin.create({
        container: hosts.spectrogram,
        height: 96,
        labels: true,
        scale: 'mel',
        frequencyMax: w.options.sampleRate / 2,
        // a long file's spectrogram is computed for the part in view only
        rendering: duration > 120 ? 'windowed' : 'full',
      }),
    );
    return () => w.unregisterPlugin(sp);
  }, [hosts, spectrogram, duration]);

  // a long file: only its lowest window is marked on the waveform (the curve shows every window)
  const low = timeline?.windows.length ? lowestWindow(timeline) : null;
  useEffect(() => {
    const r = regions.current;
    if (!r || !low || !duration) return;
    const region = r.addRegion({
      id: 'lowest',
      start: low.start,
      end: low.end,
      color: pColour(low.pBonafide, 0.3),
      drag: false,
      resize: false,
      content: 'lowest',
    });
    if (region.element) {
      region.element.dataset.testid = 'lowest-window';
      region.element.title = `Lowest window, ${formatTime(low.start)}–${formatTime(low.end)}: P(bona fide) ${low.pBonafide.toFixed(4)}`;
    }
    return () => region.remove();
  }, [low, duration]);

  useEffect(() => {
    if (duration && ws.current?.getDecodedData()) ws.current.zoom(zoom);
  }, [zoom, duration]);

  useEffect(() => {
    if (!keyboard) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== ' ' || e.repeat || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      // a focused button, field, menu, link or editable text keeps its own space bar
      if (ownsSpace(e.target)) return;
      e.preventDefault();
      void ws.current?.playPause().catch(() => undefined);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [keyboard]);

  const seek = (t: number, play = false) => {
    const w = ws.current;
    if (!w) return;
    w.setTime(t);
    setTime(t);
    if (play) void w.play().catch(() => undefined);
  };
  useImperativeHandle(ref, () => ({ seek }));

  const clearSelection = () => {
    regions.current?.getRegions().forEach((r) => r.id === 'selection' && r.remove());
    setSelection(null);
  };

  const scoreSelection = async () => {
    if (!selection || !scoreSpan) return;
    // what the model reads ends where the decoded clip ends
    const span = { start: selection.start, end: Math.min(selection.end, seconds ?? selection.end) };
    spanAbort.current?.abort();
    const ac = new AbortController();
    spanAbort.current = ac;
    setSpanState({ span, scorer: scoreSpan, busy: true });
    try {
      const result = await scoreSpan(span, ac.signal);
      if (!ac.signal.aborted) setSpanState({ span, scorer: scoreSpan, busy: false, result });
    } catch (e) {
      if (!ac.signal.aborted) setSpanState({ span, scorer: scoreSpan, busy: false, error: (e as Error).message });
    }
  };

  // a result stands for the stretch it was scored on, under the reference and weights it was scored with
  const shownSpan =
    spanState &&
    selection &&
    spanState.scorer === scoreSpan &&
    Math.abs(spanState.span.start - selection.start) < 1e-6 &&
    Math.abs(spanState.span.end - Math.min(selection.end, seconds ?? selection.end)) < 1e-6
      ? spanState
      : null;

  const curve = useMemo(
    () => (timeline && duration ? <ScoreCurve timeline={timeline} duration={duration} /> : null),
    [timeline, duration],
  );

  return (
    <div className="waveform" data-testid="waveform" data-playing={String(playing)}>
      <div className="wave-head">
        <h3 data-testid="wave-title">{label}</h3>
        {headline}
      </div>
      <div
        ref={box}
        role="img"
        aria-label={
          timeline
            ? `Waveform of ${label} with the score of each of its ${timeline.windows.length} windows below it; click to play from there`
            : `Waveform of ${label}; click to play from there`
        }
      />
      {hosts && curve && createPortal(curve, hosts.curve)}
      <div className="wave-controls">
        <button type="button" onClick={() => void ws.current?.playPause().catch(() => undefined)}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <span className="muted mono" data-testid="play-time" data-value={String(time)} aria-live="off">
          {formatTime(time)} / {formatTime(duration)}
        </span>
        {low && (
          <button
            type="button"
            data-testid="jump-lowest"
            data-start={String(low.start)}
            onClick={() => seek(low.start, true)}
          >
            Jump to the lowest window
          </button>
        )}
        <label>
          Zoom{' '}
          <input
            type="range"
            min={0}
            max={500}
            step={10}
            value={zoom}
            onChange={(e) => setZoom(Number(e.target.value))}
          />
        </label>
        <label>
          <input
            type="checkbox"
            data-testid="spectrogram-toggle"
            checked={spectrogram}
            onChange={(e) => setSpectrogram(e.target.checked)}
          />{' '}
          Spectrogram
        </label>
        {keyboard && <span className="muted small">Space: play / pause</span>}
      </div>
      {low && (
        <p className="muted small">
          Under the waveform: P(bona fide) of each window at its centre (top 1, bottom 0, dashed 0.5); the lowest
          window, {formatTime(low.start)}–{formatTime(low.end)} at {low.pBonafide.toFixed(4)}, is marked.
        </p>
      )}
      {selectable && (
        <div className="wave-controls span-controls">
          {selection ? (
            <>
              <span data-testid="selection-text">
                Selected {formatTime(selection.start)}–{formatTime(selection.end)}
              </span>
              <button
                type="button"
                data-testid="score-span"
                disabled={spanState?.busy}
                onClick={() => void scoreSelection()}
              >
                Score this stretch
              </button>
              <button type="button" onClick={clearSelection}>
                Clear selection
              </button>
            </>
          ) : (
            <span className="muted small">Drag across the waveform to select a stretch and score it on its own.</span>
          )}
          {shownSpan?.busy && <span className="muted">scoring the stretch…</span>}
          {shownSpan && !shownSpan.busy && 'result' in shownSpan && (
            <span
              data-testid="span-score"
              data-value={String(shownSpan.result.pBonafide)}
              data-start={String(shownSpan.span.start)}
              data-end={String(shownSpan.span.end)}
            >
              P(bona fide) of the stretch <strong>{shownSpan.result.pBonafide.toFixed(4)}</strong>{' '}
              <VerdictText p={shownSpan.result.pBonafide} />
            </span>
          )}
          {shownSpan && !shownSpan.busy && 'error' in shownSpan && (
            <span className="error inline" data-testid="span-error">
              {shownSpan.error}
            </span>
          )}
        </div>
      )}
    </div>
  );
}

function div(testId: string): HTMLDivElement {
  const d = document.createElement('div');
  d.dataset.testid = testId;
  return d;
}

/**
 * A long file's window scores over the waveform's time axis: drawn in seconds across the wrapper's
 * full width (a stretched viewBox), so each window's point stands under its centre at any zoom.
 */
function ScoreCurve({ timeline, duration }: { timeline: TimelineSummary; duration: number }) {
  const y = (p: number) => 0.06 + 0.88 * (1 - p);
  const points = timeline.windows.map((w) => `${((w.start + w.end) / 2).toFixed(3)},${y(w.pBonafide).toFixed(4)}`);
  const low = lowestWindow(timeline);
  return (
    <svg
      data-testid="score-curve"
      data-windows={timeline.windows.length}
      width="100%"
      height="48"
      viewBox={`0 0 ${duration} 1`}
      preserveAspectRatio="none"
      style={{ display: 'block', background: PALETTE.plot, pointerEvents: 'none' }}
      aria-hidden="true"
    >
      <rect x={low.start} width={low.end - low.start} y={0} height={1} fill={pColour(low.pBonafide, 0.25)} />
      <line
        x1={0}
        x2={duration}
        y1={y(0.5)}
        y2={y(0.5)}
        stroke={PALETTE.threshold}
        strokeDasharray="4 3"
        vectorEffect="non-scaling-stroke"
      />
      <polyline
        points={points.join(' ')}
        fill="none"
        stroke={PALETTE.line}
        strokeWidth={1.5}
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}
