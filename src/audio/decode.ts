import decode from 'audio-decode';
import * as libsamplerate from '@alexanderolsen/libsamplerate-js';
import { SAMPLE_RATE } from '../model/config';
import { audioLengthProblem, audioSizeProblem } from './limits';

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
}

export class AudioDecodeError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'AudioDecodeError';
  }
}

// CommonJS package: the named exports sit on the default export under some bundlers.
const lsr = ((libsamplerate as unknown as { default?: typeof libsamplerate }).default ?? libsamplerate) as typeof libsamplerate;

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

/** Resamples to 16 kHz; the output has round(n * 16000 / rate) samples, aligned with the input. */
export async function resampleTo16k(wave: Float32Array, rate: number): Promise<Float32Array> {
  if (rate === SAMPLE_RATE) return wave;
  const src = await lsr.create(1, rate, SAMPLE_RATE, { converterType: lsr.ConverterType.SRC_SINC_BEST_QUALITY });
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
  let audio: { channelData: Float32Array[]; sampleRate: number };
  try {
    audio = await decode(bytes);
  } catch (e) {
    throw new AudioDecodeError(file, `not a decodable audio file (${(e as Error).message || e}); supported: WAV, FLAC, MP3, OGG/Opus and more`);
  }
  return clipFromChannels(audio?.channelData, audio?.sampleRate, file);
}

/** Decoded channels (from the shared decoder, or Web Audio for what it lacks) -> checked mono 16 kHz clip. */
export async function clipFromChannels(channelData: Float32Array[] | undefined, sampleRate: number | undefined, file: string): Promise<DecodedClip> {
  if (!channelData?.length || !(sampleRate! > 0)) throw new AudioDecodeError(file, 'the file holds no audio samples (the decoder found no channels)');
  const length = channelData[0].length;
  if (length === 0) throw new AudioDecodeError(file, 'the file holds no audio samples');
  const tooLong = audioLengthProblem(length / sampleRate!);
  if (tooLong) throw new AudioDecodeError(file, tooLong);
  const mono = downmix(channelData);
  for (let i = 0; i < mono.length; i++) {
    if (!Number.isFinite(mono[i])) throw new AudioDecodeError(file, `sample ${i} is ${mono[i]}: the audio holds NaN or infinite values`);
  }
  return { wave: await resampleTo16k(mono, sampleRate!), sourceSampleRate: sampleRate!, channels: channelData.length, seconds: length / sampleRate! };
}
