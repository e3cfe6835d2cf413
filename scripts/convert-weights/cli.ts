import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { convertFile } from './convert-file';
import type { ConfigOverrides } from '../../src/convert/keymap';

const program = new Command()
  .name('convert-weights')
  .description(
    'Convert a RAT checkpoint (PyTorch .pt/.pth state_dict or .safetensors) into a weights folder for the app and the CLI.',
  )
  .argument('<checkpoint>', 'the checkpoint file')
  .requiredOption('--out <dir>', 'output folder (model.json and weight shards)')
  .option(
    '--config <json>',
    'JSON object, or a file holding one, with what shapes cannot tell: extractor_conv_layer_config, encoder_num_heads, rib_num_heads',
    parseConfig,
  )
  .option('--dtype <dtype>', 'storage type of the shards: float32 or float16 (half the size)', parseDtype, 'float32')
  .option('--label <text>', 'human label shown with every score (default: the checkpoint file name)')
  .option('--demo', 'mark the weights as untrained demo weights', false)
  .option('--shard-mb <n>', 'target shard size in MiB', (v) => Number(v), 16)
  .option('--force', 'replace the output folder if it exists', false)
  .action(async (checkpoint: string, o) => {
    const t0 = performance.now();
    let last = 0;
    const manifest = await convertFile(checkpoint, {
      out: o.out,
      overrides: o.config,
      dtype: o.dtype,
      label: o.label,
      demo: o.demo,
      force: o.force,
      shardBytes: Math.round(o.shardMb * 1024 * 1024),
      onTensor(done, total) {
        if (process.stderr.isTTY && (performance.now() - last > 200 || done === total)) {
          last = performance.now();
          process.stderr.write(`\rconverting: ${done}/${total} tensors`);
        }
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const c = manifest.config;
    const params = manifest.weightsManifest
      .flatMap((g) => g.weights)
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    console.log(
      `wrote ${o.out}: ${manifest.weightsManifest.length} shards, ${params.toLocaleString('en')} parameters as ${manifest.dtype}`,
    );
    console.log(
      `config: ${c.numLayers} layers, width ${c.embedDim}, ${c.numHeads} heads, reference block ${c.ribHeads} heads, conv ${JSON.stringify(c.convLayers)}`,
    );
    console.log(
      `source sha256 ${manifest.source?.sha256}; ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
  });

function parseConfig(v: string): ConfigOverrides {
  const text = v.trim().startsWith('{') ? v : readFileSync(v, 'utf8');
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InvalidArgumentError('must be a JSON object');
  const allowed = ['extractor_conv_layer_config', 'encoder_num_heads', 'rib_num_heads'];
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length)
    throw new InvalidArgumentError(`unknown keys ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  return o as ConfigOverrides;
}

function parseDtype(v: string): 'float32' | 'float16' {
  if (v !== 'float32' && v !== 'float16') throw new InvalidArgumentError('must be float32 or float16');
  return v;
}

program.parseAsync().catch((e: Error) => {
  console.error(`convert-weights: ${e.message}`);
  process.exit(1);
});
