import { useCallback, useEffect, useRef } from 'react';
import { formatTime } from '../analysis/time';
import type { WindowOptions } from '../analysis/windows';
import { NO_SIGNAL_WARNING } from '../audio/limits';
import { SAMPLE_RATE } from '../model/config';
import type { ScoreResult } from '../worker/protocol';
import { type PickedFile, fromInput } from './batch-files';
import { ClipRowEnd } from './ClipRowEnd';
import type { Clip, Clips } from './hooks/useClips';
import { MiniTimeline } from './MiniTimeline';
import type { QueueState, ScoreRow } from './scoring-queue';
import { Recorder } from './Recorder';
import { Timeline } from './Timeline';
import { VerdictText } from './Verdict';
import { type Span, type WaveHandle, Waveform } from './Waveform';
import { WindowSettings } from './WindowSettings';

/** What the file pickers offer: anything the browser calls audio, plus the extensions the decoder knows. */
export const AUDIO_ACCEPT = 'audio/*,.wav,.flac,.mp3,.ogg,.opus,.m4a,.aac,.webm';

interface Props {
  clips: Clips;
  dragging: boolean;
  onPicked: (picked: PickedFile[]) => void;
  onRecorded: (file: File) => void;
  /** The scoring queue's state: what each clip waits for. */
  queue: Pick<QueueState, 'job' | 'queued' | 'awaiting' | 'blocked'>;
  /** A clip's score (or failure) under the current reference and weights, if it has one. */
  scoreOf: (clipId: string) => ScoreRow | undefined;
  /** Scores a stretch of a clip under the current reference and weights. */
  scoreSpan: (clipId: string, span: Span, signal: AbortSignal) => Promise<ScoreResult>;
  /** Names in a dropped folder that are not audio by their extension. */
  skipped: string[];
  windows: WindowOptions;
  onWindows: (w: WindowOptions) => void;
  demo: boolean;
}

/** What a decoded clip waits for, in words; null once it is scored under the current choice. */
export function waitText(id: string, q: Props['queue']): string | null {
  if (q.job?.key.startsWith(`${id}|`)) return 'scoring…';
  const k = q.queued.indexOf(id);
  if (k >= 0) {
    if (q.blocked === 'engine') return 'queued: waits for the engine and weights';
    if (q.blocked === 'reference') return 'queued: waits for the reference clip to decode';
    if (q.blocked === 'paused') return 'queued: scoring is paused (Resume below)';
    return q.job ? `queued: ${k + 1} of ${q.queued.length}, after the file being scored` : 'queued';
  }
  if (q.awaiting.includes(id)) return 'waits for your go-ahead to score it under this reference and weights (below)';
  return null;
}

/**
 * The suspect clips: pickers, folder drops, recording; the list, each file with its score, verdict
 * and mini timeline as soon as it is scored; the chosen file's waveform, named, with its results.
 */
