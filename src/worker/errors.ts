import { AudioDecodeError } from '../audio/decode';
import { LayoutError } from '../convert/keymap';
import { OutOfMemoryError } from '../model/out-of-memory';
import { ClipTooShortError } from '../model/rat';
import { DownloadError } from '../web/resumable-fetch';
import type { ErrorCode, WireError } from './protocol';

// Errors as they cross a worker boundary: the error's name and message, and the code the other
// side acts on. Shared by the page's inference worker and the CLI's pool workers.

/** Thrown for a clip, reference or weights the worker no longer (or does not yet) hold. */
export class NotLoadedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLoadedError';
  }
}

/** The code of an error; `fallback` for errors of no known kind (what the request was doing decides it). */
export function errorCode(e: unknown, fallback: ErrorCode = 'failed'): ErrorCode {
  if ((e as Error)?.name === 'AbortError') return 'cancelled';
  if (e instanceof OutOfMemoryError) return 'out-of-memory';
  if (e instanceof AudioDecodeError) return e.undecodable ? 'undecodable' : 'bad-audio';
  if (e instanceof ClipTooShortError) return 'bad-audio';
  if (e instanceof LayoutError) return e.needsConfig ? 'needs-config' : 'bad-weights';
  if (e instanceof DownloadError) return 'download';
  if (e instanceof NotLoadedError) return 'not-loaded';
  return fallback;
}

/** The error as it travels: code, name and message. */
export function wireError(e: unknown, fallback?: ErrorCode): WireError {
  const code = errorCode(e, fallback);
  if (code === 'cancelled') return { code, name: 'AbortError', message: 'Cancelled.' };
  const err = e as Error;
  return { code, name: err?.name ?? 'Error', message: err?.message ?? String(e) };
}
