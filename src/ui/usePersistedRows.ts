import { useCallback, useEffect, useRef, useState } from 'react';
import { ResultsStore, type SavedRow, toSaved } from './persist';
import type { TableRow } from './ResultsTable';

/** Waits this long after the last change before writing (default 400 ms): a batch writes once per burst, not per row. */
const SAVE_DELAY_MS = 400;

const finished = (r: TableRow) => r.pBonafide != null || (r.error !== undefined && !r.cancelled);

/** Rows from earlier sessions (shown as older rows), and every finished live row written to IndexedDB as it lands. */
export function usePersistedRows(live: TableRow[]): { restored: TableRow[]; forget: () => Promise<void> } {
  const [restored, setRestored] = useState<TableRow[]>([]);
  const store = useRef<ResultsStore | null>(null);
  const savedAt = useRef(new Map<string, number>());
  const written = useRef(new Map<string, string>());

  useEffect(() => {
    let live = true;
    let opened: ResultsStore | null = null;
    void ResultsStore.open().then(async (s) => {
      opened = s;
      if (!live) {
        s?.close();
        return;
      }
      store.current = s;
      const rows: SavedRow[] = (await s?.load().catch(() => [])) ?? [];
      if (live) setRestored(rows.map(({ savedAt: _t, ...r }) => ({ ...r, current: false })));
    });
    return () => {
      live = false;
      opened?.close();
      store.current = null;
    };
  }, []);

  useEffect(() => {
    const t = setTimeout(() => {
      const s = store.current;
      if (!s) return;
      const now = Date.now();
      const changed: SavedRow[] = [];
      for (const r of live) {
        if (!finished(r)) continue;
        if (!savedAt.current.has(r.key)) savedAt.current.set(r.key, now);
        const row = toSaved(r, savedAt.current.get(r.key)!);
        const text = JSON.stringify(row);
        if (written.current.get(r.key) === text) continue;
        written.current.set(r.key, text);
        changed.push(row);
      }
      if (changed.length) void s.save(changed).catch(() => undefined); // a full quota only costs the next reload these rows
    }, SAVE_DELAY_MS);
    return () => clearTimeout(t);
  }, [live]);

  const forget = useCallback(async () => {
    await store.current?.clear().catch(() => undefined);
    written.current.clear();
    savedAt.current.clear();
    setRestored([]);
  }, []);

  return { restored, forget };
}
