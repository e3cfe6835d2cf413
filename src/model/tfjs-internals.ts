import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

// Uses of tfjs internals that no public API offers. Each was written against one tfjs release and
// checks for it: under another, callers take the plain path (slower, never wrong).

/** The tfjs release these reach-ins were written and tested against (package.json pins it exactly). */
export const TFJS_VERSION = '4.22.0';

/** Whether the running tfjs is the release the reach-ins below were checked against. */
export function internalsMatch(): boolean {
  return tf.version_core === TFJS_VERSION;
}

/** The generated activation of a tfjs-webgpu matmul program: `fn activation(a : T, coords : vecN<i32>) -> T { ... }`. */
const ACTIVATION_FN = /fn activation\(a : (f32|vec4<f32>), coords : vec(\d)<i32>\) -> (f32|vec4<f32>) \{[^}]*\}/;

/**
 * Runs `fn` (one fused matMul with activation 'relu') with every program it dispatches carrying
 * `activation` in place of ReLU: tfjs's matmul kernels take a fixed set of activations, GELU not
 * among them. `replacement(type)` returns WGSL defining `fn activation(a : type, coords : vecN<i32>)`
 * for f32 or vec4<f32>. Returns null, having dispatched nothing, when tfjs is not the release this
 * was checked against or a program's code does not have the expected shape.
 */
export function withMatMulActivation<T>(
  name: string,
  replacement: (type: string, coordsRank: string) => string,
  fn: () => T,
): T | null {
  if (!internalsMatch() || tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as unknown as WebGPUBackend;
  const original = backend.runWebGPUProgram;
  let mismatch = false;
  backend.runWebGPUProgram = function (this: WebGPUBackend, program: WebGPUProgram, ...rest: unknown[]) {
    const code = program.getUserCode();
    const m = ACTIVATION_FN.exec(code);
    if (!m || m[1] !== m[3]) {
      mismatch = true;
      throw new Error('internal: unexpected matmul program');
    }
    program.getUserCode = () => code.replace(ACTIVATION_FN, replacement(m[1], m[2]));
    program.shaderKey = `${program.shaderKey}_${name}`;
    return (original as (...a: unknown[]) => ReturnType<WebGPUBackend['runWebGPUProgram']>).call(
      this,
      program,
      ...rest,
    );
  } as WebGPUBackend['runWebGPUProgram'];
  try {
    return fn();
  } catch (e) {
    if (mismatch) return null;
    throw e;
  } finally {
    backend.runWebGPUProgram = original;
  }
}

/** What a WebGPU adapter says of itself (GPUAdapterInfo's fields, all optional). */
export interface AdapterWords {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

/** A software adapter: a CPU emulating a GPU (SwiftShader, llvmpipe, lavapipe), slower than WASM on the same CPU. */
export function isSoftwareAdapterInfo(info: AdapterWords): boolean {
  return /swiftshader|llvmpipe|lavapipe|software/i.test(
    [info.vendor, info.architecture, info.device, info.description].join(' '),
  );
}

/**
 * Whether tfjs-webgpu runs on a software adapter (SwiftShader, llvmpipe, lavapipe): a CPU emulating a
 * GPU, where every pass costs seconds. tfjs keeps the adapter's vendor and architecture private.
 * False when unknown.
 */
export function webgpuAdapterIsSoftware(): boolean {
  if (!internalsMatch() || tf.getBackend() !== 'webgpu') return false;
  const info = (tf.backend() as unknown as { adapterInfo?: AdapterWords }).adapterInfo;
  return isSoftwareAdapterInfo(info ?? {});
}
