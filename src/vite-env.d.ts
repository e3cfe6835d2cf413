/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** '1' in the test build (dist-faults/) that carries fault injection; unset in production. */
  readonly VITE_RAT_FAULTS?: string;
}

declare module 'audio-type' {
  /** The audio format of a file's first bytes ('wav', 'mp3', 'flac', ...), or undefined. */
  export default function audioType(bytes: Uint8Array | ArrayBuffer): string | undefined;
}
