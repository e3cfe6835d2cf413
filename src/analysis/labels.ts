import Papa from 'papaparse';

// Ground-truth labels for a batch: an ASVspoof protocol file (whitespace-separated; ASVspoof 5's
// 10 columns or ASVspoof 2019 LA's 5), a whitespace-separated list of file and key (and attack), or
// a CSV of file name and bonafide/spoof, matched to audio files by base name without extension.

export type Key = 'bonafide' | 'spoof';

export interface Label {
  /** File id: base name without directory or extension. */
  id: string;
  key: Key;
  /** ASVspoof 5 attack label (A01..A32, "bonafide"), 2019's attack id, or a CSV's third column; null when absent. */
  attack: string | null;
  /** ASVspoof 5 attack tag (codec/condition column 7) when the protocol has one, else null. */
  attackTag: string | null;
}

export interface LabelSet {
  format: 'asvspoof5' | 'asvspoof2019' | 'list' | 'csv';
  labels: Map<string, Label>;
}

export class LabelsError extends Error {
  override name = 'LabelsError';
}

/** Base name without directory or (last) extension: how files and labels are matched. */
export function fileId(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

const KEY_WORDS: Record<string, Key> = {
  bonafide: 'bonafide',
  'bona-fide': 'bonafide',
  'bona fide': 'bonafide',
  genuine: 'bonafide',
  real: 'bonafide',
  spoof: 'spoof',
  fake: 'spoof',
  deepfake: 'spoof',
};

function keyOf(word: string): Key | null {
  return KEY_WORDS[word.trim().toLowerCase()] ?? null;
}

function add(labels: Map<string, Label>, l: Label, where: string) {
  const prev = labels.get(l.id);
  if (prev && prev.key !== l.key)
    throw new LabelsError(
      `${where}: "${l.id}" is labelled ${l.key} here but ${prev.key} earlier; each file needs one label.`,
    );
  labels.set(l.id, l);
}

const dash = (v: string | undefined) => (!v || v === '-' ? null : v);
const HEADER = /^(label|key|class|target|truth|ground.?truth)$/i;
const COLUMNS: Record<LabelSet['format'], string> = { asvspoof5: '10', asvspoof2019: '5', list: '2-3', csv: '' };

/** Parses an ASVspoof protocol (whitespace-separated columns; blank lines and # comments skipped). */
export function parseProtocol(text: string, source = 'protocol'): LabelSet {
  const labels = new Map<string, Label>();
  let format: LabelSet['format'] | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `${source} line ${i + 1}`;
    const cols = line.split(/\s+/);
    // ASVspoof 5: speaker, file, gender, codec, codec_q, codec_seed, attack tag, attack label, key, tmp
    // ASVspoof 2019 LA: speaker, file, -, attack, key; a plain list: file, key and an optional attack
    const f =
      cols.length === 10
        ? 'asvspoof5'
        : cols.length === 5
          ? 'asvspoof2019'
          : cols.length === 2 || cols.length === 3
            ? 'list'
            : null;
    if (!f)
      throw new LabelsError(
        `${where}: expected 10 columns (ASVspoof 5), 5 (ASVspoof 2019 LA) or 2-3 (file, key, attack), got ${cols.length}: "${line.slice(0, 80)}".`,
      );
    if (format && f !== format)
      throw new LabelsError(
        `${where}: ${cols.length} columns, but earlier lines had ${COLUMNS[format]}; one format per file.`,
      );
    if (!format && f === 'list' && HEADER.test(cols[1])) return;
    format = f;
    const keyWord = f === 'asvspoof5' ? cols[8] : f === 'asvspoof2019' ? cols[4] : cols[1];
    const key = keyOf(keyWord);
    if (!key) throw new LabelsError(`${where}: the key column says "${keyWord}"; it must be bonafide or spoof.`);
    add(
      labels,
      {
        id: fileId(f === 'list' ? cols[0] : cols[1]),
        key,
        attack: f === 'asvspoof5' ? dash(cols[7]) : f === 'asvspoof2019' ? dash(cols[3]) : dash(cols[2]),
        attackTag: f === 'asvspoof5' ? dash(cols[6]) : null,
      },
      where,
    );
  });
  if (!format) throw new LabelsError(`${source}: no labels found (the file is empty or only comments).`);
  return { format, labels };
}

