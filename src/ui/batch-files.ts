import { isAudioName } from '../audio/extensions';

// Files for a batch from what the user dropped or picked: folders are walked (DataTransfer
// directory entries), files inside folders are kept when their extension is audio, and label
// files (.csv, .tsv, .txt) are set apart for the evaluation.

const LABEL_EXTENSIONS = ['csv', 'tsv', 'txt'];

const ext = (name: string) => name.slice(name.lastIndexOf('.') + 1).toLowerCase();
export const isLabelName = (name: string) => name.includes('.') && LABEL_EXTENSIONS.includes(ext(name));

/** A file with the path it had inside a dropped folder ("" for a loose file). */
export interface PickedFile {
  file: File;
  path: string;
}

export interface Sorted {
  audio: PickedFile[];
  labels: File[];
  skipped: string[];
}

/** Splits picked files: labels apart, folder members kept only when they are audio. */
export function sortPicked(files: PickedFile[]): Sorted {
  const out: Sorted = { audio: [], labels: [], skipped: [] };
  for (const f of files) {
    if (isLabelName(f.file.name)) out.labels.push(f.file);
    else if (!f.path.includes('/') || isAudioName(f.file.name)) out.audio.push(f);
    else out.skipped.push(f.path);
  }
  out.audio.sort((a, b) => (a.path || a.file.name).localeCompare(b.path || b.file.name, 'en', { numeric: true }));
  return out;
}

/** Files from an <input webkitdirectory> (paths relative to the chosen folder). */
export function fromInput(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((file) => ({ file, path: file.webkitRelativePath || '' }));
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call: keep reading until it returns none
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (!batch.length) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, out: PickedFile[], depth: number): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ file, path: entry.fullPath.replace(/^\//, '') });
  } else if (entry.isDirectory && depth < 32) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader()))
      await walk(child, out, depth + 1);
  }
}

/** Every file in a drop, folders walked recursively; falls back to the flat file list when entries are unavailable. */
export async function fromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  // entries must be taken synchronously, before the drop event returns
  const entries = [...dt.items].filter((i) => i.kind === 'file').map((i) => i.webkitGetAsEntry?.() ?? null);
  const flat = [...dt.files];
  if (!entries.length || entries.some((e) => !e)) return flat.map((file) => ({ file, path: '' }));
  const out: PickedFile[] = [];
  for (const e of entries) {
    if (e!.isFile)
      out.push({
        file:
          flat.find((f) => f.name === e!.name) ??
          (await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej))),
        path: '',
      });
    else await walk(e!, out, 0);
  }
  return out;
}

/** Offers text as a file download. */
export function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
