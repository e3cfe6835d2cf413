import { type IDBPDatabase, openDB } from 'idb';
import type { ResultRow } from '../analysis/result';
import type { WindowOptions } from '../analysis/windows';

// Finished results survive a page reload: each row of the results table is kept in IndexedDB
// (this origin only, never sent anywhere) and read back as an older row. What comes back from
// storage is validated like any other input: a row that does not parse is dropped, not shown.

/** A stored result: an exportable row plus its table key and how long it took. */
export interface SavedRow extends ResultRow {
  key: string;
  /** When it was saved (ms since 1970), for ordering across sessions. */
  savedAt: number;
}

const DB = 'rat-results';
const STORE = 'rows';
const VERSION = 1;
/** Rows kept at most (default 20,000): the oldest go first. */
export const MAX_SAVED = 20_000;

const str = (v: unknown): v is string => typeof v === 'string';
const strOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const numOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

/** A stored value back as a row, or null when it is not one (another version, damaged, tampered). */
export function parseSaved(v: unknown): SavedRow | null {
  const r = v as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') return null;
  const w = r.weights as Record<string, unknown> | null;
  if (!str(r.key) || !str(r.file) || !numOrNull(r.seconds) || !numOrNull(r.pBonafide) || typeof r.savedAt !== 'number')
    return null;
  if (r.pBonafide !== null && !(r.pBonafide >= 0 && r.pBonafide <= 1)) return null;
  if (r.verdict !== null && r.verdict !== 'bonafide' && r.verdict !== 'spoof') return null;
  if (r.refMode !== 'zero' && r.refMode !== 'audio') return null;
  if (!strOrNull(r.ref) || !strOrNull(r.audioSha256)) return null;
  if (!w || typeof w !== 'object' || !str(w.label) || !strOrNull(w.sha256) || typeof w.demo !== 'boolean') return null;
  if (r.error !== undefined && !str(r.error)) return null;
  if (r.pBonafide === null && r.error === undefined) return null; // neither a score nor a reason
  if (r.backend !== undefined && !str(r.backend)) return null;
  if (r.elapsedMs !== undefined && !numOrNull(r.elapsedMs)) return null;
  if (r.label !== undefined && r.label !== null && r.label !== 'bonafide' && r.label !== 'spoof') return null;
  if (r.refSha256 !== undefined && !strOrNull(r.refSha256)) return null;
  if (r.scoredAt !== undefined && !str(r.scoredAt)) return null;
  if (r.pSource !== undefined && r.pSource !== 'single' && r.pSource !== 'window_mean') return null;
  const win = r.windows as Record<string, unknown> | undefined;
  const windowKeys = ['limitSeconds', 'windowSeconds', 'hopSeconds', 'singlePassMaxSeconds'] as const;
  if (
    win !== undefined &&
    (!win || typeof win !== 'object' || !windowKeys.every((k) => numOrNull(win[k]) && win[k] !== null))
  )
    return null;
  return {
    key: r.key,
    file: r.file,
    seconds: r.seconds,
    pBonafide: r.pBonafide,
    verdict: r.verdict,
    refMode: r.refMode,
    ref: r.ref,
    weights: { label: w.label, sha256: w.sha256, demo: w.demo, ...(str(w.dtype) ? { dtype: w.dtype } : {}) },
    audioSha256: r.audioSha256,
    savedAt: r.savedAt,
    ...(r.backend !== undefined ? { backend: r.backend } : {}),
    ...(r.elapsedMs !== undefined ? { elapsedMs: r.elapsedMs as number } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.timeline ? { timeline: r.timeline as SavedRow['timeline'] } : {}),
    ...(r.refSha256 !== undefined ? { refSha256: r.refSha256 } : {}),
    ...(r.scoredAt !== undefined ? { scoredAt: r.scoredAt } : {}),
    ...(r.pSource !== undefined ? { pSource: r.pSource } : {}),
    ...(win
      ? { windows: Object.fromEntries(windowKeys.map((k) => [k, win[k] as number])) as unknown as WindowOptions }
      : {}),
  };
}

/** The part of a table row worth keeping: no callbacks, no page-only state. */
export function toSaved(row: ResultRow & { key: string; elapsedMs?: number }, savedAt: number): SavedRow {
  const {
    key,
    file,
    seconds,
    pBonafide,
    verdict,
    refMode,
    ref,
    weights,
    audioSha256,
    backend,
    error,
    timeline,
    elapsedMs,
    refSha256,
    scoredAt,
    pSource,
    windows,
  } = row;
  return {
    key,
    file,
    seconds,
    pBonafide,
    verdict,
    refMode,
    ref,
    weights: { ...weights },
    audioSha256,
    savedAt,
    ...(backend !== undefined ? { backend } : {}),
    ...(elapsedMs !== undefined ? { elapsedMs } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(timeline ? { timeline } : {}),
    ...(refSha256 !== undefined ? { refSha256 } : {}),
    ...(scoredAt !== undefined ? { scoredAt } : {}),
    ...(pSource !== undefined ? { pSource } : {}),
    ...(windows ? { windows: { ...windows } } : {}),
  };
}

/** The rows store; null where IndexedDB is unavailable (private mode, storage disabled): results then last one session. */
export class ResultsStore {
  private constructor(private db: IDBPDatabase) {}

  static async open(): Promise<ResultsStore | null> {
    try {
      if (typeof indexedDB === 'undefined') return null;
      return new ResultsStore(
        await openDB(DB, VERSION, {
          upgrade(db) {
            db.createObjectStore(STORE, { keyPath: 'key' });
          },
        }),
      );
    } catch {
      return null;
    }
  }

  /** Every stored row that parses, oldest first. */
  async load(): Promise<SavedRow[]> {
    const all = await this.db.getAll(STORE);
    return all
      .map(parseSaved)
      .filter((r): r is SavedRow => r !== null)
      .sort((a, b) => a.savedAt - b.savedAt);
  }

  /** Writes rows (new or changed) in one transaction, then trims the oldest beyond MAX_SAVED. */
  async save(rows: SavedRow[]): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    await Promise.all([...rows.map((r) => tx.store.put(r)), tx.done]);
    const count = await this.db.count(STORE);
    if (count > MAX_SAVED) {
      const oldest = (await this.load()).slice(0, count - MAX_SAVED);
      const del = this.db.transaction(STORE, 'readwrite');
      await Promise.all([...oldest.map((r) => del.store.delete(r.key)), del.done]);
    }
  }

  async remove(keys: string[]): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
  }

  async clear(): Promise<void> {
    await this.db.clear(STORE);
  }

  close(): void {
    this.db.close();
  }
}
