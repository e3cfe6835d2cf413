/** Extensions taken as audio when a folder is walked (loose files are all tried, so a bad one is named). */
export const AUDIO_EXTENSIONS = [
  'wav',
  'flac',
  'mp3',
  'ogg',
  'oga',
  'opus',
  'm4a',
  'aac',
  'webm',
  'mp4',
  'aif',
  'aiff',
  'caf',
];

/** Whether a file name ends in one of AUDIO_EXTENSIONS (case-insensitive). */
export function isAudioName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && AUDIO_EXTENSIONS.includes(name.slice(dot + 1).toLowerCase());
}
