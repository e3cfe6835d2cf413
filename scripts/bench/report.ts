// Pure helpers of the benchmark: statistics, ratios and the one table it prints (unit-tested).

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  if (!xs.length) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Real-time factor: processing time over audio duration (below 1 is faster than real time). */
export function realTimeFactor(ms: number, audioSeconds: number): number {
  return ms / 1000 / audioSeconds;
}

export interface TimedRow {
  /** Backend, e.g. "PyTorch CPU (2 threads)". */
  backend: string;
  /** Audio seconds of the clip. */
  seconds: number;
  ref: 'zero' | 'audio';
  medianMs: number;
  pBonafide: number;
  /** Peak memory as text (RSS, tf.memory, GPU bytes), or '' when not measured. */
  memory: string;
  note?: string;
}

/** Rows with ratio to the PyTorch row of the same clip and reference, RTF and |dP|; PyTorch rows first. */
export function timedTable(rows: TimedRow[], reference: string): string[][] {
  const head = ['backend', 'clip', 'ref', 'median', 'x PyTorch', 'RTF', '|dP| vs PyTorch', 'peak memory', 'note'];
  const ref = (r: TimedRow) => rows.find((x) => x.backend === reference && x.seconds === r.seconds && x.ref === r.ref);
  const ordered = [...rows.filter((r) => r.backend === reference), ...rows.filter((r) => r.backend !== reference)];
  const body = ordered.map((r) => {
    const base = ref(r);
    const self = r.backend === reference;
    return [
      r.backend,
      `${r.seconds} s`,
      r.ref,
      formatMs(r.medianMs),
      self ? '1.00' : base ? (r.medianMs / base.medianMs).toFixed(2) : '-',
      realTimeFactor(r.medianMs, r.seconds).toFixed(2),
      self ? `P ${r.pBonafide.toFixed(6)}` : base ? Math.abs(r.pBonafide - base.pBonafide).toExponential(1) : '-',
      r.memory,
      r.note ?? '',
    ];
  });
  return [head, ...body];
}

export function formatMs(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

export function formatMb(mb: number | null | undefined): string {
  return mb == null ? '' : `${mb.toFixed(0)} MB`;
}

/** Plain-text table with padded columns; the first row is the header. */
export function renderTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.slice(1).map(line)].join('\n');
}

/** The same table as Markdown (for the README). */
export function renderMarkdown(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => (c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]), `|${rows[0].map(() => ' --- ').join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** One kernel of a tf.profile run, as tfjs reports it. */
export interface ProfiledKernel {
  name: string;
  kernelTimeMs: number | { error: string } | Promise<unknown>;
  inputShapes: number[][];
  outputShapes: number[][];
}

export interface KernelTotal {
  name: string;
  ms: number;
  calls: number;
  percent: number;
  gflops: number | null;
}

/**
 * Per-kernel totals of a tf.profile run, slowest first, with the matrix products' achieved GFLOP/s.
 * Op wrappers ("…__op") repeat their kernels' time and are left out.
 */
export function kernelTotals(kernels: ProfiledKernel[]): KernelTotal[] {
  const by = new Map<string, { ms: number; calls: number; flops: number }>();
  for (const k of kernels) {
    if (k.name.endsWith('__op') || typeof k.kernelTimeMs !== 'number') continue;
    const e = by.get(k.name) ?? { ms: 0, calls: 0, flops: 0 };
    e.ms += k.kernelTimeMs;
    e.calls++;
    if (/MatMul/.test(k.name)) {
      const a = k.inputShapes[0];
      e.flops += 2 * k.outputShapes[0].reduce((x, y) => x * y, 1) * a[a.length - 1];
    }
    by.set(k.name, e);
  }
  const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
  return [...by]
    .map(([name, e]) => ({
      name,
      ms: e.ms,
      calls: e.calls,
      percent: total ? (100 * e.ms) / total : 0,
      gflops: e.flops ? e.flops / e.ms / 1e6 : null,
    }))
    .sort((a, b) => b.ms - a.ms);
}

/** kernelTotals as printable lines: the top `top` kernels and the sum of all. */
export function renderKernels(totals: KernelTotal[], top = 16): string[] {
  const lines = ['kernel                 total ms      %  calls  GFLOP/s'];
  for (const k of totals.slice(0, top)) {
    lines.push(
      `${k.name.padEnd(22)} ${k.ms.toFixed(0).padStart(8)} ${k.percent.toFixed(1).padStart(6)} ${String(k.calls).padStart(6)}  ${k.gflops != null ? k.gflops.toFixed(1) : ''}`,
    );
  }
  lines.push(`all kernels ${totals.reduce((s, k) => s + k.ms, 0).toFixed(0)} ms`);
  return lines;
}
