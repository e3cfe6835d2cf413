/// <reference lib="webworker" />
import { type PagerJob, mapChunks } from '../model/heap-prefault';

// The pager: maps the pages of the heap a load has reserved, ahead of the load (src/model/heap-prefault.ts).

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<PagerJob>) => {
  mapChunks(ev.data);
};
