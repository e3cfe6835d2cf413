// Size limits for audio from strangers, shared by the CLI and the app. Decoding holds the file and
// its float32 samples in memory at once (a 16-bit WAV grows 2x per channel), so past these sizes a
// browser tab or the CLI would run out of memory before a score.

/** Largest audio file accepted: 512 MiB (about 4.6 h of 16 kHz 16-bit mono WAV, 46 min of 48 kHz stereo). */
export const MAX_AUDIO_BYTES = 512 * 1024 * 1024;

/** Longest decoded clip accepted: 2 hours. */
export const MAX_AUDIO_SECONDS = 2 * 3600;

const MiB = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 3 : 0)} MiB`;

/** Why a file of this many bytes is refused, or null when it is within the limit. */
export function audioSizeProblem(bytes: number): string | null {
  if (bytes <= MAX_AUDIO_BYTES) return null;
  return (
    `the file is ${MiB(bytes)}, over the ${MiB(MAX_AUDIO_BYTES)} limit for one audio file; ` +
    'split it into shorter files (for example: sox in.wav part.wav trim 0 1800 : newfile : restart)'
  );
}

/** Why a decoded clip of this length is refused, or null when it is within the limit. */
export function audioLengthProblem(seconds: number): string | null {
  if (seconds <= MAX_AUDIO_SECONDS) return null;
  return `the audio lasts ${(seconds / 3600).toFixed(2)} hours, over the ${MAX_AUDIO_SECONDS / 3600}-hour limit; split it into shorter files`;
}

/** Level below which a clip holds no speech signal: RMS about its mean under 1e-4 (-80 dBFS). */
export const NO_SIGNAL_RMS = 1e-4;

/** Whether a clip is silent, constant or nearly so (its RMS about the mean is under NO_SIGNAL_RMS). */
export function hasNoSignal(wave: Float32Array): boolean {
  let mean = 0;
  for (let i = 0; i < wave.length; i++) mean += wave[i];
  mean /= wave.length || 1;
  let v = 0;
  for (let i = 0; i < wave.length; i++) v += (wave[i] - mean) ** 2;
  return Math.sqrt(v / (wave.length || 1)) < NO_SIGNAL_RMS;
}

/** What the CLI and the page say beside the score of such a clip. */
export const NO_SIGNAL_WARNING =
  'no speech signal: the clip is silent, constant or nearly so, and its score means nothing';
