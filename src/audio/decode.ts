import decode from 'audio-decode';
import * as libsamplerate from '@alexanderolsen/libsamplerate-js';
import { SAMPLE_RATE } from '../model/config';
import { formatProblem } from './formats';
import { audioLengthProblem, audioSizeProblem, hasNoSignal } from './limits';
export { NO_SIGNAL_WARNING } from './limits';

// The one place audio is decoded and resampled, shared by the CLI and the browser app so a file
// scores the same in both: audio-decode for the container and codec, mean of channels for mono,
// libsamplerate's best sinc converter to 16 kHz.

export interface DecodedClip {
  /** Mono float waveform at 16 kHz: what the model reads. */
  wave: Float32Array;
  sourceSampleRate: number;
  channels: number;
  /** Length of the decoded audio in seconds. */
  seconds: number;
  /** Silence, a constant (DC) or a level below -80 dBFS: the model still gives a score, which says nothing about speech. */
  noSignal: boolean;
}

export class AudioDecodeError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    /** The decoder did not recognise the bytes (a browser's own decoder may still read them). */
    readonly undecodable = false,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'AudioDecodeError';
  }
}

// CommonJS package: the named exports sit on the default export under some bundlers.
const lsr = ((libsamplerate as unknown as { default?: typeof libsamplerate }).default ??
  libsamplerate) as typeof libsamplerate;

/** Mean of the channels. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i] += ch[i];
  for (let i = 0; i < out.length; i++) out[i] /= channels.length;
  return out;
}

/** Zeros appended before resampling: the library splits long inputs into chunks and drops the filter's tail (~430 input samples at 48 kHz). */
const TAIL_PAD = 8192;

/** Lowest sample rate accepted: below it no speech can have been recorded, and the header is more likely wrong than the audio. */
export const MIN_SAMPLE_RATE = 4000;
/** Highest: libsamplerate converts ratios down to 1/256. */
export const MAX_SAMPLE_RATE = 256 * SAMPLE_RATE;
/** libsamplerate-js refuses rates above this even where the ratio is fine. */
const WRAPPER_MAX_RATE = 192000;

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * The (input, output) rates handed to libsamplerate-js for `rate` -> 16 kHz: the converter works on
 * their ratio alone (the same double for any equal fraction), but the wrapper refuses rates over
 * 192 kHz and cuts long inputs into chunks of rate / 10 samples, which must be whole. So the
 * fraction is scaled until both hold. Null when no scaling does.
 */
export function resamplerRates(rate: number): [number, number] | null {
  const g = gcd(rate, SAMPLE_RATE);
  const divisors = Array.from({ length: g }, (_, i) => i + 1).filter((d) => g % d === 0);
  for (const m of [1, 2, 5, 10]) {
    for (const d of divisors) {
      const i = (rate * m) / d;
      const o = (SAMPLE_RATE * m) / d;
      if (Number.isInteger(i) && Number.isInteger(o) && i <= WRAPPER_MAX_RATE && o <= WRAPPER_MAX_RATE && i % 10 === 0)
        return [i, o];
    }
  }
  return null;
}

/** Why audio at `rate` Hz cannot be scored, or null. */
export function sampleRateProblem(rate: number): string | null {
  if (!Number.isFinite(rate) || rate <= 0) return `the file declares a sample rate of ${rate} Hz, which is not a rate`;
  if (rate < MIN_SAMPLE_RATE)
    return `the file declares a sample rate of ${rate} Hz, below the ${MIN_SAMPLE_RATE} Hz that speech needs: its header is probably wrong`;
  if (!Number.isInteger(rate))
    return `the file declares a fractional sample rate (${rate} Hz); convert it first, for example: sox in.wav -r 48000 out.wav`;
  if (rate > MAX_SAMPLE_RATE)
    return `the file's sample rate of ${rate} Hz is above the ${MAX_SAMPLE_RATE} Hz the resampler converts; convert it first, for example: sox in.wav -r 48000 out.wav`;
  if (!resamplerRates(rate))
    return `the file's sample rate of ${rate} Hz has no ratio to 16 kHz the resampler takes; convert it first, for example: sox in.wav -r 48000 out.wav`;
  return null;
}

