import path from 'node:path';
import cliProgress from 'cli-progress';
import { displayName, escapeControls } from '../analysis/plain-text';
import type { ClipProgress } from '../analysis/score-clip';
import type { Sinks } from './writers';

// Where the CLI's lines go while a batch runs: results to stdout, the rest to stderr, and a
// progress bar on stderr (on a terminal, for more than one file, or with --progress) with result
// lines kept above it. The bar counts seconds of audio, not files, so one long file moves it as
// its windows are scored; files not yet decoded count as the mean length of those that were.

/** Where a long file is, in words (window n of m, or the whole-file pass). */
const clipStep = (p: ClipProgress) =>
  p.phase === 'window' ? `window ${p.window} of ${p.windows}` : `whole file, layer ${p.layer} of ${p.layers}`;

export interface Terminal extends Sinks {
  /** A file's length is known. */
  decoded: (file: string, seconds: number) => void;
  /** Where a long file is: in the bar, or on a line of its own on a terminal without one. */
  onStep?: (file: string, p: ClipProgress, seconds: number) => void;
  /** A file is about to be scored. */
  starting: (file: string) => void;
  /** A file's result was written. */
  finished: (file: string) => void;
  stop: () => void;
}

export function terminal(o: { json: boolean; text: boolean; progress: boolean }, files: number): Terminal {
  const bars =
    o.progress || (process.stderr.isTTY && files > 1)
      ? new cliProgress.MultiBar(
          {
            stream: process.stderr,
            format: 'scoring [{bar}] {value}/{total} s of audio | {done}/{files} files | {eta_formatted} left | {file}',
            hideCursor: true,
            clearOnComplete: !!process.stderr.isTTY,
            noTTYOutput: !process.stderr.isTTY,
            notTTYSchedule: 1000,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const bar = bars?.create(1, 0, { file: '', done: 0, files });
  // seconds of audio: of every decoded file, and of the files finished so far (plus the running one's part)
  const known = new Map<string, number>();
  let doneSeconds = 0;
  let doneFiles = 0;
  // files that ended without a length (unreadable): no longer expected to add audio
  let unread = 0;
  let file = '';
  const total = () => {
    const sum = [...known.values()].reduce((a, b) => a + b, 0);
    const mean = known.size ? sum / known.size : 1;
    return Math.max(1, Math.round(sum + (files - known.size - unread) * mean));
  };
  const show = (value: number, label = file) => {
    bar?.setTotal(total());
    bar?.update(Math.round(value), { file: label, done: doneFiles, files });
  };
  // text lines are escaped whole: a decoder's message may quote the file name too (JSON is escaped by JSON.stringify)
  const shown = (line: string) => (o.json ? line : escapeControls(line));
  const stepLine = !bar && o.text && process.stderr.isTTY;
  return {
    out: (line) => (bars && process.stdout.isTTY ? bars.log(`${shown(line)}\n`) : console.log(shown(line))),
    err: (line) => (bars && process.stderr.isTTY ? bars.log(`${shown(line)}\n`) : console.error(shown(line))),
    decoded: (f, seconds) => {
      known.set(f, seconds);
      show(doneSeconds);
    },
    onStep: bar
      ? (f, p, seconds) => {
          const part = p.phase === 'window' && p.window && p.windows ? (p.window - 1) / p.windows : 0;
          show(doneSeconds + part * seconds, `${displayName(path.basename(f))}: ${clipStep(p)}`);
        }
      : stepLine
        ? (f, p) => process.stderr.write(`\r${displayName(f)}: ${clipStep(p)}   `)
        : undefined,
    starting: (f) => {
      file = displayName(path.basename(f));
      show(doneSeconds);
    },
    finished: (f) => {
      if (stepLine) process.stderr.write('\r\x1b[K');
      doneFiles++;
      const seconds = known.get(f);
      if (seconds === undefined) unread++;
      doneSeconds += seconds ?? 0;
      show(doneSeconds);
    },
    stop: () => bars?.stop(),
  };
}
