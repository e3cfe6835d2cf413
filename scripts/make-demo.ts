// Regenerates public/weights/demo/ (seeded, untrained: its scores carry no meaning) from the
// PyTorch reference, or with --check verifies that the committed folder is exactly what it produces.
//
//   npm run make-demo [-- --check]

import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertFile } from './convert-weights/convert-file';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DEMO = path.join(root, 'public/weights/demo');
const check = process.argv.includes('--check');
const tmp = path.join(os.tmpdir(), `rat-demo-${process.pid}`);
const ckpt = path.join(tmp, 'rat-demo-untrained.pt');
execFileSync('mkdir', ['-p', tmp]);
execFileSync('/usr/bin/python3', [path.join(root, 'scripts/reference/make_demo.py'), ckpt], { stdio: 'inherit' });
const out = check ? path.join(tmp, 'demo') : DEMO;
const manifest = await convertFile(ckpt, {
  out,
  force: true,
  dtype: 'float16',
  demo: true,
  label: 'Demo weights (untrained, seeded: scores carry no meaning)',
});
let status = 0;
if (check) {
  const committed = JSON.parse(await readFile(path.join(DEMO, 'model.json'), 'utf8'));
  const same = JSON.stringify(committed) === JSON.stringify(manifest);
  console.log(
    same
      ? 'demo weights: committed folder matches a fresh build'
      : 'demo weights differ from a fresh build: run "npm run make-demo" and commit',
  );
  status = same ? 0 : 1;
} else {
  console.log(`wrote ${DEMO}`);
}
await rm(tmp, { recursive: true, force: true });
process.exitCode = status;
