import { type RatConfig, configProblems } from './config';
import { weightSpecs } from './weights';

/** model.json: a tfjs weights manifest plus what the app needs to know about the weights. */
export interface RatManifest {
  format: 'rat-tfjs-weights';
  formatVersion: 1;
  /** Human label shown wherever a score is shown. */
  label: string;
  /** True for the untrained demo weights: their scores carry no meaning. */
  demo: boolean;
  config: RatConfig;
  /** Storage type of the shards; float16 is dequantised to float32 on load. */
  dtype: 'float32' | 'float16';
  source: { file: string; format: string; bytes: number; sha256: string } | null;
  converter: { version: string };
  weightsManifest: WeightGroup[];
}

export interface WeightGroup {
  /** One shard per group, so a shard can be decoded, uploaded and dropped on its own. */
  paths: [string];
  /** SHA-256 (hex) of each path's bytes. */
  sha256: [string];
  weights: WeightEntry[];
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

export const MANIFEST_FORMAT = 'rat-tfjs-weights';

/** Validates untrusted model.json text; throws an error that lists every problem. */
export function parseManifest(text: string, where = 'model.json'): RatManifest {
  let m: RatManifest;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${where} is not valid JSON (${(e as Error).message}). Point at a folder written by "npm run convert-weights".`,
    );
  }
  const fail = (problems: string[]) =>
    new Error(`${where} is not a usable RAT weights manifest:\n  ${problems.join('\n  ')}`);
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT) {
    throw fail([`"format" must be "${MANIFEST_FORMAT}"; this file was not written by this project's converter`]);
  }
  const problems: string[] = [];
  if (m.formatVersion !== 1) problems.push(`formatVersion ${m.formatVersion} is not supported (this app reads 1)`);
  if (typeof m.label !== 'string') problems.push('label must be a string');
  if (m.dtype !== 'float32' && m.dtype !== 'float16')
    problems.push(`dtype must be float32 or float16 (got ${m.dtype})`);
  if (!m.config || typeof m.config !== 'object') problems.push('config is missing');
  else problems.push(...configProblems(m.config).map((p) => `config: ${p}`));
  if (!Array.isArray(m.weightsManifest)) problems.push('weightsManifest must be a list');
  if (problems.length) throw fail(problems);

  const listed = new Map<string, number[]>();
  m.weightsManifest.forEach((g, i) => {
    if (!Array.isArray(g.paths) || g.paths.length !== 1 || typeof g.paths[0] !== 'string')
      problems.push(`group ${i}: paths must hold one shard file name`);
    else if (!/^[A-Za-z0-9._-]+$/.test(g.paths[0]) || g.paths[0].startsWith('.'))
      problems.push(`group ${i}: shard name ${JSON.stringify(g.paths[0])} is not a plain file name`);
    if (!Array.isArray(g.sha256) || !/^[0-9a-f]{64}$/.test(String(g.sha256?.[0])))
      problems.push(`group ${i}: sha256 must hold the shard's hex digest`);
    if (!Array.isArray(g.weights)) {
      problems.push(`group ${i}: weights must be a list`);
      return;
    }
    for (const w of g.weights) {
      if (w.dtype !== 'float32') problems.push(`${w.name}: dtype must be float32`);
      const q = w.quantization?.dtype;
      if (q !== undefined && q !== 'float16') problems.push(`${w.name}: only float16 quantization is supported`);
      if ((q === 'float16') !== (m.dtype === 'float16'))
        problems.push(`${w.name}: storage does not match the manifest dtype ${m.dtype}`);
      if (listed.has(w.name)) problems.push(`${w.name} is listed twice`);
      listed.set(w.name, w.shape);
    }
  });
  for (const { name, shape } of weightSpecs(m.config)) {
    const got = listed.get(name);
    if (!got) problems.push(`missing weight ${name}`);
    else if (!Array.isArray(got) || got.join(',') !== shape.join(','))
      problems.push(`${name} has shape [${got}], the config needs [${shape}]`);
    listed.delete(name);
  }
  for (const name of listed.keys()) problems.push(`unexpected weight ${name}`);
  if (problems.length) throw fail(problems);
  return m;
}

/** Bytes one weight takes in its shard (float32, or float16 storage). */
export function entryBytes(w: WeightEntry): number {
  return w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 2 : 4);
}

/** Bytes of a group's shard as the manifest describes it. */
export function groupBytes(g: WeightGroup): number {
  return g.weights.reduce((n, w) => n + entryBytes(w), 0);
}

/** Bytes a group's weights take as float32 tensors, whatever their storage. */
export function groupValueBytes(g: WeightGroup): number {
  return g.weights.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
}

export { sha256Hex } from './sha256';
