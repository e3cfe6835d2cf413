import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeClip } from '../../src/audio/decode';
import { planConversion } from '../../src/convert/convert';
import { OutOfMemoryError } from '../../src/model/out-of-memory';
import { ClipTooShortError } from '../../src/model/rat';
import { DownloadError } from '../../src/web/resumable-fetch';
import { NotLoadedError, errorCode, wireError } from '../../src/worker/errors';
import { FIXTURES } from '../helpers';

// The codes the page acts on, from the errors the worker meets: the page reads a code, never the
// message, so each code must come from the error's kind, not its wording.

describe('worker error codes', () => {
  it('bytes no decoder knows are undecodable (the browser may try); a decodable but empty file is bad audio', async () => {
    const junk = await decodeClip(new Uint8Array(4096).fill(7), 'junk.bin').catch((e) => e);
    expect(junk).toBeInstanceOf(AudioDecodeError);
    expect(errorCode(junk)).toBe('undecodable');
    const empty = await decodeClip(new Uint8Array(0), 'empty.wav').catch((e) => e);
    expect(errorCode(empty)).toBe('bad-audio');
    expect(errorCode(new ClipTooShortError(10, 400))).toBe('bad-audio');
  });

  it('a checkpoint whose strides cannot be inferred needs --config; a wrong layout is bad weights', async () => {
    const odd = await planConversion(await openAsBlob(path.join(FIXTURES, 'odd/checkpoint.pt'))).catch((e) => e);
    expect(errorCode(odd, 'bad-weights')).toBe('needs-config');
    const png = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])]);
    const notCkpt = await planConversion(png).catch((e) => e);
    expect(errorCode(notCkpt, 'bad-weights')).toBe('bad-weights');
  });

  it('memory, downloads, missing clips and cancels have their own codes; the rest falls back', () => {
    expect(errorCode(new OutOfMemoryError(600, 'too big', true))).toBe('out-of-memory');
    expect(errorCode(new DownloadError('gone'))).toBe('download');
    expect(errorCode(new NotLoadedError('That clip is no longer loaded'))).toBe('not-loaded');
    expect(wireError(new DOMException('stop', 'AbortError'))).toEqual({
      code: 'cancelled',
      name: 'AbortError',
      message: 'Cancelled.',
    });
    expect(errorCode(new Error('something else'))).toBe('failed');
    expect(errorCode(new Error('something else'), 'bad-audio')).toBe('bad-audio');
    expect(wireError(new OutOfMemoryError(600, 'too big', true))).toMatchObject({
      code: 'out-of-memory',
      name: 'OutOfMemoryError',
      message: expect.stringMatching(/^ran out of memory scoring 600\.0 s/),
    });
  });
});
