import { useEffect, useState } from 'react';
import { type ClientEvent, InferenceClient } from './inference-client';

let client: InferenceClient | null = null;

/** The one inference worker, created on first use and shared by every component. */
export function useInference(onEvent?: (e: ClientEvent) => void): InferenceClient {
  const [c] = useState(() => (client ??= new InferenceClient()));
  useEffect(() => (onEvent ? c.on(onEvent) : undefined), [c, onEvent]);
  return c;
}
