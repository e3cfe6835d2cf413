import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAudioName } from '../audio/extensions';

// The CLI's inputs: files as given, folders walked recursively for audio files (by extension),
// in a stable order so a rerun lists the same files in the same order. A folder is walked with
// byte names, so a file whose name is not UTF-8 is still read by its exact bytes; links are
// followed once, to regular files and folders inside the folder given; everything left out is
// listed with the reason, never dropped silently.

/** A path to score (`bytes`: its exact name when that is not UTF-8), or one that cannot be (reported like a bad file). */
export type Input = { file: string; bytes?: Buffer } | { file: string; error: string };

/** What a folder walk left out, with why. */
export interface Skipped {
  file: string;
  why: string;
}

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A byte name as text: UTF-8 where it is, each other byte as \xNN. */
export function nameOf(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let out = '';
    let i = 0;
    while (i < bytes.length) {
      // the longest valid UTF-8 sequence at i (1-4 bytes), else one byte escaped
      let step = 0;
      for (let n = Math.min(4, bytes.length - i); n >= 1 && !step; n--) {
        try {
          out += utf8.decode(bytes.subarray(i, i + n));
          step = n;
        } catch {
          /* shorter */
        }
      }
      if (!step) {
        out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
        step = 1;
      }
      i += step;
    }
    return out;
  }
}

async function walk(dir: Buffer, root: string, found: Input[], skipped: Skipped[], depth: number): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    skipped.push({
      file: nameOf(dir),
      why: `the folder cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    });
    return;
  }
  entries.sort((a, b) => nameOf(a.name).localeCompare(nameOf(b.name), 'en', { numeric: true }));
  for (const e of entries) {
    const p = Buffer.concat([dir, Buffer.from(path.sep), e.name]);
    const shown = nameOf(p);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      // followed once: to a regular file or folder inside the folder given, never out of it or round in a loop
      const target = await realpath(p).catch(() => null);
      const s = target ? await stat(target).catch(() => null) : null;
      if (!target || !s) {
        skipped.push({ file: shown, why: 'a link to nothing' });
        continue;
      }
      if (target !== root && !target.startsWith(`${root}${path.sep}`)) {
        skipped.push({ file: shown, why: `a link out of the folder (to ${target})` });
        continue;
      }
      if (s.isDirectory()) {
        skipped.push({ file: shown, why: 'a link to a folder inside the folder (walked there already)' });
        continue;
      }
      isDir = false;
      isFile = s.isFile();
    }
    if (isDir) {
      if (depth < MAX_DEPTH) await walk(p, root, found, skipped, depth + 1);
      else skipped.push({ file: shown, why: `deeper than ${MAX_DEPTH} folders` });
    } else if (!isFile) skipped.push({ file: shown, why: 'not a regular file' });
    else if (!isAudioName(nameOf(e.name))) skipped.push({ file: shown, why: 'not an audio file by its extension' });
    else found.push(shown === p.toString() ? { file: shown } : { file: shown, bytes: p });
  }
}

/** Expands folders into their audio files; files (even missing ones) pass through so each gets its own result. */
export async function expandInputs(args: string[]): Promise<{ inputs: Input[]; skipped: Skipped[] }> {
  const inputs: Input[] = [];
  const skipped: Skipped[] = [];
  for (const a of args) {
    const s = await stat(a).catch(() => null);
    if (!s?.isDirectory()) {
      inputs.push({ file: a });
      continue;
    }
    const found: Input[] = [];
    const root = await realpath(a);
    await walk(Buffer.from(a), root, found, skipped, 0);
    if (found.length) inputs.push(...found);
    else
      inputs.push({
        file: a,
        error: 'no audio files in this folder (by extension: .wav, .flac, .mp3, .ogg, .opus, .m4a, ...)',
      });
  }
  return { inputs, skipped };
}
