import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { version as APP_VERSION } from '../../package.json';
import { evaluate } from '../analysis/evaluate';
import { NO_SIGNAL_WARNING, audioSizeProblem } from '../audio/limits';
import { type EngineChoice, engineChoice, switchEngine } from './engine-choice';
import { decodeLabelBytes, fileId, parseLabels } from '../analysis/labels';
import { type BatchRow, type ReportContext, verdictOf } from '../analysis/report';
import { DEFAULT_WINDOWS, type WindowOptions, needsWindows } from '../analysis/windows';
import { SAMPLE_RATE } from '../model/config';
import type { BackendName, ClipInfo, Progress, ScoreResult, WeightsInfo, WeightsSpec } from '../worker/protocol';
import { type WeightsIndexEntry, fetchWeightsIndex } from '../web/fetch-weights';
import { type PickedFile, fromDrop, fromInput, sortPicked } from './batch-files';
import { sha256Hex } from '../model/sha256';
import { EvaluationPanel, type LoadedLabels } from './EvaluationPanel';
import { ExportBar } from './ExportBar';
import type { ClientEvent } from './inference-client';
import { ConditionsPanel } from './ConditionsPanel';
import { ResultsTable, type TableRow } from './ResultsTable';
import { Recorder } from './Recorder';
import { Timeline } from './Timeline';
import { useInference } from './useInference';
import { usePersistedRows } from './usePersistedRows';
import { Waveform } from './Waveform';

/** Whether this build carries fault injection (tests only; production builds leave the code out). */
const FAULTS_BUILD = import.meta.env.VITE_RAT_FAULTS === '1';
import { WindowSettings } from './WindowSettings';

// The page: weights, test clips, reference, results. All model work happens in the worker; this
// component keeps the user's clips and results, so a restarted worker loses nothing.

type Role = 'test' | 'ref';

interface Clip {
  id: string;
  name: string;
  role: Role;
  file: File;
  status: 'decoding' | 'ready' | 'error';
  error?: string;
  info?: ClipInfo;
  /** SHA-256 of the file's bytes, once read. */
  sha256?: string;
}

interface Row {
  key: string;
  clipId: string;
  refId: string | null;
  refName: string;
  weightsLabel: string;
  weightsSha256: string | null;
  demo: boolean;
  result?: ScoreResult;
  error?: string;
}

interface Busy {
  label: string;
  progress?: Progress;
  cancel?: () => void;
}

/** What the file pickers offer: anything the browser calls audio, plus the extensions the decoder knows. */
const AUDIO_ACCEPT = 'audio/*,.wav,.flac,.mp3,.ogg,.opus,.m4a,.aac,.webm';
const MB = (n: number) => (n / 1048576).toFixed(1);
const keyOf = (clipId: string, refId: string | null, weightsId: string) => `${clipId}|${refId ?? 'zero'}|${weightsId}`;

export { verdict } from './verdict';

/** Timeline and score source of a result, for the table and the exports. */
function timelineOf(result?: ScoreResult): Pick<BatchRow, 'timeline' | 'pSource'> {
  return { timeline: result?.timeline ?? null, pSource: result?.pSource };
}

/** Files decoded at once: the worker decodes one at a time anyway, and scoring can slip in between. */
const DECODE_SLOTS = 2;

function progressText(p?: Progress): string {
  if (!p) return '';
  if (p.phase === 'warmup') return 'preparing GPU kernels';
  if (p.total && (p.phase === 'download' || p.phase === 'convert')) {
    return `${MB(p.done ?? 0)} MB of ${MB(p.total)} MB (${((100 * (p.done ?? 0)) / p.total).toFixed(0)} %)`;
  }
  if (p.total && p.phase === 'window') return `window ${p.done} of ${p.total}`;
  if (p.total) return `${p.phase === 'reference' ? 'reference' : 'layer'} ${p.done} of ${p.total}`;
  return p.phase;
}

