import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WeightsIndexEntry } from '../../src/web/fetch-weights';

// The app's weights menu is public/weights/index.json ({"weights": [{id, path, label, demo}]}); it
// fetches the index as weights/index.json and each entry's path from the site root, so an entry's
// path is the folder's place relative to the folder above the index's.

/** The entry's path for a weights folder, or an error saying why the app could not serve it. */
export function entryPath(indexFile: string, folder: string): string {
  const siteRoot = path.dirname(path.dirname(path.resolve(indexFile)));
  const rel = path.relative(siteRoot, path.resolve(folder));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(
      `${folder} is outside ${siteRoot}, the folder the app serves ${indexFile} from, so the app could not load it. Choose an --out under ${siteRoot}, or pass --no-register.`,
    );
  }
  return `${rel.split(path.sep).join('/')}/`;
}

async function readIndex(indexFile: string): Promise<{ body: Record<string, unknown>; weights: WeightsIndexEntry[] }> {
  let text: string;
  try {
    text = await readFile(indexFile, 'utf8');
  } catch (e) {
    throw new Error(
      `Could not read ${indexFile} (${(e as Error).message}); --index names the app's weights/index.json.`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${indexFile} is not valid JSON; fix it (it holds {"weights": [...]}) and run again.`);
  }
  const weights = (body as { weights?: unknown })?.weights;
  if (!body || typeof body !== 'object' || !Array.isArray(weights))
    throw new Error(`${indexFile} does not hold {"weights": [...]}; fix it and run again.`);
  return { body: body as Record<string, unknown>, weights: weights as WeightsIndexEntry[] };
}

/** Checks up front that the index can be updated, so a long download does not end in a refusal. */
export async function checkIndex(indexFile: string): Promise<void> {
  await readIndex(indexFile);
}

/**
 * Adds the entry to the index, or brings an entry of the same id up to date; an identical entry
 * leaves the file untouched. The file is replaced by a rename, so the app never reads half of it.
 */
export async function register(
  indexFile: string,
  entry: WeightsIndexEntry,
): Promise<'added' | 'updated' | 'unchanged'> {
  const { body, weights } = await readIndex(indexFile);
  const at = weights.findIndex((w) => w?.id === entry.id);
  const same = (w: WeightsIndexEntry) =>
    w.path === entry.path && w.label === entry.label && w.demo === entry.demo && Object.keys(w).length === 4;
  if (at >= 0 && same(weights[at])) return 'unchanged';
  const next = at >= 0 ? weights.map((w, i) => (i === at ? entry : w)) : [...weights, entry];
  const tmp = `${indexFile}.partial-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify({ ...body, weights: next }, null, 2)}\n`);
  await rename(tmp, indexFile);
  return at >= 0 ? 'updated' : 'added';
}
