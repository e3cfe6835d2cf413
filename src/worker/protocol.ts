import type { ConditionResult } from '../analysis/run-conditions';
import type { PSource } from '../analysis/score-clip';
import type { TimelineSummary, WindowOptions } from '../analysis/windows';
import type { ConfigOverrides } from '../convert/keymap';
import type { RatConfig } from '../model/config';
import type { LoadTimings } from '../model/load';
import type { PrefaultStats } from '../model/heap-prefault';
import type { KeptSet } from '../web/weights-loader';

export type { KeptSet };

// The typed request/response protocol between the page and the inference worker. Every request
// carries an id; the worker answers with progress messages and then exactly one result or error
// for that id. Large buffers travel as transferables.

export type BackendName = 'webgpu' | 'wasm';

/** Where a weight set comes from. */
export type WeightsSpec =
  /** base: absolute URL of the folder (the worker's own URL is not the page's) */
  | { kind: 'url'; id: string; base: string }
  | { kind: 'folder'; id: string; files: File[] }
  | { kind: 'checkpoint'; id: string; file: File; overrides?: ConfigOverrides }
  /** A checkpoint converted in the page on an earlier visit and kept in the browser's storage (id: KeptSet's). */
  | { kind: 'kept'; id: string };

export interface WeightsInfo {
  id: string;
  label: string;
  demo: boolean;
  dtype: string;
  sha256: string | null;
  config: RatConfig;
  bytes: number;
  /** Bytes that came from the browser's storage rather than the network. */
  cachedBytes: number;
  /** Why the downloaded or converted weights could not be kept for the next visit; null when they were (or came from a folder). */
  cacheProblem: string | null;
  /** A checkpoint converted here and kept: its id in the weight menu (keptWeights); null otherwise. */
  keptId: string | null;
  /** Milliseconds from the request to the weights being ready, warm-up included. */
  loadMs: number;
  /** Where the load's time went (reads, checks, tensors, packing, warm-up). */
  loadTimings: LoadTimings;
  /** Heap bytes mapped ahead of the load by the pager thread, and by the load where it was behind (null: no shared heap). */
  prefault: PrefaultStats | null;
}

export interface ClipInfo {
  seconds: number;
  sourceSampleRate: number;
  channels: number;
  samples: number;
  /** Silent, constant or below -80 dBFS: a score of it means nothing (NO_SIGNAL_WARNING). */
  noSignal: boolean;
}

export interface ScoreResult {
  /** The whole-file score, or the window mean when the file is too long for one pass (see pSource). */
  pBonafide: number;
  pSource: PSource;
  /** Logits of the whole-file pass; null when only windows were scored. */
  logits: [number, number] | null;
  refMode: 'zero' | 'audio';
  frames: number;
  elapsedMs: number;
  backend: BackendName;
  weightsId: string;
  /** Per-layer branch RMS of the whole-file pass (empty when only windows were scored). */
  attnRms: number[];
  mlpRms: number[];
  /** Window scores and their summary, for clips longer than the windowing limit. */
  timeline: TimelineSummary | null;
}

/** Each request type with its payload and its result. */
export interface Api {
  /** Starts a backend: `backend` forces one; `probeSoftware` (fault-injection builds only) probes a software adapter as if real. */
  init: { req: { backend?: BackendName; probeSoftware?: boolean }; res: { name: BackendName; reason: string } };
  loadWeights: { req: { weights: WeightsSpec }; res: WeightsInfo };
  /**
   * The user's file (a Blob handle: the worker reads it now and again whenever the decoded samples have
   * left its cache), or PCM that the page decoded with Web Audio (kept as decoded).
   */
  decode: {
    req: { clipId: string; name: string; file?: Blob; pcm?: { channels: Float32Array[]; sampleRate: number } };
    res: ClipInfo;
  };
  /**
   * Scores a clip; past windows.limitSeconds also as overlapping windows (default DEFAULT_WINDOWS).
   * span (seconds): only that stretch of the clip, scored as if it were the whole file.
   */
  score: {
    req: { clipId: string; refId: string | null; windows?: WindowOptions; span?: { start: number; end: number } };
    res: ScoreResult;
  };
  /** The paper's reference conditions on one test clip; mismatchedId: another clip as a different speaker; clips over maxSeconds are refused. */
  conditions: {
    req: { clipId: string; refId: string | null; mismatchedId: string | null; seed: number; maxSeconds?: number };
    res: ConditionResult[];
  };
  forget: { req: { clipId: string }; res: null };
  cacheInfo: { req: Record<string, never>; res: { bytes: number; entries: number } };
  /** Checkpoints converted in this browser and kept, newest first. */
  keptWeights: { req: Record<string, never>; res: KeptSet[] };
  cacheClear: { req: Record<string, never>; res: null };
  /** Fault injection for tests (?faults=1 pages only): lose the GPU device, or crash the worker. */
  simulateFault: { req: { fault: 'device-lost' | 'crash' }; res: null };
  /** The engine's memory (tests and diagnostics): live tensors and their bytes, clips known, waveforms cached, references held. */
  memory: {
    req: Record<string, never>;
    res: { numTensors: number; numBytes: number; clips: number; cached: number; cachedBytes: number; refs: number };
  };
}

export type RequestType = keyof Api;

export interface Progress {
  phase: 'download' | 'convert' | 'warmup' | 'reference' | 'score' | 'window' | 'condition';
  /** Bytes for download/convert; layers for reference/score; the window being scored (1-based) of all; conditions finished of all. */
  done?: number;
  total?: number;
  /** The condition being run (condition phase). */
  label?: string;
}

export type ToWorker =
  { [K in RequestType]: { id: number; type: K; payload: Api[K]['req'] } }[RequestType] | { id: number; type: 'cancel' };

/**
 * What went wrong, for the page to act on (it never reads the message text):
 * undecodable: the shared decoder did not recognise the bytes (the browser's decoder may);
 * bad-audio: decoded but unusable (empty, too short, too long, odd rate);
 * needs-config: a checkpoint whose sizes need the converter's --config options;
 * bad-weights: a weights folder or checkpoint that cannot be used;
 * download: the weights could not be fetched;
 * out-of-memory: the pass did not fit (see OutOfMemoryError);
 * not-loaded: no weights yet, or the clip or reference is no longer in the worker;
 * cancelled: the request was cancelled; crashed: the worker died or was restarted;
 * failed: anything else.
 */
export type ErrorCode =
  | 'undecodable'
  | 'bad-audio'
  | 'needs-config'
  | 'bad-weights'
  | 'download'
  | 'out-of-memory'
  | 'not-loaded'
  | 'cancelled'
  | 'crashed'
  | 'failed';

export interface WireError {
  code: ErrorCode;
  name: string;
  message: string;
}

/** An error raised on the other side of a worker boundary (the page's worker, the CLI's pool), with its code. */
export class WorkerError extends Error {
  constructor(
    readonly code: ErrorCode,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

export type FromWorker =
  | { id: number; kind: 'progress'; progress: Progress }
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; error: WireError }
  /** Not tied to a request: the GPU device was lost and the worker can no longer score. */
  | { id: 0; kind: 'device-lost'; message: string }
  /** Not tied to a request: the engine ran out of memory and must be restarted before it scores again. */
  | { id: 0; kind: 'out-of-memory'; message: string };

/** Buffers inside a payload that can be transferred instead of copied. */
export function transferables(payload: unknown): Transferable[] {
  const out: Transferable[] = [];
  const p = payload as { pcm?: { channels: Float32Array[] } };
  p?.pcm?.channels.forEach((c) => out.push(c.buffer as ArrayBuffer));
  return out;
}
