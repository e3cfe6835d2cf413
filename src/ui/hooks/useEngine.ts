import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { BackendName } from '../../worker/protocol';
import { engineChoice } from '../engine-choice';
import type { ClientEvent, InferenceClient } from '../inference-client';
import { useInference } from '../useInference';

/** Whether this build carries fault injection (tests only; production builds leave the code out). */
const FAULTS_BUILD = import.meta.env.VITE_RAT_FAULTS === '1';

export type EngineStatus = 'starting' | 'ready' | 'restarting';

export interface Engine {
  client: InferenceClient;
  /** What the user asked for (?backend=..., the engine menu). */
  asked: ReturnType<typeof engineChoice>;
  backend: { name: BackendName; reason: string } | null;
  status: EngineStatus;
  notice: string | null;
  dismissNotice: () => void;
  /** The detector could not start at all. */
  fatal: string | null;
  /** A line for the user that is not an error of one file (a failed cache clear). */
  say: (notice: string) => void;
}

/**
 * The inference worker's life: started once, restarted after a lost GPU device, a crash or an
 * out-of-memory trap. `afterStart` runs once the backend is up (restarted: the new worker holds
 * no weights and no audio, so the caller loads and decodes them again).
 */
export function useEngine(afterStart: (restarted: boolean) => Promise<void>): Engine {
  const [backend, setBackend] = useState<Engine['backend']>(null);
  const [status, setStatus] = useState<EngineStatus>('starting');
  const [notice, setNotice] = useState<string | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const asked = useMemo(() => engineChoice(), []);
  const after = useRef(afterStart);
  after.current = afterStart;

  const onEvent = useCallback((e: ClientEvent) => {
    const why =
      e.type === 'device-lost'
        ? `The GPU device was lost (${e.message})`
        : e.type === 'out-of-memory'
          ? 'The engine ran out of memory on a long clip'
          : `The inference engine crashed (${e.message})`;
    setNotice(`${why}. Restarting it and reloading the weights; your clips and results are kept.`);
    setStatus('restarting');
  }, []);
  const client = useInference(onEvent);

  // fault injection for the E2E tests: only in a build made with VITE_RAT_FAULTS=1 (dist-faults/), on pages opened with ?faults=1
  useEffect(() => {
    if (!FAULTS_BUILD || new URLSearchParams(location.search).get('faults') !== '1') return;
    const w = window as unknown as { ratFaults?: unknown };
    w.ratFaults = {
      inject: (fault: 'device-lost' | 'crash') => client.request('simulateFault', { fault }),
      memory: () => client.request('memory', {}),
    };
    return () => {
      delete w.ratFaults;
    };
  }, [client]);

  useEffect(() => {
    if (status === 'ready') return;
    let live = true;
    const restarted = status === 'restarting';
    (async () => {
      if (restarted) client.restart();
      const b = await client.request('init', {
        backend: asked === 'auto' ? undefined : asked,
        // E2E tests drive the timed probe on this machine's software adapter (fault-injection builds only)
        probeSoftware: FAULTS_BUILD && new URLSearchParams(location.search).get('probe') === 'software',
      });
      if (!live) return;
      setBackend(b);
      setStatus('ready');
      await after.current(restarted);
      if (restarted) {
        setNotice((n) =>
          n ? `${n.replace(/ Restarting.*$/, '')} The engine was restarted and the weights reloaded.` : n,
        );
      }
    })().catch((e) => live && setFatal(`Could not start the detector: ${(e as Error).message}`));
    return () => {
      live = false;
    };
  }, [status, client, asked]);

  return {
    client,
    asked,
    backend,
    status,
    notice,
    dismissNotice: useCallback(() => setNotice(null), []),
    fatal,
    say: useCallback((n: string) => setNotice(n), []),
  };
}