/** Parses a CSV of file name, bonafide/spoof and an optional attack column; a header row is optional. */
export function parseLabelCsv(text: string, source = 'labels CSV'): LabelSet {
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: 'greedy' });
  const rows = parsed.data;
  if (!rows.length) throw new LabelsError(`${source}: no labels found (the file is empty).`);
  const labels = new Map<string, Label>();
  rows.forEach((cols, i) => {
    const where = `${source} row ${i + 1}`;
    if (cols.length < 2 || !cols[0].trim())
      throw new LabelsError(
        `${where}: expected a file name and a label (bonafide or spoof), got "${cols.join(',').slice(0, 80)}".`,
      );
    const key = keyOf(cols[1]);
    if (!key) {
      // a header row names its columns instead of labelling a file
      if (i === 0 && HEADER.test(cols[1].trim())) return;
      throw new LabelsError(`${where}: the label is "${cols[1].trim()}"; it must be bonafide or spoof.`);
    }
    add(labels, { id: fileId(cols[0].trim()), key, attack: dash(cols[2]?.trim()), attackTag: null }, where);
  });
  if (!labels.size) throw new LabelsError(`${source}: only a header row, no labels.`);
  return { format: 'csv', labels };
}

/** A CSV when the name ends in .csv or the first data line has a comma; a whitespace protocol otherwise. */
/**
 * A labels file's bytes as text: UTF-8 (a BOM allowed), or UTF-16 with its byte-order mark (as
 * Windows tools save "Unicode" text). UTF-16 without a mark, or bytes that are not UTF-8, are
 * refused with what to do, instead of being read as garbage.
 */
export function decodeLabelBytes(bytes: Uint8Array, name = 'labels'): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const head = bytes.subarray(0, 4096);
  const zeros = head.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
  if (head.length >= 4 && zeros >= head.length / 4) {
    throw new LabelsError(
      `${name}: the file looks like UTF-16 text without a byte-order mark; save it as UTF-8 (or UTF-16 with a BOM).`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LabelsError(`${name}: the file is not UTF-8 text (nor UTF-16 with a byte-order mark); save it as UTF-8.`);
  }
}

export function parseLabels(text: string, name = 'labels'): LabelSet {
  const first = text.split(/\r?\n/).find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  return /\.csv$/i.test(name) || first.includes(',') ? parseLabelCsv(text, name) : parseProtocol(text, name);
}

export interface LabelledScore {
  file: string;
  score: number;
  label: Label;
}

export interface Matched {
  matched: LabelledScore[];
  /** Scored files with no label. */
  unlabelledFiles: string[];
  /** Labels with no scored file. */
  unmatchedLabels: string[];
  /** File ids that more than one scored file matched (same name in different folders); each file counts. */
  sharedIds: string[];
}

/** Pairs scored files with labels by base name without extension. */
export function matchLabels(scores: readonly { file: string; score: number }[], set: LabelSet): Matched {
  const matched: LabelledScore[] = [];
  const unlabelledFiles: string[] = [];
  const used = new Set<string>();
  const shared = new Set<string>();
  for (const s of scores) {
    const label = set.labels.get(fileId(s.file));
    if (!label) {
      unlabelledFiles.push(s.file);
      continue;
    }
    if (used.has(label.id)) shared.add(label.id);
    matched.push({ ...s, label });
    used.add(label.id);
  }
  const unmatchedLabels = [...set.labels.keys()].filter((id) => !used.has(id));
  return { matched, unlabelledFiles, unmatchedLabels, sharedIds: [...shared] };
}
