/**
 * Makes the page cross-origin isolated where the server does not send COOP/COEP: registers
 * coi-sw.js and reloads once it controls the page. Resolves false when the page will reload.
 */
export async function ensureIsolation(): Promise<boolean> {
  if (globalThis.crossOriginIsolated || !('serviceWorker' in navigator) || !import.meta.env.PROD) return true;
  const reloaded = sessionStorage.getItem('coi-reloaded') === '1';
  try {
    await navigator.serviceWorker.register(new URL('coi-sw.js', document.baseURI));
  } catch {
    return true; // blocked (private mode, insecure origin): run without threads
  }
  if (navigator.serviceWorker.controller || reloaded) {
    // controlled but still not isolated: the headers did not help; do not loop
    return true;
  }
  await navigator.serviceWorker.ready;
  sessionStorage.setItem('coi-reloaded', '1');
  location.reload();
  return false;
}
