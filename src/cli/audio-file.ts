import { stat } from 'node:fs/promises';
import { AudioDecodeError } from '../audio/decode';
import { audioSizeProblem } from '../audio/limits';

/** Refuses an oversized file from its size alone, before a byte of it is read (a 2 GB file never reaches memory). */
export async function refuseOversized(at: string | Buffer, file = String(at)): Promise<void> {
  const size = await stat(at).then(
    (s) => (s.isFile() ? s.size : 0),
    () => 0,
  ); // unreadable files are named by the read itself
  const problem = audioSizeProblem(size);
  if (problem) throw new AudioDecodeError(file, problem);
}
