import { describe, expect, it } from 'vitest';
import { fromDrop, sortPicked } from '../../src/ui/batch-files';

// Folder drops: directory entries walked recursively (readEntries answers in chunks until it
// returns none), audio kept by extension inside folders, labels set apart. Fake entries stand in
// for the browser's FileSystemEntry objects.

type Fake = {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
  file?: (ok: (f: File) => void) => void;
  createReader?: () => unknown;
};

function fileEntry(fullPath: string): Fake {
  const name = fullPath.split('/').pop()!;
  return { isFile: true, isDirectory: false, name, fullPath, file: (ok) => ok(new File(['x'], name)) };
}

function dirEntry(fullPath: string, children: Fake[], chunk = 2): Fake {
  return {
    isFile: false,
    isDirectory: true,
    name: fullPath.split('/').pop()!,
    fullPath,
    createReader: () => {
      let i = 0;
      return {
        readEntries: (ok: (e: Fake[]) => void) => {
          const part = children.slice(i, i + chunk);
          i += chunk;
          setTimeout(() => ok(part));
        },
      };
    },
  };
}

function dataTransfer(entries: (Fake | null)[], files: File[] = []) {
  return { items: entries.map((e) => ({ kind: 'file', webkitGetAsEntry: () => e })), files } as unknown as DataTransfer;
}

describe('batch files', () => {
  it('walks a dropped folder recursively, reading every chunk of entries', async () => {
    const tree = dirEntry('/set', [
      fileEntry('/set/a.wav'),
      fileEntry('/set/b.FLAC'),
      fileEntry('/set/notes.md'),
      dirEntry('/set/inner', [
        fileEntry('/set/inner/c.mp3'),
        fileEntry('/set/inner/labels.csv'),
        fileEntry('/set/inner/d.opus'),
      ]),
      fileEntry('/set/e.ogg'),
    ]);
    const picked = await fromDrop(dataTransfer([tree, fileEntry('/loose.txt')], [new File(['x'], 'loose.txt')]));
    expect(picked.map((p) => p.path || p.file.name)).toEqual([
      'set/a.wav',
      'set/b.FLAC',
      'set/notes.md',
      'set/inner/c.mp3',
      'set/inner/labels.csv',
      'set/inner/d.opus',
      'set/e.ogg',
      'loose.txt',
    ]);
    const s = sortPicked(picked);
    expect(s.audio.map((p) => p.path)).toEqual([
      'set/a.wav',
      'set/b.FLAC',
      'set/e.ogg',
      'set/inner/c.mp3',
      'set/inner/d.opus',
    ]);
    expect(s.labels.map((f) => f.name)).toEqual(['labels.csv', 'loose.txt']);
    expect(s.skipped).toEqual(['set/notes.md']);
  });

  it('keeps every loose file (so a bad one is named) and falls back to the flat list without entries', async () => {
    const files = [new File(['x'], 'clip.xyz'), new File(['y'], 'b.wav')];
    const picked = await fromDrop(dataTransfer([null, null], files));
    expect(picked).toEqual([
      { file: files[0], path: '' },
      { file: files[1], path: '' },
    ]);
    expect(sortPicked(picked).audio.map((p) => p.file.name)).toEqual(['b.wav', 'clip.xyz']);
  });
});