export function App() {
  const [backend, setBackend] = useState<{ name: BackendName; reason: string } | null>(null);
  const [engine, setEngine] = useState<'starting' | 'ready' | 'restarting'>('starting');
  const [notice, setNotice] = useState<string | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [index, setIndex] = useState<WeightsIndexEntry[]>([]);
  const [weights, setWeights] = useState<WeightsInfo | null>(null);
  const [weightsBusy, setWeightsBusy] = useState<Busy | null>(null);
  const [weightsError, setWeightsError] = useState<string | null>(null);
  const [cache, setCache] = useState<{ bytes: number; entries: number; persisted: boolean } | null>(null);
  const [clips, setClips] = useState<Clip[]>([]);
  const [refChoice, setRefChoice] = useState<string>('zero');
  const [rows, setRows] = useState<Map<string, Row>>(new Map());
  const [scoring, setScoring] = useState<Busy | null>(null);
  const [paused, setPaused] = useState(false);
  // read by a cancelled job's late rejection: was scoring resumed before the cancel landed?
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const [selected, setSelected] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [ckptConfig, setCkptConfig] = useState('');
  const [labels, setLabels] = useState<LoadedLabels | null>(null);
  const [labelsError, setLabelsError] = useState<string | null>(null);
  const [skipped, setSkipped] = useState<string[]>([]);
  const decodeSlots = useRef({ free: DECODE_SLOTS, waiting: [] as (() => void)[] });
  const [windowOpts, setWindowOpts] = useState<WindowOptions>(DEFAULT_WINDOWS);
  const specRef = useRef<WeightsSpec | null>(null);
  const clipsRef = useRef(clips);
  clipsRef.current = clips;
  const jobRef = useRef<string | null>(null);

  const engineAsked = useMemo(() => engineChoice(), []);

  const onEvent = useCallback((e: ClientEvent) => {
    const why =
      e.type === 'device-lost'
        ? `The GPU device was lost (${e.message})`
        : e.type === 'out-of-memory'
          ? 'The engine ran out of memory on a long clip'
          : `The inference engine crashed (${e.message})`;
    setNotice(`${why}. Restarting it and reloading the weights; your clips and results are kept.`);
    setEngine('restarting');
  }, []);
  const client = useInference(onEvent);

  // fault injection for the E2E tests: only in a build made with VITE_RAT_FAULTS=1 (dist-faults/), on pages opened with ?faults=1
  useEffect(() => {
    if (!FAULTS_BUILD || new URLSearchParams(location.search).get('faults') !== '1') return;
    const w = window as unknown as { ratFaults?: unknown };
    w.ratFaults = {
      inject: (fault: 'device-lost' | 'crash') => client.request('simulateFault', { fault }),
      memory: () => client.request('memory', {}),
    };
    return () => {
      delete w.ratFaults;
    };
  }, [client]);

  // the cache line is informational: an engine restart or a storage error only leaves it stale
  const refreshCache = useCallback(async () => {
    const info = await client.request('cacheInfo', {}).catch(() => null);
    if (!info) return;
    const persisted = (await navigator.storage?.persisted?.().catch(() => false)) ?? false;
    setCache({ ...info, persisted });
  }, [client]);

  const loadWeights = useCallback(
    async (spec: WeightsSpec, label: string) => {
      // a set that fails to load does not become the current choice: the weights in use stay chosen
      const previous = specRef.current;
      specRef.current = spec;
      setWeightsError(null);
      const ac = new AbortController();
      setWeightsBusy({ label, cancel: () => ac.abort() });
      try {
        const info = await client.request(
          'loadWeights',
          { weights: spec },
          {
            signal: ac.signal,
            onProgress: (progress) => setWeightsBusy({ label, progress, cancel: () => ac.abort() }),
          },
        );
        setWeights(info);
        void refreshCache();
      } catch (e) {
        specRef.current = previous;
        const msg = (e as Error).message;
        const hint = /--config/.test(msg)
          ? ' In the app, put that JSON under "Checkpoint options" and open the checkpoint again.'
          : '';
        if ((e as Error).name !== 'WorkerCrashed') setWeightsError(`Could not load ${label}: ${msg}${hint}`);
      } finally {
        setWeightsBusy(null);
      }
    },
    [client, refreshCache],
  );

  const decode = useCallback(
    async (clip: Clip) => {
      const setClip = (patch: Partial<Clip>) =>
        setClips((cs) => cs.map((c) => (c.id === clip.id ? { ...c, ...patch } : c)));
      const slots = decodeSlots.current;
      if (slots.free > 0) slots.free--;
      else await new Promise<void>((r) => slots.waiting.push(r));
      try {
        // refused from its size alone: reading a 2 GB file into the page would exhaust the tab before the worker could say so
        const tooBig = audioSizeProblem(clip.file.size);
        if (tooBig) throw new Error(`${clip.name}: ${tooBig}`);
        let info: ClipInfo;
        try {
          const bytes = await clip.file.arrayBuffer();
          // hashed before the bytes are transferred to the worker
          const sha256 = await sha256Hex(bytes);
          setClip({ sha256 });
          info = await client.request('decode', { clipId: clip.id, name: clip.name, bytes });
        } catch (e) {
          // formats the shared decoder lacks (AAC in some containers): the browser decodes, the shared code resamples
          if ((e as Error).name !== 'AudioDecodeError' || !/not a decodable/.test((e as Error).message)) throw e;
          let pcm;
          try {
            const audio = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(await clip.file.arrayBuffer());
            pcm = {
              channels: Array.from({ length: audio.numberOfChannels }, (_, i) => audio.getChannelData(i).slice()),
              sampleRate: audio.sampleRate,
            };
          } catch {
            throw e;
          }
          info = await client.request('decode', { clipId: clip.id, name: clip.name, pcm });
        }
        setClip({ status: 'ready', info, error: undefined });
      } catch (e) {
        // the message whole, less the file name it starts with (shown beside it already)
        const msg = (e as Error).message;
        const named = `${clip.name}: `;
        if ((e as Error).name !== 'WorkerCrashed')
          setClip({ status: 'error', error: msg.startsWith(named) ? msg.slice(named.length) : msg });
      } finally {
        const next = slots.waiting.shift();
        if (next) next();
        else slots.free++;
      }
    },
    [client],
  );

  // start: backend, weights index, default weights
  useEffect(() => {
    if (engine === 'ready') return;
    let live = true;
    (async () => {
      if (engine === 'restarting') client.restart();
      const b = await client.request('init', { backend: engineAsked === 'auto' ? undefined : engineAsked });
      if (!live) return;
      setBackend(b);
      let spec = specRef.current;
      if (!spec) {
        const entries = await fetchWeightsIndex();
        setIndex(entries);
        if (!entries.length) throw new Error('weights/index.json lists no weight sets.');
        spec = { kind: 'url', id: entries[0].id, base: new URL(entries[0].path, document.baseURI).href };
        void navigator.storage?.persist?.().catch(() => false);
      }
      setEngine('ready');
      await loadWeights(
        spec,
        spec.kind === 'url' ? spec.id : spec.kind === 'folder' ? 'weights folder' : spec.file.name,
      );
      if (engine === 'restarting') {
        // the new worker holds no audio: decode every clip again before anything is scored
        const again = clipsRef.current.filter((c) => c.status !== 'error');
        setClips((cs) => cs.map((c) => (c.status === 'ready' ? { ...c, status: 'decoding' } : c)));
        again.forEach((c) => {
          void decode(c);
        });
        setNotice((n) =>
          n ? `${n.replace(/ Restarting.*$/, '')} The engine was restarted and the weights reloaded.` : n,
        );
      }
    })().catch((e) => live && setFatal(`Could not start the detector: ${(e as Error).message}`));
    return () => {
      live = false;
    };
  }, [engine, client, engineAsked, loadWeights, decode]);

  const loadLabels = useCallback(async (file: File) => {
    try {
      setLabels({
        name: file.name,
        set: parseLabels(decodeLabelBytes(new Uint8Array(await file.arrayBuffer()), file.name), file.name),
      });
      setLabelsError(null);
    } catch (e) {
      setLabelsError(`Labels not loaded: ${(e as Error).message}`);
    }
  }, []);

  const addFiles = useCallback(
    (files: Iterable<File | PickedFile>, role: Role) => {
      const added: Clip[] = [...files].map((f) => {
        const { file, path } = f instanceof File ? { file: f, path: '' } : f;
        return { id: crypto.randomUUID(), name: path || file.name, role, file, status: 'decoding' as const };
      });
      if (!added.length) return;
      setClips((cs) => [...cs, ...added]);
      if (role === 'ref') setRefChoice(added[added.length - 1].id);
      else setSelected((s) => s ?? added[0].id);
      added.forEach((c) => {
        void decode(c);
      });
    },
    [decode],
  );

  const removeClip = (id: string) => {
    setClips((cs) => cs.filter((c) => c.id !== id));
    if (refChoice === id) setRefChoice('zero');
    if (selected === id) setSelected(null);
    void client.request('forget', { clipId: id }).catch(() => undefined);
  };

  // automatic scoring: every ready test clip under the current reference and weights, one at a time
  const refId = refChoice === 'zero' ? null : refChoice;
  const refClip = clips.find((c) => c.id === refId);
  useEffect(() => {
    if (engine !== 'ready' || !weights || weightsBusy || paused || jobRef.current) return;
    if (refId && refClip?.status !== 'ready') return;
    const next = clips.find(
      (c) => c.role === 'test' && c.status === 'ready' && !rows.has(keyOf(c.id, refId, weights.id)),
    );
    if (!next) return;
    const key = keyOf(next.id, refId, weights.id);
    const ac = new AbortController();
    jobRef.current = key;
    const base: Row = {
      key,
      clipId: next.id,
      refId,
      refName: refClip?.name ?? 'zero vector',
      weightsLabel: weights.label,
      weightsSha256: weights.sha256,
      demo: weights.demo,
    };
    const label = `Scoring ${next.name}`;
    // cancelling pauses at once, so a Resume clicked before the worker answers is not undone
    const cancel = () => {
      pausedRef.current = true;
      setPaused(true);
      ac.abort();
    };
    setScoring({ label, cancel });
    client
      .request(
        'score',
        { clipId: next.id, refId, windows: windowOpts },
        {
          signal: ac.signal,
          onProgress: (progress) => setScoring({ label, progress, cancel }),
        },
      )
      .then(
        (result) => setRows((r) => new Map(r).set(key, { ...base, result })),
        (e: Error) => {
          if (e.name === 'WorkerCrashed') return;
          // resumed before the cancel landed: leave no row, so the file is scored again
          if (e.name === 'AbortError' && !pausedRef.current) {
            setRows((r) => new Map(r));
            return;
          }
          const error =
            e.name === 'AbortError'
              ? 'Cancelled'
              : e.name === 'OutOfMemoryError'
                ? `${e.message[0].toUpperCase()}${e.message.slice(1)}. Lower "Whole-file pass up to" (now ${windowOpts.singlePassMaxSeconds} s) ` +
                  `or "Window files longer than" (now ${windowOpts.limitSeconds} s) in the window settings, then Rescore.`
                : e.message;
          setRows((r) => new Map(r).set(key, { ...base, error }));
        },
      )
      .finally(() => {
        jobRef.current = null;
        setScoring(null);
      });
  }, [engine, weights, weightsBusy, paused, clips, rows, refId, refClip, client, windowOpts]);

  /** New window settings: results of files windowed under the old or the new settings are scored again. */
  const applyWindows = (o: WindowOptions) => {
    const windowed = (c: Clip) =>
      !!c.info &&
      (needsWindows(c.info.samples, SAMPLE_RATE, windowOpts) || needsWindows(c.info.samples, SAMPLE_RATE, o));
    const ids = new Set(clips.filter(windowed).map((c) => c.id));
    setWindowOpts(o);
    setRows((r) => new Map([...r].filter(([, row]) => !ids.has(row.clipId) || row.key === jobRef.current)));
    setPaused(false);
  };

  /** Dropped or picked files and folders: audio to the batch, a labels file to the evaluation. */
  const addPicked = useCallback(
    (picked: PickedFile[]) => {
      const { audio, labels: labelFiles, skipped: skip } = sortPicked(picked);
      setSkipped(skip);
      if (labelFiles.length) void loadLabels(labelFiles[labelFiles.length - 1]);
      addFiles(audio, 'test');
    },
    [addFiles, loadLabels],
  );

  /** Resumes scoring; files cancelled by the stop are scored again. */
  const resume = () => {
    setRows((r) => new Map([...r].filter(([, row]) => row.error !== 'Cancelled')));
    pausedRef.current = false;
    setPaused(false);
  };

  const rescore = (key: string) => {
    setRows((r) => {
      const m = new Map(r);
      m.delete(key);
      return m;
    });
    pausedRef.current = false;
    setPaused(false);
  };

  // drop anywhere on the page
  useEffect(() => {
    const over = (e: DragEvent) => {
      e.preventDefault();
      setDragging(true);
    };
    const leave = (e: DragEvent) => {
      if (!e.relatedTarget) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      setDragging(false);
      if (e.dataTransfer?.files.length) void fromDrop(e.dataTransfer).then(addPicked);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [addPicked]);

  const tests = clips.filter((c) => c.role === 'test');
  const refsList = clips.filter((c) => c.role === 'ref');
  const shown = clips.find((c) => c.id === selected) ?? tests[0];

  // the table, the exports and the evaluation all read these rows
  const tableRows: TableRow[] = useMemo(() => {
    const byId = new Map(clips.map((c) => [c.id, c]));
    const order = new Map(clips.map((c, i) => [c.id, i]));
    const out: TableRow[] = [...rows.values()]
      .sort((a, b) => (order.get(a.clipId) ?? -1) - (order.get(b.clipId) ?? -1))
      .map((r) => {
        const clip = byId.get(r.clipId);
        const p = r.result?.pBonafide ?? null;
        return {
          key: r.key,
          current: !!weights && r.key === keyOf(r.clipId, refId, weights.id),
          file: clip?.name ?? '(removed)',
          seconds: clip?.info?.seconds ?? null,
          pBonafide: p,
          verdict: p == null ? null : verdictOf(p),
          refMode: r.refId ? 'audio' : 'zero',
          ref: r.refId ? r.refName : null,
          weights: { label: r.weightsLabel, sha256: r.weightsSha256, demo: r.demo },
          audioSha256: clip?.sha256 ?? null,
          backend: r.result?.backend,
          elapsedMs: r.result?.elapsedMs,
          noSignal: clip?.info?.noSignal,
          ...timelineOf(r.result),
          error: r.result ? undefined : r.error,
          onRescore: r.error ? () => rescore(r.key) : undefined,
        };
      });
    // files that could not be decoded are part of the batch too (and of its exports)
    for (const c of clips) {
      if (c.role !== 'test' || c.status !== 'error') continue;
      out.push({
        key: `decode|${c.id}`,
        current: true,
        file: c.name,
        seconds: null,
        pBonafide: null,
        verdict: null,
        refMode: refId ? 'audio' : 'zero',
        ref: refId ? (refClip?.name ?? null) : null,
        weights: { label: weights?.label ?? '', sha256: weights?.sha256 ?? null, demo: !!weights?.demo },
        audioSha256: c.sha256 ?? null,
        error: c.error ?? 'could not be decoded',
      });
    }
    if (labels) for (const r of out) r.label = labels.set.labels.get(fileId(r.file))?.key ?? null;
    return out;
  }, [rows, clips, weights, refId, refClip, labels]);

  // results from earlier visits come back as older rows; every finished row is kept for the next one
  const { restored, forget: forgetSaved } = usePersistedRows(tableRows);
  // restored rows get the loaded labels as live rows do
  const restoredRows = useMemo(
    () =>
      labels ? restored.map((r) => ({ ...r, label: labels.set.labels.get(fileId(r.file))?.key ?? null })) : restored,
    [restored, labels],
  );
  const shownRows = useMemo(
    () => (restoredRows.length ? [...restoredRows, ...tableRows] : tableRows),
    [restoredRows, tableRows],
  );

  const currentRows = tableRows.filter((r) => r.current);
  // the evaluation takes the scores the table shows: this visit's, and restored ones for files not scored again
  const liveScored = currentRows.filter((r) => r.pBonafide != null);
  const liveFiles = new Set(liveScored.map((r) => r.file));
  const scored = [...liveScored, ...restoredRows.filter((r) => r.pBonafide != null && !liveFiles.has(r.file))];
  const evaluation = useMemo(
    () =>
      labels
        ? evaluate(
            scored.map((r) => ({ file: r.file, score: r.pBonafide! })),
            labels.set,
          )
        : null,
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [labels, scored.map((r) => `${r.key}:${r.pBonafide}`).join('|')],
  );
  const batchTotal = tests.length;
  const batchDone = tests.filter(
    (c) => c.status === 'error' || (weights && rows.get(keyOf(c.id, refId, weights.id))),
  ).length;
  const reportContext = (): ReportContext => ({
    appVersion: APP_VERSION,
    date: new Date().toISOString(),
    weights: {
      label: weights?.label ?? '',
      sha256: weights?.sha256 ?? null,
      demo: !!weights?.demo,
      dtype: weights?.dtype,
    },
    settings: {
      refMode: refId ? 'audio' : 'zero',
      ref: refClip?.name ?? null,
      windows: windowOpts,
      backend: backend?.name,
    },
    evaluation,
  });
  const exportRows: BatchRow[] = shownRows.map(({ key: _k, current: _c, onRescore: _r, ...r }) => r);

  return (
    <div className={`app${dragging ? ' dragging' : ''}`}>
      <header>
        <h1>RAT audio deepfake detector</h1>
        <p className="privacy">
          Runs entirely in this browser. Your audio never leaves this machine: the page makes no network requests beyond
          its own files, and has no analytics.
        </p>
      </header>

      {weights?.demo && (
        <p className="banner" role="alert">
          <strong>Demo weights: untrained, scores carry no meaning.</strong> Load the real RAT weights to get meaningful
          scores.
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}{' '}
          <button type="button" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </p>
      )}
      {fatal && (
        <p className="error" role="alert" data-testid="error">
          {fatal}
        </p>
      )}

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
              value={engineAsked}
              onChange={(e) => switchEngine(e.target.value as EngineChoice)}
            >
              <option value="auto">automatic</option>
              <option value="webgpu">WebGPU</option>
              <option value="wasm">WASM</option>
            </select>
          </label>
        </p>
        <p>
          Weights: <strong data-testid="weights-label">{weights?.label ?? 'loading…'}</strong>
          {weights && (
            <span className="muted">
              {' '}
              ({weights.dtype}, {MB(weights.bytes)} MB
              {weights.sha256 ? `, checkpoint SHA-256 ${weights.sha256.slice(0, 12)}…` : ''})
            </span>
          )}
        </p>
        <div className="row">
          <label className="select-label">
            Weight set
            <select
              data-testid="weight-set"
              value={specRef.current?.kind === 'url' ? specRef.current.id : ''}
              disabled={!!weightsBusy || engine !== 'ready'}
              onChange={(e) => {
                const entry = index.find((x) => x.id === e.target.value);
                if (entry)
                  void loadWeights(
                    { kind: 'url', id: entry.id, base: new URL(entry.path, document.baseURI).href },
                    entry.label,
                  );
              }}
            >
              {specRef.current?.kind !== 'url' && <option value="">{weights?.label ?? 'from disk'}</option>}
              {index.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
          <label className="file-button">
            Open weights folder…
            <input
              type="file"
              multiple
              disabled={!!weightsBusy || engine !== 'ready'}
              data-testid="weights-folder-input"
              {...{ webkitdirectory: '' }}
              onChange={(e) => {
                const files = [...(e.target.files ?? [])];
                e.target.value = '';
                if (files.length)
                  void loadWeights({ kind: 'folder', id: `folder:${Date.now()}`, files }, 'the chosen folder');
              }}
            />
          </label>
          <label className="file-button">
            Open checkpoint (.pt, .safetensors)…
            <input
              type="file"
              accept=".pt,.pth,.bin,.safetensors"
              disabled={!!weightsBusy || engine !== 'ready'}
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = '';
                if (!file) return;
                let overrides;
                try {
                  overrides = ckptConfig.trim() ? JSON.parse(ckptConfig) : undefined;
                } catch {
                  setWeightsError('Checkpoint options are not valid JSON; fix them and open the checkpoint again.');
                  return;
                }
                void loadWeights(
                  {
                    kind: 'checkpoint',
                    id: `ckpt:${file.name}:${file.size}:${file.lastModified}:${ckptConfig}`,
                    file,
                    overrides,
                  },
                  file.name,
                );
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
        {weightsBusy && (
          <div className="progress" role="status">
            <span>
              Loading {weightsBusy.label}: {progressText(weightsBusy.progress) || 'starting'}
            </span>
            <progress
              max={weightsBusy.progress?.total ?? 1}
              value={weightsBusy.progress?.total ? weightsBusy.progress.done : undefined}
            />
            {weightsBusy.cancel && (
              <button type="button" onClick={weightsBusy.cancel}>
                Cancel
              </button>
            )}
          </div>
        )}
        {weightsError && (
          <p className="error" role="alert" data-testid="error">
            {weightsError}
          </p>
        )}
        {weights?.cacheProblem && (
          <p className="warning" role="status" data-testid="cache-problem">
            These weights work now but were not kept for the next visit: {weights.cacheProblem}. They will be downloaded
            again next time; free some space (or "Clear cache") to keep them.
          </p>
        )}
        {cache && (
          <p className="muted">
            Weight cache: {MB(cache.bytes)} MB in {cache.entries} shards{cache.persisted ? ', kept by the browser' : ''}
            .{' '}
            <button
              type="button"
              onClick={() => {
                client.request('cacheClear', {}).then(
                  () => refreshCache(),
                  (e: Error) => {
                    if (e.name !== 'WorkerCrashed') setNotice(`Could not clear the weight cache: ${e.message}`);
                  },
                );
              }}
            >
              Clear cache
            </button>
          </p>
        )}
      </section>

      <section className="panel" aria-labelledby="test-h">
        <h2 id="test-h">Suspect audio</h2>
        <div className={`dropzone${dragging ? ' active' : ''}`}>
          <p>
            Drop audio files or whole folders anywhere on the page (WAV, FLAC, MP3, OGG/Opus, M4A/AAC, WebM; a labels
            CSV or protocol dropped with them goes to the evaluation), or
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
                  addPicked(fromInput(e.target.files));
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
                  addPicked(fromInput(e.target.files));
                  e.target.value = '';
                }}
              />
            </label>
            <Recorder label="suspect audio" onRecorded={(f) => addFiles([f], 'test')} />
          </div>
        </div>
        {skipped.length > 0 && (
          <p className="muted" data-testid="skipped">
            Skipped {skipped.length} file{skipped.length > 1 ? 's' : ''} in the folder that are not audio by their
            extension: {skipped.slice(0, 5).join(', ')}
            {skipped.length > 5 ? ', …' : ''}
          </p>
        )}
        {tests.length > 0 && (
          <ul className="clips">
            {tests.map((c) => (
              <li key={c.id} className={c.id === shown?.id ? 'selected' : ''}>
                <button
                  type="button"
                  className="linklike"
                  onClick={() => setSelected(c.id)}
                  aria-pressed={c.id === shown?.id}
                >
                  {c.name}
                </button>
                <span className="muted">
                  {c.status === 'decoding' && ' decoding…'}
                  {c.info && ` ${c.info.seconds.toFixed(2)} s, ${c.info.sourceSampleRate} Hz, ${c.info.channels} ch`}
                </span>
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
                  onClick={() => removeClip(c.id)}
                  aria-label={`Remove ${c.name}`}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <WindowSettings value={windowOpts} onApply={applyWindows} />
        {shown &&
          shown.status !== 'error' &&
          (() => {
            const res = weights ? rows.get(keyOf(shown.id, refId, weights.id))?.result : undefined;
            return res?.timeline ? (
              <Timeline
                key={shown.id}
                blob={shown.file}
                label={shown.name}
                timeline={res.timeline}
                pBonafide={res.pBonafide}
                pSource={res.pSource}
                windowSeconds={windowOpts.windowSeconds}
                hopSeconds={windowOpts.hopSeconds}
                singlePassMaxSeconds={windowOpts.singlePassMaxSeconds}
                demo={!!weights?.demo}
              />
            ) : (
              <Waveform key={shown.id} blob={shown.file} label={shown.name} />
            );
          })()}
      </section>

      <section className="panel" aria-labelledby="ref-h">
        <h2 id="ref-h">Reference (claimed speaker)</h2>
        <fieldset>
          <legend className="muted">Which reference the detector compares against</legend>
          <label className="radio">
            <input type="radio" name="ref" checked={refChoice === 'zero'} onChange={() => setRefChoice('zero')} />
            <span>None: zero vector (the paper's reference-free setting)</span>
          </label>
          {refsList.map((c) => (
            <label className="radio" key={c.id}>
              <input
                type="radio"
                name="ref"
                checked={refChoice === c.id}
                disabled={c.status !== 'ready'}
                onChange={() => setRefChoice(c.id)}
              />
              {c.name}
              <span className="muted">
                {c.status === 'decoding' ? ' decoding…' : c.info ? ` ${c.info.seconds.toFixed(2)} s` : ''}
              </span>
              {c.status === 'error' && (
                <span className="error inline" role="alert" data-testid="error">
                  {c.name}: {c.error}
                </span>
              )}
              <button
                type="button"
                className="remove"
                onClick={() => removeClip(c.id)}
                aria-label={`Remove reference ${c.name}`}
              >
                Remove
              </button>
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
                addFiles(e.target.files ?? [], 'ref');
                e.target.value = '';
              }}
            />
          </label>
          <Recorder label="a reference" onRecorded={(f) => addFiles([f], 'ref')} />
        </div>
        <p className="muted">
          Current reference: <strong data-testid="current-ref">{refClip ? refClip.name : 'zero vector (none)'}</strong>
        </p>
        {refClip && refClip.status === 'ready' && (
          <Waveform key={refClip.id} blob={refClip.file} label={refClip.name} />
        )}
      </section>

      <ConditionsPanel
        client={client}
        ready={
          engine === 'ready' &&
          !!weights &&
          !weightsBusy &&
          refClip?.status !== 'decoding' &&
          !clips.some((c) => c.status === 'decoding')
        }
        test={shown && shown.status === 'ready' ? { id: shown.id, name: shown.name } : null}
        matched={refClip && refClip.status === 'ready' ? { id: refClip.id, name: refClip.name } : null}
        candidates={clips
          .filter((c) => c.status === 'ready' && c.id !== shown?.id && c.id !== refClip?.id)
          .map((c) => ({ id: c.id, name: c.name }))}
        weightsId={weights?.id ?? null}
        demo={!!weights?.demo}
        maxSeconds={Math.max(windowOpts.limitSeconds, windowOpts.singlePassMaxSeconds)}
      />

      <section className="panel" aria-labelledby="res-h" aria-live="polite">
        <h2 id="res-h">Results</h2>
        {scoring && (
          <div className="progress" role="status">
            <span>
              {scoring.label}: {progressText(scoring.progress) || 'queued'}
            </span>
            <progress
              max={scoring.progress?.total ?? 1}
              value={scoring.progress?.total ? scoring.progress.done : undefined}
            />
            {scoring.cancel && (
              <button type="button" onClick={scoring.cancel}>
                Cancel
              </button>
            )}
          </div>
        )}
        {paused && (
          <p className="notice">
            Scoring is paused.{' '}
            <button type="button" onClick={resume}>
              Resume
            </button>
          </p>
        )}
        {batchTotal > 1 && (
          <div className="progress" role="status" data-testid="batch-status">
            <span>
              Batch: <strong data-testid="batch-done">{batchDone}</strong> of{' '}
              <strong data-testid="batch-total">{batchTotal}</strong> files done
            </span>
            <progress data-testid="batch-progress" max={batchTotal} value={batchDone} />
            {batchDone < batchTotal && !paused && (
              <button
                type="button"
                onClick={() => {
                  pausedRef.current = true;
                  setPaused(true);
                  scoring?.cancel?.();
                }}
              >
                Stop batch
              </button>
            )}
          </div>
        )}
        {shownRows.length === 0 && !scoring && <p className="muted">Scores appear here as soon as a clip is loaded.</p>}
        {restored.length > 0 && (
          <p className="muted" data-testid="restored">
            {restored.length} result{restored.length > 1 ? 's' : ''} from an earlier visit (kept in this browser only).{' '}
            <button
              type="button"
              onClick={() => {
                void forgetSaved();
              }}
            >
              Forget saved results
            </button>
          </p>
        )}
        {shownRows.length > 0 && (
          <>
            <ResultsTable rows={shownRows} showLabels={!!labels} />
            <ExportBar rows={exportRows} context={reportContext} />
          </>
        )}
        <p className="muted small">
          P(bona fide) is the model's probability that the speech is genuine; the verdict splits at 0.5 as the original
          code does. One score is evidence, not proof.
        </p>
      </section>

      <EvaluationPanel
        labels={labels}
        error={labelsError}
        evaluation={evaluation}
        demo={!!weights?.demo}
        onFile={(f) => {
          void loadLabels(f);
        }}
        onClear={() => {
          setLabels(null);
          setLabelsError(null);
        }}
      />
    </div>
  );
}
