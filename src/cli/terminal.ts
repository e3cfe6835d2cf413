import path from 'node:path';
import cliProgress from 'cli-progress';
import { displayName, escapeControls } from '../analysis/plain-text';
import type { ClipProgress } from '../analysis/score-clip';
import type { Sinks } from './writers';

// Where the CLI's lines go while a batch runs: results to stdout, the rest to stderr, and a
// progress bar on stderr (on a terminal, for more than one file, or with --progress) with result
// lines kept above it.

/** Where a long file is, in words (window n of m, or the whole-file pass). */
const clipStep = (p: ClipProgress) =>
  p.phase === 'window' ? `window ${p.window} of ${p.windows}` : `whole file, layer ${p.layer} of ${p.layers}`;

export interface Terminal extends Sinks {
  /** Where a long file is: in the bar, or on a line of its own on a terminal without one. */
  onStep?: (file: string, p: ClipProgress) => void;
  /** A file is about to be scored. */
  starting: (file: string) => void;
  /** A file's result was written. */
  finished: () => void;
  stop: () => void;
}

export function terminal(o: { json: boolean; text: boolean; progress: boolean }, files: number): Terminal {
  const bars =
    o.progress || (process.stderr.isTTY && files > 1)
      ? new cliProgress.MultiBar(
          {
            stream: process.stderr,
            format: 'scoring [{bar}] {value}/{total} files | {eta_formatted} left | {file}',
            hideCursor: true,
            clearOnComplete: !!process.stderr.isTTY,
            noTTYOutput: !process.stderr.isTTY,
            notTTYSchedule: 1000,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const bar = bars?.create(files, 0, { file: '' });
  // text lines are escaped whole: a decoder's message may quote the file name too (JSON is escaped by JSON.stringify)
  const shown = (line: string) => (o.json ? line : escapeControls(line));
  const stepLine = !bar && o.text && process.stderr.isTTY;
  return {
    out: (line) => (bars && process.stdout.isTTY ? bars.log(`${shown(line)}\n`) : console.log(shown(line))),
    err: (line) => (bars && process.stderr.isTTY ? bars.log(`${shown(line)}\n`) : console.error(shown(line))),
    onStep: bar
      ? (file, p) => bar.update({ file: `${displayName(path.basename(file))}: ${clipStep(p)}` })
      : stepLine
        ? (file, p) => process.stderr.write(`\r${displayName(file)}: ${clipStep(p)}   `)
        : undefined,
    starting: (file) => bar?.update({ file: displayName(path.basename(file)) }),
    finished: () => {
      if (stepLine) process.stderr.write('\r\x1b[K');
      bar?.increment();
    },
    stop: () => bars?.stop(),
  };
}
