/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** '1' in the test build (dist-faults/) that carries fault injection; unset in production. */
  readonly VITE_RAT_FAULTS?: string;
}
