import { createHash } from 'node:crypto';
import { cpSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../scripts/convert-weights/convert-file';
import { loadModelFromDir } from '../../src/cli/node-weights';
import type { RatManifest } from '../../src/model/manifest';
import { FIXTURES, runCli, tempDir } from '../helpers';

// Weights folders from strangers, in Node (the CLI's loader): each damage is refused with a message
// naming the shard or weight, and a refused load leaves no tensors behind.

let dir: string;
beforeAll(async () => {
  dir = tempDir('weights-hostile');
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), { out: path.join(dir, 'f32'), shardBytes: 64 * 1024 });
  await convertFile(path.join(FIXTURES, 'tiny/checkpoint.pt'), {
    out: path.join(dir, 'f16'),
    dtype: 'float16',
    shardBytes: 64 * 1024,
  });
});

/** A copy of a converted folder, damaged by `edit`; the manifest is rewritten when edit returns one. */
function damaged(from: 'f32' | 'f16', edit: (folder: string, m: RatManifest) => RatManifest | void): string {
  const folder = path.join(dir, `bad-${Math.random().toString(36).slice(2)}`);
  cpSync(path.join(dir, from), folder, { recursive: true });
  const m: RatManifest = JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8'));
  const out = edit(folder, m);
  if (out) writeFileSync(path.join(folder, 'model.json'), JSON.stringify(out));
  return folder;
}

/** Writes a value into a weight of shard `g`, and re-signs the shard so only the value check can catch it. */
function poison(folder: string, m: RatManifest, g: number, value: number): RatManifest {
  const file = path.join(folder, m.weightsManifest[g].paths[0]);
  const b = readFileSync(file);
  const w0 = m.weightsManifest[g].weights[0];
  if (w0.quantization) b.writeUInt16LE(Number.isNaN(value) ? 0x7e00 : value > 0 ? 0x7c00 : 0xfc00, 6);
  else b.writeFloatLE(value, 12);
  writeFileSync(file, b);
  m.weightsManifest[g].sha256 = [createHash('sha256').update(b).digest('hex')];
  return m;
}

async function refusal(folder: string): Promise<string> {
  const before = tf.memory().numTensors;
  const err = await loadModelFromDir(folder, 'cpu', { warmup: false }).then(
    (mdl) => {
      mdl.dispose();
      return null;
    },
    (e: Error) => e,
  );
  expect(tf.memory().numTensors).toBe(before);
  expect(err, 'the folder was accepted').toBeInstanceOf(Error);
  return err!.message;
}

