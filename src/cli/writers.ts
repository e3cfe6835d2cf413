import type { Evaluation } from '../analysis/evaluate';
import { displayName } from '../analysis/plain-text';
import { type ResultRow, buildCsv, evaluationJson, rowJson } from '../analysis/result';
import { verdictText } from '../analysis/verdict';
import type { WindowOptions } from '../analysis/windows';
import { NO_SIGNAL_WARNING } from '../audio/limits';

// The CLI's three outputs of one batch of ResultRows: text lines, JSON lines, a CSV table. A writer
// is told each row as it is scored and the evaluation at the end; where its lines go is the caller's.

export interface Writer {
  row(r: ResultRow): void;
  /** After the last row: the evaluation when labels were given. */
  end(evaluation: Evaluation | null): void;
}

export interface Sinks {
  /** A result line (stdout). */
  out: (line: string) => void;
  /** A line about a file that failed, or about the run (stderr). */
  err: (line: string) => void;
}

/** A result line per file, failures on stderr, the evaluation in words. */
export function textWriter(s: Sinks, windows: WindowOptions, demo: boolean): Writer {
  return {
    row(r) {
      if (r.error || r.pBonafide == null) {
        s.err(`${displayName(r.file)}: ${r.error}`);
        return;
      }
      const t = r.timeline;
      const how = !t
        ? ''
        : r.pSource === 'window_mean'
          ? ` mean of ${t.windows.length} windows (longer than --single-pass-max ${windows.singlePassMaxSeconds} s)`
          : ' whole file';
      const ref = r.refMode === 'audio' ? displayName(r.ref ?? '') : 'zero vector';
      s.out(
        `${displayName(r.file)}: P(bona fide) = ${r.pBonafide.toFixed(4)}${how} (${verdictText(r.pBonafide).text})` +
          `  ref: ${ref}  ${(r.seconds ?? 0).toFixed(2)} s audio, ${(r.elapsedMs ?? 0).toFixed(0)} ms` +
          `${r.weights.demo ? '  [demo weights]' : ''}${r.noSignal ? `  [${NO_SIGNAL_WARNING}]` : ''}`,
      );
      if (t) {
        s.out(
          `  timeline: ${t.windows.length} windows of ${windows.windowSeconds} s every ${windows.hopSeconds} s: ` +
            `mean ${t.meanP.toFixed(4)}, min ${t.minP.toFixed(4)}, ${(100 * t.fractionBelowHalf).toFixed(1)} % of windows below 0.5`,
        );
      }
    },
    end(e) {
      if (e) evaluationText(e, s.out, demo);
    },
  };
}

/** One JSON object per file on stdout (failures too), the evaluation as the last line. */
export function jsonWriter(s: Sinks): Writer {
  return {
    row: (r) => s.out(JSON.stringify(rowJson(r))),
    end: (e) => e && s.out(JSON.stringify(evaluationJson(e))),
  };
}

/** The whole CSV table at the end on stdout; failures and the evaluation in words on stderr. */
export function csvWriter(s: Sinks & { table: (csv: string) => void }, demo: boolean, caseId = ''): Writer {
  const rows: ResultRow[] = [];
  return {
    row(r) {
      rows.push(r);
      if (r.error) s.err(`${displayName(r.file)}: ${r.error}`);
    },
    end(e) {
      s.table(buildCsv(rows, caseId));
      if (e) evaluationText(e, s.err, demo);
    },
  };
}

/** EER and minDCF in words, per attack, and what did not match. */
function evaluationText(e: Evaluation, say: (line: string) => void, demoWeights: boolean) {
  const demo = demoWeights ? '  [demo weights: meaningless]' : '';
  say(
    e.metrics
      ? `EER ${(100 * e.metrics.eer).toFixed(2)} % (threshold ${e.metrics.eerThreshold.toFixed(4)}), ` +
          `minDCF ${e.metrics.minDcf.toFixed(4)} (ASVspoof 5 costs) over ${e.nBonafide} bona fide and ${e.nSpoof} spoof files${demo}`
      : e.problem!,
  );
  for (const a of e.attacks) {
    const eer = a.eer == null ? '' : `, EER vs bona fide ${(100 * a.eer).toFixed(2)} %`;
    say(`  ${a.attack}${a.tags ? ` (${a.tags})` : ''}: ${a.n} files${eer}`);
  }
  if (e.unlabelledFiles.length) {
    say(
      `no label for ${e.unlabelledFiles.length} scored files (left out): ${e.unlabelledFiles.map(displayName).join(', ')}`,
    );
  }
  if (e.unmatchedLabels.length) say(`${e.unmatchedLabels.length} labels matched no scored file`);
}
