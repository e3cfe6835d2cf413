import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

// The hostile-audio table shared by the CLI test and the browser test: each file, how it is made,
// and what must happen (a score, or an error matching a pattern). Files are generated in a temp
// folder with sox and a small WAV writer; the 2 GB file is sparse.

const ALSA = '/usr/share/sounds/alsa';
export const SPEECH = `${ALSA}/Front_Center.wav`;

/** The speaker-test recordings of alsa-utils: a second or two of speech each, 16-bit mono at 48 kHz. */
export const ALSA_SPEECH = [
  'Front_Center',
  'Front_Left',
  'Rear_Right',
  'Side_Left',
  'Rear_Center',
  'Front_Right',
  'Side_Right',
  'Rear_Left',
].map((n) => `${ALSA}/${n}.wav`);

/** A file's length in seconds, as sox reads it. */
export const audioSeconds = (file: string) => Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }));

/**
 * About 14 s of speech at 48 kHz (the eight ALSA_SPEECH clips, then the first two again), written
 * to `dir`/long.wav: windowed under the default settings, and short enough for a whole-file pass.
 * `base` is the same speech at 16 kHz, the unit that {@link repeatSpeech} plays over.
 */
export function longSpeech(dir: string): { long: string; base: string } {
  const long = path.join(dir, 'long.wav');
  const base = path.join(dir, 'base16k.wav');
  execFileSync('sox', [...ALSA_SPEECH, ALSA_SPEECH[0], ALSA_SPEECH[1], long]);
  execFileSync('sox', [long, '-r', '16000', base]);
  return { long, base };
}

/** `base` played over until it lasts at least `seconds`, written to `out`; returns `out`. */
export function repeatSpeech(base: string, seconds: number, out: string): string {
  // sox's "repeat n" plays the input n + 1 times
  execFileSync('sox', [base, out, 'repeat', String(Math.max(0, Math.ceil(seconds / audioSeconds(base)) - 1))]);
  return out;
}

export interface AudioCase {
  file: string;
  /** What the row checks. */
  what: string;
  /** A score is expected; `python` compares it with PyTorch (tolerance on P(bona fide)). */
  score?: { python?: number };
  /** An error matching this is expected. */
  error?: RegExp;
  /** Only in the CLI (too big to hand to a browser page in a test). */
  cliOnly?: boolean;
  /** Takes a minute or more: run once, not in every variant of a test. */
  slow?: boolean;
}

/** A canonical 44-byte-header WAV: PCM 16-bit (format 1) or IEEE float 32-bit (format 3), interleaved. */
export function wav(samples: Float32Array, rate: number, channels = 1, float = false): Buffer {
  const bytesPer = float ? 4 : 2;
  const data = Buffer.alloc(samples.length * bytesPer);
  for (let i = 0; i < samples.length; i++) {
    if (float) data.writeFloatLE(samples[i], i * 4);
    else data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767))), i * 2);
  }
  return Buffer.concat([wavHeader(data.length, rate, channels, float), data]);
}

function wavHeader(dataBytes: number, rate: number, channels: number, float: boolean): Buffer {
  const bytesPer = float ? 4 : 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(float ? 3 : 1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * bytesPer, 28);
  h.writeUInt16LE(channels * bytesPer, 32);
  h.writeUInt16LE(bytesPer * 8, 34);
  h.write('data', 36);
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** A 1x1 PNG (signature, IHDR, IDAT, IEND). */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a1e1b50000000049454e44ae426082',
  'hex',
);

