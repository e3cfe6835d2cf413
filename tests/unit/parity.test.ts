import { parityWithPyTorch } from '../parity-suite';

// PyTorch is the truth: the cpu and wasm backends against scripts/reference/make_fixtures.py's numbers (the Node
// WebGPU backend: tests/node/parity-webgpu.test.ts). The last element is how a prepared reference is laid out: the
// fixtures' references are long for these small widths, so 'auto' keeps keys and values per head and 'folded' is
// asked for explicitly.
parityWithPyTorch([
  ['cpu', 'tiny', 'tiny', 'auto'],
  ['wasm', 'tiny', 'tiny', 'auto'],
  ['wasm', 'tiny-safetensors', 'tiny', 'auto'],
  ['cpu', 'odd', 'odd', 'auto'],
  ['wasm', 'odd', 'odd', 'auto'],
  ['wasm', 'tiny', 'tiny', 'folded'],
  ['wasm', 'odd', 'odd', 'folded'],
]);
