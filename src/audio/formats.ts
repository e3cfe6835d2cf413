import audioType from 'audio-type';

// The audio formats this project decodes: what the README lists, and no more. Every decoder is
// code that parses a stranger's bytes, so the long tail audio-decode offers (tracker modules,
// DSD, WavPack, AC-3, WMA, ...) is refused by name before any decoder runs, and left out of the
// page's bundle (vite.config.ts points those packages at unsupported-codec.ts).

/** audio-type's names of the formats decoded, with the words a user knows them by. */
export const SUPPORTED_FORMATS: Record<string, string> = {
  wav: 'WAV',
  flac: 'FLAC',
  mp3: 'MP3',
  oga: 'Ogg Vorbis',
  opus: 'Opus',
  m4a: 'M4A/AAC',
  mp4: 'MP4 (AAC audio)',
  aac: 'AAC',
  webm: 'WebM',
  aiff: 'AIFF',
  caf: 'CAF',
};

/** The @audio/decode-* packages of formats not decoded here (aliased away in the page's bundle). */
export const UNSUPPORTED_DECODERS = [
  'ac3',
  'amr',
  'avi',
  'dsd',
  'dts',
  'eac3',
  'mod',
  'mpc',
  'qoa',
  'tta',
  'wavpack',
  'wma',
  'ape',
].map((c) => `@audio/decode-${c}`);

const LIST = [...new Set(Object.values(SUPPORTED_FORMATS))].join(', ');

/** Why bytes of a recognised but unsupported format are refused, or null (supported, or not recognised: the decoder says). */
export function formatProblem(bytes: Uint8Array): string | null {
  // a copy of the head: audio-type reads `.buffer` from offset 0, wrong for a view into a larger buffer (Node's pooled Buffers)
  const type = audioType(new Uint8Array(bytes.subarray(0, 65536)));
  if (!type || type in SUPPORTED_FORMATS) return null;
  return `${type.toUpperCase()} audio is not among the formats read here (${LIST}); convert it first, for example: ffmpeg -i in.${type} out.wav`;
}
