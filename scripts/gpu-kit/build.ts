// `npm run gpu-kit -- <dir>`: builds the self-contained GPU kit folder (README.md beside this file).
// Runs on this project's machine (Debian, Node, python3-torch, alsa-utils); the kit then runs on a
// Linux x86-64 machine with an NVIDIA GPU, PyTorch and torchaudio, without Node and without network.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const kit = path.resolve(process.argv[2] ?? '');
if (!process.argv[2]) {
  console.error('usage: npm run gpu-kit -- <kit folder>');
  process.exit(2);
}
const log = (s: string) => console.error(`[gpu-kit] ${s}`);
for (const d of ['bin', 'lib/extra', 'py']) mkdirSync(path.join(kit, d), { recursive: true });

log('bundling kit.ts (model, converter, tfjs-core, tfjs-backend-webgpu) ...');
await build({
  entryPoints: [path.join(here, 'kit.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: path.join(kit, 'kit.cjs'),
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
  // Dawn travels as bin/dawn.node and is loaded by path; the npm package's loader is not bundled
  external: ['webgpu'],
});

const xz = (src: string, dst: string) => {
  if (existsSync(dst) && statSync(dst).mtimeMs > statSync(src).mtimeMs) return;
  log(`compressing ${path.basename(src)} ...`);
  execFileSync('sh', ['-c', 'xz -6 -T2 -c "$0" > "$1"', src, dst]);
};
xz(process.execPath, path.join(kit, 'bin/node.xz'));
const dawn = path.join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node');
xz(dawn, path.join(kit, 'bin/dawn.node.xz'));
copyFileSync(path.join(root, 'node_modules/webgpu/LICENSE.md'), path.join(kit, 'bin/dawn.LICENSE.md'));

// Vulkan: Debian's loader, and the few X11/GLVND libraries NVIDIA's Vulkan library links against
const sys = '/usr/lib/x86_64-linux-gnu';
copyFileSync(path.join(sys, 'libvulkan.so.1'), path.join(kit, 'lib/libvulkan.so.1'));
for (const l of [
  'libGLdispatch.so.0',
  'libX11.so.6',
  'libXext.so.6',
  'libxcb.so.1',
  'libXau.so.6',
  'libXdmcp.so.6',
  'libbsd.so.0',
  'libmd.so.0',
]) {
  copyFileSync(path.join(sys, l), path.join(kit, 'lib/extra', l));
}

// the Python side: the project's reference model and scripts, unmodified
for (const f of [
  'scripts/reference/rat_reference.py',
  'scripts/reference/full_size.py',
  'scripts/bench/torch_bench.py',
]) {
  copyFileSync(path.join(root, f), path.join(kit, 'py', path.basename(f)));
}
copyFileSync(path.join(here, 'run.sh'), path.join(kit, 'run.sh'));
copyFileSync(path.join(here, 'report.py'), path.join(kit, 'report.py'));
copyFileSync(path.join(here, 'README.md'), path.join(kit, 'README.md'));

// ALSA's sounds decoded here (16 kHz float32): the GPU machine needs no audio files or audio backend
log('writing waves.safetensors ...');
execFileSync('/usr/bin/python3', [
  '-c',
  `
import sys; sys.path.insert(0, "${path.join(root, 'scripts/reference')}")
import rat_reference as R
names = ["Front_Center", "Front_Left", "Front_Right", "Rear_Left", "Side_Left", "Noise"]
R.save_safetensors(sys.argv[1], {n: R.load_wave(f"/usr/share/sounds/alsa/{n}.wav")[0] for n in names})
`,
  path.join(kit, 'waves.safetensors'),
]);
// torch_bench.py sits beside rat_reference.py in the kit, not in scripts/bench: it finds it through sys.path
const sums: string[] = [];
const walk = (d: string): void => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name !== 'SHA256SUMS')
      sums.push(`${createHash('sha256').update(readFileSync(p)).digest('hex')}  ${path.relative(kit, p)}`);
  }
};
walk(kit);
writeFileSync(
  path.join(kit, 'SHA256SUMS'),
  `${sums.sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join('\n')}\n`,
);
log(`kit ready in ${kit}: copy the folder to the GPU machine and run "bash run.sh" there`);