describe('weights folders from strangers (Node)', () => {
  it('the undamaged multi-shard folders load', async () => {
    for (const d of ['f32', 'f16']) {
      const m = await loadModelFromDir(path.join(dir, d), 'cpu', { warmup: false });
      expect(m.manifest.weightsManifest.length).toBeGreaterThan(3);
      m.dispose();
    }
  });

  it('names a missing shard', async () => {
    const folder = damaged('f32', (f, m) => {
      rmSync(path.join(f, m.weightsManifest[2].paths[0]));
    });
    expect(await refusal(folder)).toMatch(/Weight shard shard-0003\.bin listed in .*model\.json is missing/);
  });

  it('names a short shard', async () => {
    const folder = damaged('f32', (f, m) => {
      const p = path.join(f, m.weightsManifest[1].paths[0]);
      writeFileSync(p, readFileSync(p).subarray(0, 100));
    });
    expect(await refusal(folder)).toMatch(
      /Weight shard shard-0002\.bin has 100 bytes, the manifest expects \d+: the file is truncated/,
    );
  });

  it('names a corrupted shard (one flipped bit)', async () => {
    const folder = damaged('f32', (f, m) => {
      const p = path.join(f, m.weightsManifest[3].paths[0]);
      const b = readFileSync(p);
      b[b.length >> 1] ^= 1;
      writeFileSync(p, b);
    });
    expect(await refusal(folder)).toMatch(
      /Weight shard shard-0004\.bin is corrupted: its SHA-256 is [0-9a-f]{64}, the manifest lists/,
    );
  });

  it.each([
    ['NaN', 'f32', NaN, /NaN at element 3/],
    ['+Inf', 'f32', Infinity, /Infinity at element 3/],
    ['-Inf', 'f32', -Infinity, /-Infinity at element 3/],
    ['NaN (float16)', 'f16', NaN, /NaN at element 3/],
    ['Inf (float16)', 'f16', Infinity, /Infinity at element 3/],
  ] as const)(
    'refuses %s in a weight, naming the shard and the weight, even when its SHA-256 matches',
    async (_, from, value, where) => {
      let name = '';
      const folder = damaged(from, (f, m) => {
        name = m.weightsManifest[1].weights[0].name;
        return poison(f, m, 1, value);
      });
      const msg = await refusal(folder);
      expect(msg).toMatch(/Weight shard shard-0002\.bin holds a non-finite value in /);
      expect(msg).toContain(name);
      expect(msg).toMatch(where);
    },
  );

  it('refuses a manifest whose shapes do not fit its config, listing each problem', async () => {
    const folder = damaged('f32', (_, m) => {
      m.config.ffnDim += 8;
      m.weightsManifest[0].weights[0].shape = [1, 2, 3];
      return m;
    });
    const msg = await refusal(folder);
    expect(msg).toMatch(/model\.json is not a usable RAT weights manifest/);
    expect(msg).toMatch(/has shape \[1,2,3\], the config needs/);
    expect(msg.split('\n').length).toBeGreaterThan(3);
  });

  it.each([
    ['not JSON', () => '{"format": "rat-tfjs-weights",', /is not valid JSON/],
    ['another format', () => '{"format": "keras"}', /"format" must be "rat-tfjs-weights"/],
    [
      'a shard path escaping the folder',
      (m: RatManifest) => {
        m.weightsManifest[0].paths = ['../../etc/passwd'];
        return JSON.stringify(m);
      },
      /is not a plain file name/,
    ],
    [
      'a weight listed twice',
      (m: RatManifest) => {
        m.weightsManifest[1].weights.push(m.weightsManifest[0].weights[0]);
        return JSON.stringify(m);
      },
      /is listed twice/,
    ],
    [
      'a missing digest',
      (m: RatManifest) => {
        (m.weightsManifest[0] as { sha256?: unknown }).sha256 = undefined;
        return JSON.stringify(m);
      },
      /sha256 must hold the shard's hex digest/,
    ],
  ])('refuses a manifest with %s', async (_, edit, message) => {
    const folder = damaged('f32', (f, m) => {
      writeFileSync(path.join(f, 'model.json'), edit(m));
    });
    expect(await refusal(folder)).toMatch(message);
  });

  it.each([
    ['numLayers', 1_000_000_000, /config: numLayers is 1000000000; at most 128 is accepted/],
    ['embedDim', 2 ** 31, /config: embedDim is 2147483648; at most 8192 is accepted/],
    ['ffnDim', 1.5, /config: ffnDim must be a positive integer \(got 1\.5\)/],
    ['numHeads', -16, /config: numHeads must be a positive integer/],
    ['posConvKernel', '128', /config: posConvKernel must be a positive integer \(got "128"\)/],
  ] as const)('refuses a config with %s = %s at once, naming the field and the limit', async (key, value, message) => {
    const folder = damaged('f32', (_, m) => {
      (m.config as unknown as Record<string, unknown>)[key] = value;
      return m;
    });
    const t = performance.now();
    expect(await refusal(folder)).toMatch(message);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('refuses sizes that each pass but together need more than 4 GB of weights', async () => {
    const folder = damaged('f32', (_, m) => {
      Object.assign(m.config, { numLayers: 128, embedDim: 8192, ffnDim: 65536 });
      return m;
    });
    expect(await refusal(folder)).toMatch(/the sizes imply .* weight values; at most 1e\+9/);
  });

  it('refuses a shard that is not a regular file of the folder before reading a byte of it', async () => {
    for (const [target, message] of [
      ['/dev/zero', /is not a file of the folder \(it leads to \/dev\/zero\)/],
      ['/etc/passwd', /is not a file of the folder \(it leads to \/etc\/passwd\)/],
    ] as const) {
      const folder = damaged('f32', (f, m) => {
        const p = path.join(f, m.weightsManifest[1].paths[0]);
        rmSync(p);
        symlinkSync(target, p);
      });
      const t = performance.now();
      expect(await refusal(folder)).toMatch(message);
      expect(performance.now() - t).toBeLessThan(2000);
    }
    // a link to a shard of the folder itself is fine
    const ok = damaged('f32', (f, m) => {
      const p = path.join(f, m.weightsManifest[1].paths[0]);
      renameSync(p, path.join(f, 'real.bin'));
      symlinkSync('real.bin', p);
    });
    (await loadModelFromDir(ok, 'cpu', { warmup: false })).dispose();
  });

  it('weights whose finite values overflow the logits give an error, never NaN as a score (model and CLI)', async () => {
    const folder = damaged('f32', (f, m) => {
      // every value of the last classifier layer at 3e38: finite, so the load accepts it
      const g = m.weightsManifest.findIndex((x) => x.weights.some((w) => w.name === 'cls.fc3.w'));
      const group = m.weightsManifest[g];
      let offset = 0;
      for (const w of group.weights) {
        const n = w.shape.reduce((a, b) => a * b, 1);
        if (w.name === 'cls.fc3.w') {
          const file = path.join(f, group.paths[0]);
          const b = readFileSync(file);
          for (let i = 0; i < n; i++) b.writeFloatLE(3e38, offset + 4 * i);
          writeFileSync(file, b);
          group.sha256 = [createHash('sha256').update(b).digest('hex')];
        }
        offset += 4 * n;
      }
      return m;
    });
    const model = await loadModelFromDir(folder, 'cpu', { warmup: false });
    await expect(model.score(new Float32Array(16000).map((_, i) => Math.sin(i / 7)))).rejects.toThrow(
      /the weights produce non-finite logits .* so there is no score/,
    );
    model.dispose();
    const r = runCli(['--json', '--weights', folder, '/usr/share/sounds/alsa/Front_Center.wav']);
    expect(r.status).toBe(1);
    const o = JSON.parse(r.stdout.trim());
    expect(o.p_bonafide).toBeUndefined();
    expect(o.verdict).toBeUndefined();
    expect(o.error).toMatch(/non-finite logits/);
  });
});