export function SuspectPanel(props: Props) {
  const { clips, dragging, onPicked, onRecorded, queue, scoreOf, skipped, windows, onWindows, demo } = props;
  const shown = clips.shown;
  const list = useRef<HTMLUListElement>(null);
  const count = clips.tests.length;
  const seen = useRef(count);
  // a new file or recording lands at the end of a list that scrolls: bring it into view
  useEffect(() => {
    if (count > seen.current) list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
    seen.current = count;
  }, [count]);

  return (
    <section className="panel" aria-labelledby="test-h">
      <h2 id="test-h">Suspect audio</h2>
      <div className={`dropzone${dragging ? ' active' : ''}`}>
        <p>
          Drop audio files or whole folders anywhere on the page (WAV, FLAC, MP3, OGG/Opus, M4A/AAC, WebM; a labels CSV
          or protocol dropped with them goes to the evaluation), or
        </p>
        <div className="row">
          <label className="file-button primary">
            Choose files…
            <input
              data-testid="test-file-input"
              type="file"
              multiple
              accept={AUDIO_ACCEPT}
              onChange={(e) => {
                onPicked(fromInput(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
          <label className="file-button">
            Choose a folder…
            <input
              data-testid="test-folder-input"
              type="file"
              multiple
              {...{ webkitdirectory: '' }}
              onChange={(e) => {
                onPicked(fromInput(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
          <Recorder label="suspect audio" onRecorded={onRecorded} />
        </div>
      </div>
      {skipped.length > 0 && (
        <p className="muted" data-testid="skipped">
          Skipped {skipped.length} file{skipped.length > 1 ? 's' : ''} in the folder that are not audio by their
          extension: {skipped.slice(0, 5).join(', ')}
          {skipped.length > 5 ? ', …' : ''}
        </p>
      )}
      {count > 0 && (
        <ul className="clips" ref={list}>
          {clips.tests.map((c) => (
            <ClipRow
              key={c.id}
              clip={c}
              selected={c.id === shown?.id}
              row={c.status === 'ready' ? scoreOf(c.id) : undefined}
              wait={c.status === 'ready' ? waitText(c.id, queue) : null}
              onSelect={() => clips.select(c.id)}
              onRemove={() => clips.remove(c.id)}
            />
          ))}
        </ul>
      )}
      <WindowSettings value={windows} onApply={onWindows} />
      {shown && shown.status !== 'error' && (
        <ClipView
          key={shown.id}
          clip={shown}
          result={shown.status === 'ready' ? scoreOf(shown.id)?.result : undefined}
          scoreSpan={props.scoreSpan}
          windows={windows}
          demo={demo}
        />
      )}
    </section>
  );
}

/** One file of the list: clicking it shows its waveform; once scored, its score, verdict and mini timeline. */
function ClipRow(props: {
  clip: Clip;
  selected: boolean;
  row: ScoreRow | undefined;
  wait: string | null;
  onSelect: () => void;
  onRemove: () => void;
}) {
  const { clip: c, selected, row, wait } = props;
  const r = row?.result;
  return (
    <li className={selected ? 'selected' : ''} data-testid="clip-row" data-file={c.name}>
      <button
        type="button"
        className="clip-pick"
        onClick={props.onSelect}
        aria-pressed={selected}
        // the file on show: pressing it again would do nothing, so the space bar plays it
        data-space-plays={selected || undefined}
        title={c.info ? `${c.info.sourceSampleRate} Hz, ${c.info.channels} ch` : undefined}
      >
        <span className="clip-name">{c.name}</span>
        <span className="muted mono small">
          {c.status === 'decoding' ? 'decoding…' : c.info ? formatTime(c.info.seconds) : ''}
        </span>
        {r && (
          <>
            <strong className="mono" data-testid="clip-score" data-value={String(r.pBonafide)}>
              {r.pBonafide.toFixed(4)}
            </strong>
            <VerdictText p={r.pBonafide} testId="clip-verdict" />
            <MiniTimeline p={r.pBonafide} timeline={r.timeline} />
          </>
        )}
      </button>
      {wait && (
        <span className="muted inline small" data-testid="clip-wait">
          {wait}
        </span>
      )}
      {row?.error && !wait && (
        <span className="error inline small" data-testid="clip-score-error">
          not scored: {row.error}
        </span>
      )}
      {c.info?.noSignal && (
        <span className="warning inline" data-testid="no-signal">
          {NO_SIGNAL_WARNING}
        </span>
      )}
      <ClipRowEnd clip={c} onRemove={props.onRemove} removeLabel={`Remove ${c.name}`} />
    </li>
  );
}

/** The file in view: its waveform, titled with its name and its score, and a long file's window summary. */
function ClipView(props: {
  clip: Clip;
  result: ScoreResult | undefined;
  scoreSpan: Props['scoreSpan'];
  windows: WindowOptions;
  demo: boolean;
}) {
  const { clip, result, windows, demo, scoreSpan } = props;
  const wave = useRef<WaveHandle>(null);
  const id = clip.id;
  const ready = clip.status === 'ready';
  // one function per reference and weights (the page's scoreSpan changes with them): a stretch's
  // result is shown only beside the choice it was scored under
  const scoreStretch = useCallback((span: Span, signal: AbortSignal) => scoreSpan(id, span, signal), [scoreSpan, id]);
  return (
    <>
      <Waveform
        ref={wave}
        blob={clip.file}
        label={clip.name}
        seconds={clip.info ? clip.info.samples / SAMPLE_RATE : undefined}
        keyboard
        scoreSpan={ready ? scoreStretch : undefined}
        timeline={result?.timeline}
        headline={
          result ? (
            <span className="wave-score" data-testid="wave-score" data-value={String(result.pBonafide)}>
              P(bona fide) <strong>{result.pBonafide.toFixed(4)}</strong> <VerdictText p={result.pBonafide} />
              {demo && <span className="demo-tag small"> (demo weights: meaningless)</span>}
            </span>
          ) : (
            <span className="muted small">not scored yet</span>
          )
        }
      />
      {result?.timeline && (
        <Timeline
          timeline={result.timeline}
          pBonafide={result.pBonafide}
          pSource={result.pSource}
          windowSeconds={windows.windowSeconds}
          hopSeconds={windows.hopSeconds}
          singlePassMaxSeconds={windows.singlePassMaxSeconds}
          demo={demo}
          onSeek={(t) => wave.current?.seek(t)}
        />
      )}
    </>
  );
}
