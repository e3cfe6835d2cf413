import type { PagerJob } from '../model/heap-prefault';

/** The pager worker of this context, started on the first load; null where it cannot start or once it failed. */
let pager: Worker | null | undefined;

/**
 * Hands `job` to the pager worker (LoadOptions.pager). Where it cannot start or fails, the job's
 * chunks are left unclaimed and the load maps them itself, as it would without a pager.
 */
export function startPager(job: PagerJob): void {
  if (pager === undefined) {
    try {
      pager =
        typeof Worker === 'undefined'
          ? null
          : new Worker(new URL('./pager.worker.ts', import.meta.url), { type: 'module' });
    } catch {
      pager = null;
    }
    pager?.addEventListener('error', (ev) => {
      ev.preventDefault();
      pager?.terminate();
      pager = null;
    });
  }
  pager?.postMessage(job);
}
