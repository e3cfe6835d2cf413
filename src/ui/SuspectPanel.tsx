import type { WindowOptions } from '../analysis/windows';
import { NO_SIGNAL_WARNING } from '../audio/limits';
import type { ScoreResult } from '../worker/protocol';
import { type PickedFile, fromInput } from './batch-files';
import type { Clips } from './hooks/useClips';
import type { QueueState } from './scoring-queue';
import { Recorder } from './Recorder';
import { Timeline } from './Timeline';
import { Waveform } from './Waveform';
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
  /** Names in a dropped folder that are not audio by their extension. */
  skipped: string[];
  windows: WindowOptions;
  onWindows: (w: WindowOptions) => void;
  /** The shown clip's result under the current reference and weights, if scored. */
  shownResult: ScoreResult | undefined;
  demo: boolean;
}

/** The suspect clips: pickers, folder drops, recording, the list with its errors, the waveform or timeline. */
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

export function SuspectPanel(props: Props) {
  const { clips, dragging, onPicked, onRecorded, queue, skipped, windows, onWindows, shownResult, demo } = props;
  const shown = clips.shown;
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
      {clips.tests.length > 0 && (
        <ul className="clips">
          {clips.tests.map((c) => (
            <li key={c.id} className={c.id === shown?.id ? 'selected' : ''}>
              <button
                type="button"
                className="linklike"
                onClick={() => clips.select(c.id)}
                aria-pressed={c.id === shown?.id}
              >
                {c.name}
              </button>
              <span className="muted">
                {c.status === 'decoding' && ' decoding…'}
                {c.info && ` ${c.info.seconds.toFixed(2)} s, ${c.info.sourceSampleRate} Hz, ${c.info.channels} ch`}
              </span>
              {c.status === 'ready' && waitText(c.id, queue) && (
                <span className="muted inline" data-testid="clip-wait">
                  {waitText(c.id, queue)}
                </span>
              )}
              {c.info?.noSignal && (
                <span className="warning inline" data-testid="no-signal">
                  {NO_SIGNAL_WARNING}
                </span>
              )}
              {c.status === 'error' && (
                <span className="error inline" role="alert" data-testid="error">
                  {c.name}: {c.error}
                </span>
              )}
              <button
                type="button"
                className="remove"
                onClick={() => clips.remove(c.id)}
                aria-label={`Remove ${c.name}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <WindowSettings value={windows} onApply={onWindows} />
      {shown &&
        shown.status !== 'error' &&
        (shownResult?.timeline ? (
          <Timeline
            key={shown.id}
            blob={shown.file}
            label={shown.name}
            timeline={shownResult.timeline}
            pBonafide={shownResult.pBonafide}
            pSource={shownResult.pSource}
            windowSeconds={windows.windowSeconds}
            hopSeconds={windows.hopSeconds}
            singlePassMaxSeconds={windows.singlePassMaxSeconds}
            demo={demo}
          />
        ) : (
          <Waveform key={shown.id} blob={shown.file} label={shown.name} />
        ))}
    </section>
  );
}
