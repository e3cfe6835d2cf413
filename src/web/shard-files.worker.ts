/// <reference lib="webworker" />
import { type FilesReply, type FilesRequest, type ShardFiles, handleFiles, opfsDir } from './shard-files';

// The shard store's own worker: reads stored shards into the buffers it is sent and stores shards,
// one handle at a time, while the worker that loads the model works on the shards already read.

const scope = self as unknown as DedicatedWorkerGlobalScope;
const files: Promise<ShardFiles | null> = opfsDir().then((dir) => dir && handleFiles(dir));

scope.onmessage = async (ev: MessageEvent<FilesRequest>) => {
  const m = ev.data;
  const here = await files;
  if (!here) {
    scope.postMessage({ id: m.id, op: 'unavailable' } satisfies FilesReply);
    return;
  }
  if (m.op === 'read') {
    // the caller's buffer, filled or not, goes back to it
    const ok = (await here.read(m.sha256, m.bytes, { take: () => m.buffer, give: () => undefined })) !== null;
    scope.postMessage({ id: m.id, op: 'read', buffer: m.buffer, ok } satisfies FilesReply, [m.buffer]);
    return;
  }
  try {
    await here.write(m.sha256, m.bytes);
    scope.postMessage({ id: m.id, op: 'write' } satisfies FilesReply);
  } catch (e) {
    const { name, message } = e as Error;
    scope.postMessage({
      id: m.id,
      op: 'write',
      error: { name: String(name), message: String(message) },
    } satisfies FilesReply);
  }
};
