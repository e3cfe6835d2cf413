import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { WindowOptions } from '../../analysis/windows';
import type { InferenceClient } from '../inference-client';
import { type QueueInputs, type QueueState, ScoringQueue } from '../scoring-queue';

export interface Scoring extends QueueState {
  pause: () => void;
  resume: () => void;
  rescore: (key: string) => void;
  newWindows: (windows: WindowOptions, ids: ReadonlySet<string>) => void;
  approve: () => void;
  prioritize: (clipId: string) => void;
}

/** The scoring queue (scoring-queue.ts) on the worker, fed the page's current clips, reference and weights. */
export function useScoringQueue(client: InferenceClient, inputs: QueueInputs): Scoring {
  const [queue] = useState(() => new ScoringQueue((req, opts) => client.request('score', req, opts)));
  const state = useSyncExternalStore(
    (l) => queue.on(l),
    () => queue.snapshot,
  );
  useEffect(() => queue.update(inputs), [queue, inputs]);
  const actions = useMemo(
    () => ({
      pause: () => queue.pause(),
      resume: () => queue.resume(),
      rescore: (key: string) => queue.rescore(key),
      newWindows: (windows: WindowOptions, ids: ReadonlySet<string>) => queue.newWindows(windows, ids),
      approve: () => queue.approve(),
      prioritize: (clipId: string) => queue.prioritize(clipId),
    }),
    [queue],
  );
  return { ...state, ...actions };
}
