// The production build's Content-Security-Policy: scripts, workers and data only from the app's own
// origin, nothing inline, no remote origins. Each exception is what the engine needs:
// - 'wasm-unsafe-eval': compiling tfjs-backend-wasm and the audio decoders' WebAssembly (not JS eval);
// - worker-src and script-src blob:: tfjs-backend-wasm starts its pthread workers from a blob: URL and
//   they importScripts() another blob: (only script already running on the page can make a blob: URL);
// - blob: for media/connect/img: the waveform plays and draws the user's own file through a blob: URL;
// - style-src 'unsafe-inline': wavesurfer.js puts its styles in a <style> inside its shadow root
//   (styles cannot run code; scripts stay strict).

/** Directives as [name, sources]; `frame-ancestors` only works as a header, so the meta tag leaves it out. */
const DIRECTIVES: [string, string][] = [
  ['default-src', "'self'"],
  ['script-src', "'self' 'wasm-unsafe-eval' blob:"],
  ['worker-src', "'self' blob:"],
  ['connect-src', "'self' blob: data:"],
  ['img-src', "'self' blob: data:"],
  ['media-src', "'self' blob:"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['font-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'self'"],
  ['form-action', "'none'"],
];

/** The policy for a <meta http-equiv> tag (static hosts that cannot send headers). */
export const CSP_META = DIRECTIVES.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy as a response header (vite preview, servers that can send headers): also refuses framing. */
export const CSP_HEADER = `${CSP_META}; frame-ancestors 'none'`;
