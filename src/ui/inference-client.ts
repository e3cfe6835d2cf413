import type { Api, FromWorker, Progress, RequestType, ToWorker } from '../worker/protocol';
import { WorkerError, transferables } from '../worker/protocol';

export { WorkerError };

// The page's side of the worker protocol: one worker, typed requests with ids, progress callbacks,
// cancellation through AbortSignal, and a restart that keeps nothing but the page's own state.

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
}

export type ClientEvent = { type: 'device-lost' | 'out-of-memory' | 'crashed'; message: string };

export interface RequestOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export class InferenceClient {
  private worker!: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Set<(e: ClientEvent) => void>();

  constructor() {
    this.spawn();
  }

  private spawn() {
    this.worker = new Worker(new URL('../worker/inference.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      if (m.kind === 'device-lost' || m.kind === 'out-of-memory') {
        this.emit({ type: m.kind, message: m.message });
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.kind === 'progress') p.onProgress?.(m.progress);
      else {
        this.pending.delete(m.id);
        if (m.kind === 'result') p.resolve(m.result);
        else p.reject(new WorkerError(m.error.code, m.error.name, m.error.message));
      }
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.failAll(`The inference worker crashed (${ev.message || 'unknown error'}).`);
      this.emit({ type: 'crashed', message: ev.message || 'unknown error' });
    };
  }

  private failAll(message: string) {
    this.pending.forEach((p) => p.reject(new WorkerError('crashed', 'WorkerCrashed', message)));
    this.pending.clear();
  }

  private emit(e: ClientEvent) {
    this.listeners.forEach((l) => l(e));
  }

  /** Subscribes to worker-wide events; returns the unsubscribe function. */
  on(listener: (e: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  request<K extends RequestType>(type: K, payload: Api[K]['req'], opts: RequestOptions = {}): Promise<Api[K]['res']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new WorkerError('cancelled', 'AbortError', 'Cancelled.'));
        return;
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress });
      opts.signal?.addEventListener('abort', () => this.worker.postMessage({ id, type: 'cancel' } satisfies ToWorker), {
        once: true,
      });
      this.worker.postMessage({ id, type, payload } as ToWorker, transferables(payload));
    });
  }

  /** Replaces the worker (after a lost GPU device or a crash); pending requests fail. */
  restart() {
    this.worker.terminate();
    this.failAll('The inference engine was restarted.');
    this.spawn();
  }
}
