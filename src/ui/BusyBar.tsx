import type { Progress } from '../worker/protocol';
import type { Busy } from './hooks/useWeights';

const MB = (n: number) => (n / 1048576).toFixed(1);

/** A progress line in words: bytes, layers, windows or the phase. */
export function progressText(p?: Progress): string {
  if (!p) return '';
  if (p.phase === 'warmup') return 'preparing the kernels (a first pass on silence)';
  if (p.total && (p.phase === 'download' || p.phase === 'convert')) {
    return `${MB(p.done ?? 0)} MB of ${MB(p.total)} MB (${((100 * (p.done ?? 0)) / p.total).toFixed(0)} %)`;
  }
  if (p.total && p.phase === 'window') return `window ${p.done} of ${p.total}`;
  if (p.total) return `${p.phase === 'reference' ? 'reference' : 'layer'} ${p.done} of ${p.total}`;
  return p.phase;
}

/** Something slow: what it is, how far it got, and Cancel when it can be cancelled; `idle` is shown before any progress. */
export function BusyBar({ busy, prefix = '', idle }: { busy: Busy; prefix?: string; idle: string }) {
  const p = busy.progress;
  return (
    <div className="progress" role="status">
      <span>
        {prefix}
        {busy.label}: {progressText(p) || idle}
      </span>
      <progress max={p?.total ?? 1} value={p?.total ? p.done : undefined} />
      {busy.cancel && (
        <button type="button" onClick={busy.cancel}>
          Cancel
        </button>
      )}
    </div>
  );
}

export { MB };
