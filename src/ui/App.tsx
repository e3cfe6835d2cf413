import { useEffect, useRef, useState } from 'react';
import { decodeClip } from '../audio/decode';
import { type RatModel, loadRatModel } from '../model/load';
import type { RatScore } from '../model/rat';
import { type BackendChoice, startBackend } from '../web/backend';
import { fetchWeightSource, fetchWeightsIndex } from '../web/fetch-weights';

// A minimal page for the model port: load the listed weights, pick a file, see P(bona fide).

interface Result { file: string; seconds: number; score: RatScore; ms: number }

export function App() {
  const [backend, setBackend] = useState<BackendChoice | null>(null);
  const [model, setModel] = useState<RatModel | null>(null);
  const [loading, setLoading] = useState('starting');
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  useEffect(() => {
    let live = true;
    let loaded: RatModel | null = null;
    (async () => {
      const force = new URLSearchParams(location.search).get('backend') === 'wasm' ? 'wasm' : undefined;
      const b = await startBackend(force);
      if (!live) return;
      setBackend(b);
      const [entry] = await fetchWeightsIndex();
      loaded = await loadRatModel(await fetchWeightSource(entry.path), {
        onProgress: (p) => live && setLoading(`loading weights ${(100 * p.loadedBytes / p.totalBytes).toFixed(0)} %`),
      });
      if (live) { setModel(loaded); setLoading(''); } else loaded.dispose();
    })().catch((e) => live && setError(`Could not start: ${(e as Error).message}`));
    return () => { live = false; loaded?.dispose(); };
  }, []);

  async function onFile(file: File | undefined) {
    if (!file || !model || busy.current) return;
    busy.current = true;
    setError(null);
    setResult(null);
    try {
      const clip = await decodeClip(new Uint8Array(await file.arrayBuffer()), file.name);
      const t0 = performance.now();
      const score = await model.score(clip.wave);
      setResult({ file: file.name, seconds: clip.seconds, score, ms: performance.now() - t0 });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      busy.current = false;
    }
  }

  const demo = model?.manifest.demo;
  return (
    <main>
      <h1>RAT audio deepfake detector</h1>
      <p className="privacy">Runs entirely in this browser: your audio never leaves the machine.</p>
      {demo && <p className="banner" role="alert">Demo weights: untrained, scores carry no meaning.</p>}
      <p>
        Backend: <span data-testid="backend">{backend?.name ?? '…'}</span>
        {backend && <span className="muted"> ({backend.reason})</span>}
      </p>
      <p>Weights: <span data-testid="weights-label">{model?.manifest.label ?? loading}</span></p>
      <label className="picker">
        Test clip{' '}
        <input data-testid="test-file-input" type="file" accept="audio/*" disabled={!model} onChange={(e) => onFile(e.target.files?.[0])} />
      </label>
      {error && <p className="error" role="alert" data-testid="error">{error}</p>}
      {result && (
        <section className="result" aria-live="polite">
          <p>
            {result.file}: P(bona fide) ={' '}
            <strong data-testid="score" data-value={String(result.score.pBonafide)}>{result.score.pBonafide.toFixed(4)}</strong>{' '}
            ({result.score.pBonafide >= 0.5 ? 'leans bona fide' : 'leans spoof'} at the 0.5 decision point)
          </p>
          <p className="muted">
            Reference: <span data-testid="ref-mode">{result.score.refMode === 'zero' ? 'zero vector (none)' : 'audio'}</span>
            {' · '}{result.seconds.toFixed(2)} s of audio scored in {result.ms.toFixed(0)} ms
            {demo && ' · demo weights, meaningless score'}
          </p>
        </section>
      )}
    </main>
  );
}