/**
 * The sample rate a RIFF/WAVE file's fmt chunk declares, or null for other files: read before
 * decoding, so an absurd header is refused at once instead of failing inside the decoder or
 * resampling for minutes.
 */
export function wavDeclaredRate(bytes: Uint8Array): number | null {
  if (bytes.length < 12) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
  if ((tag(0) !== 'RIFF' && tag(0) !== 'RF64') || tag(8) !== 'WAVE') return null;
  for (let o = 12; o + 8 <= bytes.length;) {
    const size = v.getUint32(o + 4, true);
    if (tag(o) === 'fmt ') return o + 16 <= bytes.length ? v.getUint32(o + 12, true) : null;
    o += 8 + size + (size % 2);
  }
  return null;
}

/** Resamples to 16 kHz; the output has round(n * 16000 / rate) samples, aligned with the input. */
export async function resampleTo16k(wave: Float32Array, rate: number): Promise<Float32Array> {
  if (rate === SAMPLE_RATE) return wave;
  const rates = resamplerRates(rate);
  if (!rates) throw new Error(`internal: no resampler rates for ${rate} Hz`);
  const src = await lsr.create(1, rates[0], rates[1], { converterType: lsr.ConverterType.SRC_SINC_BEST_QUALITY });
  try {
    const padded = new Float32Array(wave.length + TAIL_PAD);
    padded.set(wave);
    return src.simple(padded).slice(0, Math.round((wave.length * SAMPLE_RATE) / rate));
  } finally {
    src.destroy();
  }
}

/** Decodes any supported file (WAV 16/24/32-bit int and 32-bit float, FLAC, MP3, OGG, ...) to mono 16 kHz. */
export async function decodeClip(bytes: Uint8Array, file: string): Promise<DecodedClip> {
  if (bytes.length === 0) throw new AudioDecodeError(file, 'the file is empty (0 bytes)');
  const tooBig = audioSizeProblem(bytes.length);
  if (tooBig) throw new AudioDecodeError(file, tooBig);
  const unsupported = formatProblem(bytes);
  if (unsupported) throw new AudioDecodeError(file, unsupported);
  const declared = wavDeclaredRate(bytes);
  const badRate = declared === null ? null : sampleRateProblem(declared);
  if (badRate) throw new AudioDecodeError(file, badRate);
  let audio: { channelData: Float32Array[]; sampleRate: number };
  try {
    audio = await decode(bytes);
  } catch (e) {
    throw new AudioDecodeError(
      file,
      `not a decodable audio file (${(e as Error).message || e}); supported: WAV, FLAC, MP3, OGG/Opus and more`,
      true,
    );
  }
  return clipFromChannels(audio?.channelData, audio?.sampleRate, file);
}

/** Decoded channels (from the shared decoder, or Web Audio for what it lacks) -> checked mono 16 kHz clip. */
export async function clipFromChannels(
  channelData: Float32Array[] | undefined,
  sampleRate: number | undefined,
  file: string,
): Promise<DecodedClip> {
  if (!channelData?.length || !(sampleRate! > 0))
    throw new AudioDecodeError(file, 'the file holds no audio samples (the decoder found no channels)');
  const badRate = sampleRateProblem(sampleRate!);
  if (badRate) throw new AudioDecodeError(file, badRate);
  const length = channelData[0].length;
  if (length === 0) throw new AudioDecodeError(file, 'the file holds no audio samples');
  const tooLong = audioLengthProblem(length / sampleRate!);
  if (tooLong) throw new AudioDecodeError(file, tooLong);
  const mono = downmix(channelData);
  for (let i = 0; i < mono.length; i++) {
    if (!Number.isFinite(mono[i]))
      throw new AudioDecodeError(file, `sample ${i} is ${mono[i]}: the audio holds NaN or infinite values`);
  }
  const wave = await resampleTo16k(mono, sampleRate!);
  return {
    wave,
    sourceSampleRate: sampleRate!,
    channels: channelData.length,
    seconds: length / sampleRate!,
    noSignal: hasNoSignal(wave),
  };
}
