import { useCallback, useState } from 'react';
import { decodeLabelBytes, parseLabels } from '../../analysis/labels';
import type { LoadedLabels } from '../EvaluationPanel';

export interface Labels {
  loaded: LoadedLabels | null;
  error: string | null;
  load: (file: File) => Promise<void>;
  clear: () => void;
}

/** Ground truth for the evaluation: an ASVspoof protocol or a CSV of file name and bonafide/spoof. */
export function useLabels(): Labels {
  const [loaded, setLoaded] = useState<LoadedLabels | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async (file: File) => {
    try {
      const text = decodeLabelBytes(new Uint8Array(await file.arrayBuffer()), file.name);
      setLoaded({ name: file.name, set: parseLabels(text, file.name) });
      setError(null);
    } catch (e) {
      setError(`Labels not loaded: ${(e as Error).message}`);
    }
  }, []);
  const clear = useCallback(() => {
    setLoaded(null);
    setError(null);
  }, []);
  return { loaded, error, load, clear };
}