const sox = (...args: string[]) => execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Writes every case's file into `dir` and returns the table. `big` adds the 1-hour and 2 GB files. */
export function makeAudioTable(dir: string, big = true): AudioCase[] {
  const at = (f: string) => path.join(dir, f);
  const tight = 2e-4; // PyTorch and tfjs on the same 16 kHz samples
  const resampled = 1e-3; // torchaudio's Kaiser sinc vs libsamplerate's best sinc (both 97 % bandwidth)
  sox(SPEECH, '-r', '16000', '-b', '16', at('speech-16k.wav'));
  writeFileSync(at('empty.wav'), '');
  writeFileSync(at('zero-samples.wav'), wav(new Float32Array(0), 16000));
  sox(at('speech-16k.wav'), at('short-399.wav'), 'trim', '0', '399s');
  sox(at('speech-16k.wav'), at('exact-400.wav'), 'trim', '0', '400s');
  writeFileSync(at('silence.wav'), wav(new Float32Array(16000), 16000));
  sox(at('speech-16k.wav'), at('dc-offset.wav'), 'dcshift', '0.4');
  sox('-G', at('speech-16k.wav'), at('clipped.wav'), 'gain', '40');
  const nan = new Float32Array(8000).map((_, i) => Math.sin(i / 10) * 0.5);
  nan[4321] = NaN;
  writeFileSync(at('nan-float.wav'), wav(nan, 16000, 1, true));
  const inf = nan.slice();
  inf[4321] = Infinity;
  writeFileSync(at('inf-float.wav'), wav(inf, 16000, 1, true));
  for (const r of [8000, 22050, 44100, 96000]) sox(SPEECH, '-r', String(r), '-b', '16', at(`speech-${r}.wav`));
  sox(
    '-M',
    ...['Front_Center', 'Front_Left', 'Front_Right', 'Rear_Left', 'Rear_Right', 'Side_Left'].map(
      (f) => `${ALSA}/${f}.wav`,
    ),
    at('six-channels.wav'),
  );
  sox(at('speech-16k.wav'), '-e', 'gsm-full-rate', at('gsm-codec.wav'));
  writeFileSync(at('image.png.wav'), PNG);

  const table: AudioCase[] = [
    { file: 'empty.wav', what: 'empty file', error: /^the file is empty \(0 bytes\)$/ },
    { file: 'zero-samples.wav', what: '0 samples', error: /holds no audio samples/ },
    { file: 'short-399.wav', what: 'shorter than the 400-sample receptive field', error: /needs at least 400 samples/ },
    { file: 'exact-400.wav', what: 'exactly 400 samples', score: { python: tight } },
    { file: 'silence.wav', what: 'digital silence', score: { python: tight } },
    { file: 'dc-offset.wav', what: 'DC offset', score: { python: tight } },
    { file: 'clipped.wav', what: 'full-scale clipping', score: { python: tight } },
    {
      file: 'nan-float.wav',
      what: 'NaN in a float WAV',
      error: /sample 4321 is NaN: the audio holds NaN or infinite values/,
    },
    {
      file: 'inf-float.wav',
      what: 'Inf in a float WAV',
      error: /sample 4321 is Infinity: the audio holds NaN or infinite values/,
    },
    { file: 'speech-8000.wav', what: '8 kHz', score: { python: resampled } },
    { file: 'speech-22050.wav', what: '22.05 kHz', score: { python: resampled } },
    { file: 'speech-44100.wav', what: '44.1 kHz', score: { python: resampled } },
    { file: 'speech-96000.wav', what: '96 kHz', score: { python: resampled } },
    { file: 'six-channels.wav', what: '6 channels', score: { python: resampled } },
    {
      file: 'gsm-codec.wav',
      what: 'unsupported codec (GSM in WAV)',
      error: /not a decodable audio file \(Unsupported WAV format: 0x31\)/,
    },
    { file: 'image.png.wav', what: 'a PNG renamed .wav', error: /not a decodable audio file/ },
  ];
  if (big) {
    sox('-n', '-r', '16000', '-b', '16', '-c', '1', at('one-hour.wav'), 'synth', '3600', 'pinknoise', 'vol', '0.1');
    // 2 GiB of declared samples, sparse on disk: the size check must refuse it before reading
    const fd = openSync(at('two-gb.wav'), 'w');
    writeSync(fd, wavHeader(2 ** 31, 16000, 1, false));
    closeSync(fd);
    execFileSync('truncate', ['-s', String(44 + 2 ** 31), at('two-gb.wav')]);
    table.push(
      { file: 'one-hour.wav', what: 'a 1-hour file', score: {}, cliOnly: true, slow: true },
      {
        file: 'two-gb.wav',
        what: 'a 2 GB file',
        error: /the file is 2048 MiB, over the 512 MiB limit for one audio file; split it/,
        cliOnly: true,
      },
    );
  }
  return table;
}
