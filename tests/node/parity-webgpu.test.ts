import { parityWithPyTorch } from '../parity-suite';

// PyTorch is the truth on Dawn in Node (SwiftShader without a GPU): the GPU pass and its custom kernels against
// scripts/reference/make_fixtures.py's numbers, at the tolerances of tests/unit/parity.test.ts.
parityWithPyTorch([
  ['webgpu', 'tiny', 'tiny', 'auto'],
  ['webgpu', 'odd', 'odd', 'auto'],
]);
