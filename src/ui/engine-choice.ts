// Which engine the page asks the worker for: ?backend=webgpu|wasm in the address, else the choice
// remembered from the engine switch, else automatic (a GPU's WebGPU, otherwise WASM).

export type EngineChoice = 'auto' | 'webgpu' | 'wasm';

const KEY = 'rat-engine';

/** The choice in force for this page load (default 'auto'). */
export function engineChoice(search = location.search): EngineChoice {
  const asked = new URLSearchParams(search).get('backend');
  if (asked === 'webgpu' || asked === 'wasm') return asked;
  try {
    const kept = localStorage.getItem(KEY);
    if (kept === 'webgpu' || kept === 'wasm') return kept;
  } catch {
    /* storage blocked: automatic */
  }
  return 'auto';
}

/** Remembers a choice and reloads the page with it (an engine starts once per worker). */
export function switchEngine(choice: EngineChoice): void {
  try {
    if (choice === 'auto') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* storage blocked: the address still carries it */
  }
  const url = new URL(location.href);
  if (choice === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', choice);
  location.assign(url.toString());
}
