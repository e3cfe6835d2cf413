import pLimit from 'p-limit';
import { useCallback, useMemo, useRef, useState } from 'react';
import { audioSizeProblem } from '../../audio/limits';
import { sha256Hex } from '../../model/sha256';
import type { ClipInfo } from '../../worker/protocol';
import { WorkerError } from '../../worker/protocol';
import type { PickedFile } from '../batch-files';
import type { InferenceClient } from '../inference-client';

export type Role = 'test' | 'ref';

export interface Clip {
  id: string;
  name: string;
  role: Role;
  file: File;
  status: 'decoding' | 'ready' | 'error';
  error?: string;
  info?: ClipInfo;
  /** SHA-256 of the file's bytes, once read. */
  sha256?: string;
}

/** Files decoded at once (default 2): the worker decodes one at a time anyway, and scoring can slip in between. */
const DECODE_SLOTS = 2;

export interface Clips {
  /** Every clip in the order it was added, test clips and references. */
  all: Clip[];
  tests: Clip[];
  refs: Clip[];
  /** The chosen reference clip's id; null for the zero vector. */
  refId: string | null;
  chooseRef: (id: string | null) => void;
  /** The test clip shown in the waveform and the conditions panel. */
  shown: Clip | undefined;
  select: (id: string) => void;
  /** Adds clips and starts decoding them; returns their ids. */
  add: (files: Iterable<File | PickedFile>, role: Role) => string[];
  remove: (id: string) => void;
  /** Decodes every clip again (a restarted worker holds no audio). */
  decodeAgain: () => void;
}

/** The user's clips: read, hashed and decoded in the worker (the browser's decoder for what it lacks). */
export function useClips(client: InferenceClient): Clips {
  const [all, setAll] = useState<Clip[]>([]);
  const [refChoice, setRefChoice] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const limit = useMemo(() => pLimit(DECODE_SLOTS), []);
  const allRef = useRef(all);
  allRef.current = all;

  const decode = useCallback(
    (clip: Clip) =>
      limit(async () => {
        const patch = (p: Partial<Clip>) => setAll((cs) => cs.map((c) => (c.id === clip.id ? { ...c, ...p } : c)));
        try {
          // refused from its size alone: reading a 2 GB file into the page would exhaust the tab before the worker could say so
          const tooBig = audioSizeProblem(clip.file.size);
          if (tooBig) throw new Error(`${clip.name}: ${tooBig}`);
          let info: ClipInfo;
          try {
            patch({ sha256: await sha256Hex(await clip.file.arrayBuffer()) });
            // the File itself, not its bytes: the worker keeps the handle and decodes again on demand
            info = await client.request('decode', { clipId: clip.id, name: clip.name, file: clip.file });
          } catch (e) {
            // formats the shared decoder lacks (AAC in some containers): the browser decodes, the shared code resamples
            if (!(e instanceof WorkerError) || e.code !== 'undecodable') throw e;
            info = await client.request('decode', {
              clipId: clip.id,
              name: clip.name,
              pcm: await browserDecode(clip, e),
            });
          }
          patch({ status: 'ready', info, error: undefined });
        } catch (e) {
          // the message whole, less the file name it starts with (shown beside it already)
          const msg = (e as Error).message;
          const named = `${clip.name}: `;
          if (!(e instanceof WorkerError && e.code === 'crashed')) {
            patch({ status: 'error', error: msg.startsWith(named) ? msg.slice(named.length) : msg });
          }
        }
      }),
    [client, limit],
  );

  const add = useCallback(
    (files: Iterable<File | PickedFile>, role: Role) => {
      const added: Clip[] = [...files].map((f) => {
        const { file, path } = f instanceof File ? { file: f, path: '' } : f;
        return { id: crypto.randomUUID(), name: path || file.name, role, file, status: 'decoding' as const };
      });
      if (!added.length) return [];
      setAll((cs) => [...cs, ...added]);
      if (role === 'ref') setRefChoice(added[added.length - 1].id);
      else setSelected((s) => s ?? added[0].id);
      added.forEach((c) => void decode(c));
      return added.map((c) => c.id);
    },
    [decode],
  );

  const remove = (id: string) => {
    setAll((cs) => cs.filter((c) => c.id !== id));
    setRefChoice((r) => (r === id ? null : r));
    setSelected((s) => (s === id ? null : s));
    void client.request('forget', { clipId: id }).catch(() => undefined);
  };

  const decodeAgain = useCallback(() => {
    const again = allRef.current.filter((c) => c.status !== 'error');
    setAll((cs) => cs.map((c) => (c.status === 'ready' ? { ...c, status: 'decoding' } : c)));
    again.forEach((c) => void decode(c));
  }, [decode]);

  const tests = all.filter((c) => c.role === 'test');
  return {
    all,
    tests,
    refs: all.filter((c) => c.role === 'ref'),
    refId: refChoice,
    chooseRef: setRefChoice,
    shown: all.find((c) => c.id === selected) ?? tests[0],
    select: setSelected,
    add,
    remove,
    decodeAgain,
  };
}

/** Decodes with Web Audio; when the browser cannot either, the shared decoder's error stands. */
async function browserDecode(clip: Clip, sharedError: Error) {
  try {
    const audio = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(await clip.file.arrayBuffer());
    const channels = Array.from({ length: audio.numberOfChannels }, (_, i) => audio.getChannelData(i).slice());
    return { channels, sampleRate: audio.sampleRate };
  } catch {
    throw sharedError;
  }
}
