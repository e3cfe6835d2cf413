export interface WeightsIndexEntry {
  id: string;
  path: string;
  label: string;
  demo: boolean;
}

/** The weight sets the app offers (public/weights/index.json). */
export async function fetchWeightsIndex(): Promise<WeightsIndexEntry[]> {
  const res = await fetch(new URL('weights/index.json', document.baseURI));
  if (!res.ok) throw new Error(`Could not fetch weights/index.json (HTTP ${res.status}).`);
  const body = await res.json().catch(() => null);
  if (!Array.isArray(body?.weights)) throw new Error('weights/index.json must hold {"weights": [...]}.');
  return body.weights;
}
