import { stat } from 'node:fs/promises';
import { AudioDecodeError } from '../audio/decode';
import { audioSizeProblem } from '../audio/limits';

/** Refuses an oversized file from its size alone, before a byte of it is read (a 2 GB file never reaches memory). */
export async function refuseOversized(file: string): Promise<void> {
  const size = await stat(file).then((s) => (s.isFile() ? s.size : 0), () => 0); // unreadable files are named by the read itself
  const problem = audioSizeProblem(size);
  if (problem) throw new AudioDecodeError(file, problem);
}
