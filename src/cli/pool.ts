import { Worker } from 'node:worker_threads';
import type { RatModel } from '../model/load';
import type { RatManifest } from '../model/manifest';
import type { ForwardOptions, PreparedReference, RatScore } from '../model/rat';
import type { NodeBackend } from './node-weights';
import { OutOfMemoryError } from '../model/out-of-memory';
import { type WireError, WorkerError } from '../worker/protocol';

// A pool of worker threads, each with its own model, so several clips are scored at once: tfjs-wasm
// runs one thread in Node, so one process uses one core. Each worker holds a full model (its
// own copy of every weight), so the pool costs one model's memory per worker.

export type PoolRequest =
  | { id: number; kind: 'reference'; wave: Float32Array | null }
  | { id: number; kind: 'score'; wave: Float32Array; diagnostics?: boolean }
  | { id: number; kind: 'close' };

export type PoolReply = {
  id: number;
  ready?: true;
  score?: RatScore;
  error?: WireError & { oom?: { seconds: number; detail: string; refused: boolean } };
};

/** The worker's error as the caller would have seen it in-process (OutOfMemoryError keeps its fields). */
const taskError = (e: NonNullable<PoolReply['error']>): Error =>
  e.oom ? new OutOfMemoryError(e.oom.seconds, e.oom.detail, e.oom.refused) : new WorkerError(e.code, e.name, e.message);

export interface PoolOptions {
  /** Weights folder written by convert-weights. */
  weights: string;
  /** Worker threads (default 1). */
  workers?: number;
  /** tfjs backend in each worker (default wasm). */
  backend?: NodeBackend;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  pending: Map<number, { resolve: (r: PoolReply) => void; reject: (e: Error) => void }>;
  dead?: Error;
}

export class ScoringPool {
  private nextId = 1;
  private queue: {
    wave: Float32Array;
    diagnostics?: boolean;
    resolve: (s: RatScore) => void;
    reject: (e: Error) => void;
  }[] = [];

  private constructor(private readonly slots: Slot[]) {}

  /** Starts the workers and waits until every one has loaded the model. */
  static async create(opts: PoolOptions): Promise<ScoringPool> {
    const n = Math.max(1, Math.floor(opts.workers ?? 1));
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(`./pool-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
    // run from TypeScript sources (tsx, vitest): the worker registers tsx's loader before importing it
    const boot = fromSource
      ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`
      : null;
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const worker = new Worker(boot ?? url, {
        eval: boot !== null,
        workerData: { weights: opts.weights, backend: opts.backend ?? 'wasm' },
      });
      const slot: Slot = { worker, busy: false, pending: new Map() };
      slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const fail = (e: Error) => {
            slot.dead = e;
            slot.pending.forEach((p) => p.reject(e));
            slot.pending.clear();
            reject(e);
          };
          worker.on('message', (r: PoolReply) => {
            if (r.id === 0) {
              if (r.error) fail(taskError(r.error));
              else resolve();
              return;
            }
            const p = slot.pending.get(r.id);
            slot.pending.delete(r.id);
            p?.resolve(r);
          });
          worker.on('error', (e) => fail(new Error(`scoring worker ${i + 1} crashed: ${e.message}`)));
          worker.on('exit', (code) => {
            if (slot.pending.size || !slot.dead) fail(new Error(`scoring worker ${i + 1} exited (code ${code})`));
          });
        }),
      );
    }
    const pool = new ScoringPool(slots);
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private send(slot: Slot, msg: PoolRequest, transfer: ArrayBuffer[] = []): Promise<PoolReply> {
    if (slot.dead) return Promise.reject(slot.dead);
    return new Promise((resolve, reject) => {
      slot.pending.set(msg.id, { resolve, reject });
      slot.worker.postMessage(msg, transfer);
    });
  }

  /** Sets the reference for later scores in every worker (each prepares it once); null = the zero vector. */
  async setReference(wave: Float32Array | null): Promise<void> {
    const replies = await Promise.all(
      this.slots.map((s) => this.send(s, { id: this.nextId++, kind: 'reference', wave })),
    );
    const bad = replies.find((r) => r.error);
    if (bad?.error) throw taskError(bad.error);
  }

  /** Scores one clip on the next free worker; the clip's buffer is transferred (the caller's copy becomes empty). */
  score(wave: Float32Array, opts: { diagnostics?: boolean } = {}): Promise<RatScore> {
    return new Promise((resolve, reject) => {
      this.queue.push({ wave, diagnostics: opts.diagnostics, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!this.queue.length) return;
      if (slot.busy || slot.dead) continue;
      const job = this.queue.shift()!;
      slot.busy = true;
      const wave =
        job.wave.byteOffset === 0 && job.wave.byteLength === job.wave.buffer.byteLength ? job.wave : job.wave.slice();
      this.send(slot, { id: this.nextId++, kind: 'score', wave, diagnostics: job.diagnostics }, [
        wave.buffer as ArrayBuffer,
      ])
        .then((r) => (r.error ? job.reject(taskError(r.error)) : job.resolve(r.score!)), job.reject)
        .finally(() => {
          slot.busy = false;
          this.dispatch();
        });
    }
    if (this.queue.length && this.slots.every((s) => s.dead))
      this.queue.splice(0).forEach((j) => j.reject(this.slots[0].dead!));
  }

  /** Disposes every worker's model and ends the threads. */
  async close(): Promise<void> {
    await Promise.all(
      this.slots.map(async (s) => {
        if (!s.dead)
          await Promise.race([
            this.send(s, { id: this.nextId++, kind: 'close' }),
            new Promise((r) => setTimeout(r, 5000)),
          ]).catch(() => {});
        s.dead ??= new Error('the pool is closed');
        await s.worker.terminate();
      }),
    );
  }
}

/**
 * The pool behind the model interface the CLI uses: prepareReference sets the pool's reference (the
 * returned handle only marks it; each worker keeps its own copy), score ignores progress and cancel.
 */
export async function pooledModel(
  pool: ScoringPool,
  manifest: RatManifest,
): Promise<Pick<RatModel, 'manifest' | 'score' | 'prepareReference' | 'dispose'>> {
  return {
    manifest,
    score: (wave: Float32Array, opts?: ForwardOptions) => pool.score(wave.slice(), { diagnostics: opts?.diagnostics }),
    async prepareReference(wave: Float32Array): Promise<PreparedReference> {
      await pool.setReference(wave.slice());
      return { mode: 'audio', frames: 0, layers: [], dispose() {} };
    },
    dispose() {},
  };
}
