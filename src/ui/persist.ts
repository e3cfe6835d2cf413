import { type IDBPDatabase, openDB } from 'idb';
import type { ResultRow, Span } from '../analysis/result';
import type { TimelineSummary, WindowOptions } from '../analysis/windows';

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

const prob = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const WINDOW_KEYS = ['limitSeconds', 'windowSeconds', 'hopSeconds', 'singlePassMaxSeconds'] as const;

/** A stored timeline as the page draws it: every window a span of the clip with a probability. */
function isTimeline(v: unknown): v is TimelineSummary {
  const t = v as Record<string, unknown> | null;
  if (!t || typeof t !== 'object' || !Array.isArray(t.windows) || t.windows.length > 1_000_000) return false;
  if (!prob(t.meanP) || !prob(t.minP) || !prob(t.fractionBelowHalf)) return false;
  return t.windows.every((w: Record<string, unknown> | null) => {
    if (!w || typeof w !== 'object' || !prob(w.pBonafide)) return false;
    const { start, end } = w;
    return typeof start === 'number' && typeof end === 'number' && start >= 0 && end > start && Number.isFinite(end);
  });
}

/** A stored stretch: a start and a later end, in seconds, within a file. */
function isSpan(v: unknown): v is Span {
  const s = v as Record<string, unknown> | null;
  if (!s || typeof s !== 'object') return false;
  const { start, end } = s;
  return typeof start === 'number' && typeof end === 'number' && start >= 0 && end > start && Number.isFinite(end);
}

/**
 * The optional fields of a saved row, each with its check and its copy (a fresh object, so nothing
 * else from storage rides along): one table for reading rows back and for writing them.
 */
const OPTIONAL: { [K in keyof SavedRow]?: { ok: (v: unknown) => boolean; copy?: (v: never) => unknown } } = {
  backend: { ok: str },
  elapsedMs: { ok: numOrNull },
  error: { ok: str },
  timeline: { ok: (v) => v === null || isTimeline(v), copy: (t: TimelineSummary | null) => t && structuredClone(t) },
  refSha256: { ok: strOrNull },
  scoredAt: { ok: str },
  pSource: { ok: (v) => v === 'single' || v === 'window_mean' },
  noSignal: { ok: (v) => typeof v === 'boolean' },
  span: { ok: (v) => v === null || isSpan(v), copy: (s: Span | null) => s && { start: s.start, end: s.end } },
  logits: {
    ok: (v) => v === null || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')),
    copy: (l: [number, number] | null) => l && [l[0], l[1]],
  },
  windows: {
    ok: (v) => {
      const w = v as Record<string, unknown> | null;
      return !!w && typeof w === 'object' && WINDOW_KEYS.every((k) => numOrNull(w[k]) && w[k] !== null);
    },
    copy: (w: WindowOptions) => Object.fromEntries(WINDOW_KEYS.map((k) => [k, w[k]])),
  },
};

/** The optional fields of `r` that are present, copied; null when one of them fails its check. */
function optionals(r: Record<string, unknown>): Partial<SavedRow> | null {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(OPTIONAL)) {
    if (r[k] === undefined) continue;
    if (!f.ok(r[k])) return null;
    out[k] = f.copy ? f.copy(r[k] as never) : r[k];
  }
  return out as Partial<SavedRow>;
}

/** A stored value back as a row, or null when it is not one (another version, damaged, tampered). */
export function parseSaved(v: unknown): SavedRow | null {
  const r = v as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') return null;
  const w = r.weights as Record<string, unknown> | null;
  if (!str(r.key) || !str(r.file) || !numOrNull(r.seconds) || !numOrNull(r.pBonafide) || typeof r.savedAt !== 'number')
    return null;
  if (r.pBonafide !== null && !prob(r.pBonafide)) return null;
  if (r.verdict !== null && r.verdict !== 'bonafide' && r.verdict !== 'spoof') return null;
  if (r.refMode !== 'zero' && r.refMode !== 'audio') return null;
  if (!strOrNull(r.ref) || !strOrNull(r.audioSha256)) return null;
  if (!w || typeof w !== 'object' || !str(w.label) || !strOrNull(w.sha256) || typeof w.demo !== 'boolean') return null;
  if (r.pBonafide === null && r.error === undefined) return null; // neither a score nor a reason
  if (r.label !== undefined && r.label !== null && r.label !== 'bonafide' && r.label !== 'spoof') return null;
  const rest = optionals(r);
  if (!rest) return null;
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
    ...rest,
  };
}

/** The part of a table row worth keeping: no callbacks, no page-only state. */
export function toSaved(row: ResultRow & { key: string; elapsedMs?: number }, savedAt: number): SavedRow {
  const { key, file, seconds, pBonafide, verdict, refMode, ref, weights, audioSha256 } = row;
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
    ...optionals(row as unknown as Record<string, unknown>),
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
