import { useState } from 'react';
import { WorkerError } from '../worker/protocol';
import { BusyBar, MB } from './BusyBar';
import { type EngineChoice, switchEngine } from './engine-choice';
import type { Engine } from './hooks/useEngine';
import type { Weights } from './hooks/useWeights';

/** The engine (backend, and the user's choice of it) and the weights: the site's sets, a folder, a checkpoint, the cache. */
export function EnginePanel({ engine, weights }: { engine: Engine; weights: Weights }) {
  const [ckptConfig, setCkptConfig] = useState('');
  const { backend } = engine;
  const info = weights.info;
  const spec = weights.spec;
  const locked = !!weights.busy || engine.status !== 'ready';
  return (
    <section className="panel" aria-labelledby="engine-h">
      <h2 id="engine-h">Engine and weights</h2>
      <p>
        Backend: <strong data-testid="backend">{backend?.name ?? '…'}</strong>
        {backend && (
          <span className="muted" data-testid="backend-reason">
            {' '}
            ({backend.reason})
          </span>
        )}{' '}
        <label>
          Engine{' '}
          <select
            data-testid="engine-choice"
            value={engine.asked}
            onChange={(e) => switchEngine(e.target.value as EngineChoice)}
          >
            <option value="auto">automatic</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
      </p>
      <p>
        Weights: <strong data-testid="weights-label">{info?.label ?? 'loading…'}</strong>
        {info && (
          <span className="muted">
            {' '}
            ({info.dtype}, {MB(info.bytes)} MB
            {info.sha256 ? `, checkpoint SHA-256 ${info.sha256.slice(0, 12)}…` : ''}; ready in{' '}
            <span
              data-testid="weights-load-time"
              data-ms={Math.round(info.loadMs)}
              data-phases={JSON.stringify(info.loadTimings, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}
              data-prefault={JSON.stringify(info.prefault)}
            >
              {(info.loadMs / 1000).toFixed(1)} s
            </span>
            {info.cachedBytes >= info.bytes ? " from this browser's storage" : ''})
          </span>
        )}
      </p>
      <div className="row">
        <label className="select-label">
          Weight set
          <select
            data-testid="weight-set"
            value={spec?.kind === 'url' || spec?.kind === 'kept' ? spec.id : ''}
            disabled={locked}
            onChange={(e) => weights.pickSet(e.target.value)}
          >
            {spec?.kind !== 'url' && spec?.kind !== 'kept' && <option value="">{info?.label ?? 'from disk'}</option>}
            {weights.index.map((x) => (
              <option key={x.id} value={x.id}>
                {x.label}
              </option>
            ))}
            {weights.kept.length > 0 && (
              <optgroup label="Converted in this browser">
                {weights.kept.map((x) => (
                  <option key={x.id} value={x.id} data-testid="kept-set">
                    {x.label} ({MB(x.bytes)} MB, {x.keptAt.slice(0, 10)})
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label className="file-button">
          Open weights folder…
          <input
            type="file"
            multiple
            disabled={locked}
            data-testid="weights-folder-input"
            {...{ webkitdirectory: '' }}
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              e.target.value = '';
              weights.openFolder(files);
            }}
          />
        </label>
        <label className="file-button">
          Open checkpoint (.pt, .safetensors)…
          <input
            type="file"
            accept=".pt,.pth,.bin,.safetensors"
            disabled={locked}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) weights.openCheckpoint(file, ckptConfig);
            }}
          />
        </label>
      </div>
      <details className="options">
        <summary>Checkpoint options</summary>
        <label>
          Sizes a checkpoint's shapes cannot tell, as JSON (the converter's --config; XLS-R 300M / RAT when empty):
          <textarea
            rows={2}
            value={ckptConfig}
            spellCheck={false}
            onChange={(e) => setCkptConfig(e.target.value)}
            placeholder='{"extractor_conv_layer_config": [[512, 10, 5], ...], "encoder_num_heads": 16, "rib_num_heads": 4}'
          />
        </label>
      </details>
      {weights.busy && <BusyBar busy={weights.busy} prefix="Loading " idle="starting" />}
      {weights.error && (
        <p className="error" role="alert" data-testid="error" data-code={weights.errorCode ?? undefined}>
          {weights.error}
        </p>
      )}
      {info?.cacheProblem && (
        <p className="warning" role="status" data-testid="cache-problem">
          These weights work now but were not kept for the next visit: {info.cacheProblem}. They will be{' '}
          {spec?.kind === 'checkpoint' ? 'converted' : 'downloaded'} again next time; free some space (or "Clear cache")
          to keep them.
        </p>
      )}
      {weights.cache && (
        <p className="muted">
          Weight cache: {MB(weights.cache.bytes)} MB in {weights.cache.entries} shards
          {weights.cache.persisted ? ', kept by the browser' : ''}.{' '}
          <button
            type="button"
            onClick={() => {
              weights.clearCache().catch((e: Error) => {
                if (!(e instanceof WorkerError && e.code === 'crashed')) {
                  engine.say(`Could not clear the weight cache: ${e.message}`);
                }
              });
            }}
          >
            Clear cache
          </button>
        </p>
      )}
    </section>
  );
}
