import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAudioName } from '../audio/extensions';

// The CLI's inputs: files as given, folders walked recursively for audio files (by extension),
// in a stable order so a rerun lists the same files in the same order.

/** A path to score, or a folder that held no audio (reported like a bad file). */
export type Input = { file: string } | { file: string; error: string };

async function walk(dir: string, out: string[], depth: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && depth < 32) await walk(p, out, depth + 1);
    else if (e.isFile() && isAudioName(e.name)) out.push(p);
  }
}

/** Expands folders into their audio files; files (even missing ones) pass through so each gets its own result. */
export async function expandInputs(args: string[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const a of args) {
    const s = await stat(a).catch(() => null);
    if (!s?.isDirectory()) { out.push({ file: a }); continue; }
    const found: string[] = [];
    try {
      await walk(a, found, 0);
    } catch (e) {
      out.push({ file: a, error: `the folder cannot be read (${(e as Error).message})` });
      continue;
    }
    if (found.length) out.push(...found.map((file) => ({ file })));
    else out.push({ file: a, error: 'no audio files in this folder (by extension: .wav, .flac, .mp3, .ogg, .opus, .m4a, ...)' });
  }
  return out;
}
