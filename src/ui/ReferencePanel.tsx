import { formatTime } from '../analysis/time';
import { ClipRowEnd } from './ClipRowEnd';
import type { Clip, Clips } from './hooks/useClips';
import { Recorder } from './Recorder';
import { AUDIO_ACCEPT } from './SuspectPanel';
import { Waveform } from './Waveform';

/** The reference: the zero vector or one of the reference clips (refClip: the chosen one), picked, recorded and shown. */
export function ReferencePanel({ clips, refClip }: { clips: Clips; refClip: Clip | undefined }) {
  return (
    <section className="panel" aria-labelledby="ref-h">
      <h2 id="ref-h">Reference (claimed speaker)</h2>
      <fieldset>
        <legend className="muted">Which reference the detector compares against</legend>
        <label className="radio">
          <input type="radio" name="ref" checked={clips.refId === null} onChange={() => clips.chooseRef(null)} />
          <span>None: zero vector (the paper's reference-free setting)</span>
        </label>
        {clips.refs.map((c) => (
          <label className="radio" key={c.id}>
            <input
              type="radio"
              name="ref"
              checked={clips.refId === c.id}
              disabled={c.status !== 'ready'}
              onChange={() => clips.chooseRef(c.id)}
            />
            {c.name}
            <span className="muted">
              {c.status === 'decoding' ? ' decoding…' : c.info ? ` ${formatTime(c.info.seconds)}` : ''}
            </span>
            <ClipRowEnd clip={c} onRemove={() => clips.remove(c.id)} removeLabel={`Remove reference ${c.name}`} />
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label className="file-button">
          Choose a reference clip…
          <input
            data-testid="ref-file-input"
            type="file"
            accept={AUDIO_ACCEPT}
            onChange={(e) => {
              clips.add(e.target.files ?? [], 'ref');
              e.target.value = '';
            }}
          />
        </label>
        <Recorder label="a reference" onRecorded={(f) => clips.add([f], 'ref')} />
      </div>
      <p className="muted">
        Current reference: <strong data-testid="current-ref">{refClip ? refClip.name : 'zero vector (none)'}</strong>
      </p>
      {refClip && refClip.status === 'ready' && <Waveform key={refClip.id} blob={refClip.file} label={refClip.name} />}
    </section>
  );
}
