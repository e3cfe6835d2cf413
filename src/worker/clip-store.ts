// The worker's audio: for each clip, where its samples come from (the user's file, kept as a Blob
// handle that costs no memory, or the PCM the page decoded with Web Audio), and a few decoded
// waveforms kept by recency under a byte budget. A batch of hours of audio then holds the budget,
// not the hours: a clip scored again after it left the cache is decoded again from its file.

/** Where a clip's 16 kHz waveform comes from. */
export type ClipSource =
  /** Encoded bytes, decoded again whenever the waveform is not cached. */
  | { kind: 'file'; name: string; file: Blob }
  /** Already decoded (by the browser's own decoder, which the worker cannot call): kept as is. */
  | { kind: 'wave'; wave: Float32Array };

/** Decoded waveforms kept by default: 32 MiB of 16 kHz float samples (about 8.7 minutes of audio). */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

export class ClipStore {
  private sources = new Map<string, ClipSource>();
  /** Decoded waveforms of file sources, least recently used first (Map keeps insertion order). */
  private cache = new Map<string, Float32Array>();
  /** Decodes in flight, so that two requests for one clip decode it once. */
  private decoding = new Map<string, Promise<Float32Array>>();

  constructor(
    private decode: (name: string, file: Blob) => Promise<Float32Array>,
    /** Budget for cached waveforms (default DEFAULT_CACHE_BYTES); the latest one is kept even when it alone is over. */
    private cacheBytes = DEFAULT_CACHE_BYTES,
  ) {}

  /** Registers a clip with the waveform it was just decoded to (cached, not re-decoded for the score that follows). */
  set(id: string, source: ClipSource, wave?: Float32Array) {
    this.delete(id);
    this.sources.set(id, source);
    if (source.kind === 'file' && wave) this.remember(id, wave);
  }

  has(id: string): boolean {
    return this.sources.has(id);
  }

  /** The clip's waveform, decoded again from its file when it is no longer cached; null for an unknown clip. */
  async wave(id: string): Promise<Float32Array | null> {
    const source = this.sources.get(id);
    if (!source) return null;
    if (source.kind === 'wave') return source.wave;
    const cached = this.cache.get(id);
    if (cached) {
      this.remember(id, cached);
      return cached;
    }
    let pending = this.decoding.get(id);
    if (!pending) {
      pending = this.decode(source.name, source.file).finally(() => this.decoding.delete(id));
      this.decoding.set(id, pending);
    }
    const wave = await pending;
    // forgotten or replaced while it decoded: hand the samples to the caller, keep nothing
    if (this.sources.get(id) === source) this.remember(id, wave);
    return wave;
  }

  delete(id: string) {
    this.sources.delete(id);
    this.cache.delete(id);
  }

  /** Clips known, waveforms cached and their bytes (tests and diagnostics). */
  stats(): { clips: number; cached: number; cachedBytes: number } {
    return { clips: this.sources.size, cached: this.cache.size, cachedBytes: this.bytes() };
  }

  private bytes(): number {
    let n = 0;
    this.cache.forEach((w) => (n += w.byteLength));
    return n;
  }

  private remember(id: string, wave: Float32Array) {
    this.cache.delete(id);
    this.cache.set(id, wave);
    for (const old of this.cache.keys()) {
      if (old === id || this.bytes() <= this.cacheBytes) break;
      this.cache.delete(old);
    }
  }
}
