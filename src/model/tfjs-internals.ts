import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { SharedHeap } from './heap-prefault';

// Every use of tfjs state or behaviour that no public API offers lives here. Each was written
// against one tfjs release and checks for it (and for the shape it reaches into): under another
// release it takes the plain path, slower or heavier but never wrong. tests/unit/tfjs-internals.test.ts
// fails when the pinned release moves, and shows that each plain path gives the same numbers.

/** The tfjs release these reach-ins were written and tested against (package.json pins it exactly). */
export const TFJS_VERSION = '4.22.0';

let forcedPlain = false;

/** Tests only: every reach-in below takes its plain path, as it would under another tfjs release. */
export function forcePlainPaths(on: boolean): void {
  forcedPlain = on;
}

/**
 * Whether the running tfjs is the release the reach-ins below were checked against. tfjs-core's
 * version stands for the backends too: package.json pins all of them to the same release, and
 * the test above checks that the installed ones agree (a backend's own version constant cannot be
 * imported here without registering that backend).
 */
export function internalsMatch(): boolean {
  return !forcedPlain && tf.version_core === TFJS_VERSION;
}

// ---- tfjs-backend-webgpu ----

/**
 * Whether the custom WebGPU kernels (../model/webgpu/programs.ts) may run: they rely on the shader
 * preamble tfjs-webgpu writes for a program (binding and uniform layout, builtins), which is
 * undocumented. Otherwise the generic pass, op by op through public ops, gives the same numbers.
 */
export function webgpuProgramsMatch(): boolean {
  return internalsMatch() && tf.getBackend() === 'webgpu';
}

/** Runs one custom WebGPU program through tfjs-webgpu's program interface and returns its output as a tensor. */
export function runWebGPUProgram(
  program: WebGPUProgram,
  inputs: Tensor[],
  uniforms: { type: 'int32' | 'float32'; data: number[] }[],
): Tensor {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const info: TensorInfo = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * The GPUDevice tfjs-webgpu runs on, or null (not webgpu, or another tfjs release). tfjs keeps it
 * to itself; the device-lost notice and the largest-buffer bound come from it. Without it a lost
 * device surfaces as tfjs's own errors on the next pass, and an attention matrix too large for one
 * buffer is not refused in advance.
 */
export function webgpuDevice(): GPUDevice | null {
  if (!internalsMatch() || tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: Partial<GPUDevice> }).device;
  const shaped =
    !!device && typeof device.destroy === 'function' && !!device.limits && typeof device.lost?.then === 'function';
  return shaped ? (device as GPUDevice) : null;
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

// ---- tfjs-backend-wasm ----

interface WasmTensorData {
  memoryOffset: number | null;
}
interface WasmBackendInternals {
  dataIdMap: { get(id: object): WasmTensorData | undefined };
  wasm: { _free(ptr: number): void; _malloc?(bytes: number): number; HEAPU8?: Uint8Array };
}

const wasmInternals = () => tf.backend() as unknown as Partial<WasmBackendInternals>;

/**
 * Whether a float32 tensor's values may be handed back to tfjs-wasm's heap while the tensor lives
 * on (wasmFreeValues). XNNPACK keeps its own packed copy of a weight, so freeing the original
 * halves the model's resident memory; tfjs has no public way to do it. Otherwise the values stay:
 * twice the memory, the same numbers.
 */
export function wasmCanFreeValues(): boolean {
  if (!internalsMatch() || tf.getBackend() !== 'wasm') return false;
  const b = wasmInternals();
  return typeof b.dataIdMap?.get === 'function' && typeof b.wasm?._free === 'function';
}

/** Whether `t`'s values are in tfjs-wasm's heap (false once freed, or when that cannot be told). */
export function wasmHoldsValues(t: Tensor): boolean {
  return wasmCanFreeValues() && !!wasmInternals().dataIdMap!.get(t.dataId)?.memoryOffset;
}

/**
 * Hands `t`'s values back to tfjs-wasm's heap, keeping the tensor (its shape, its id as XNNPACK's
 * cache key); returns the bytes freed, 0 when already freed or when wasmCanFreeValues is false.
 */
export function wasmFreeValues(t: Tensor): number {
  if (!wasmCanFreeValues()) return 0;
  const b = wasmInternals() as WasmBackendInternals;
  const data = b.dataIdMap.get(t.dataId);
  if (!data?.memoryOffset) return 0;
  b.wasm._free(data.memoryOffset);
  data.memoryOffset = 0; // free(0) is a no-op when the tensor is disposed
  return 4 * t.size;
}

/**
 * tfjs-wasm's heap and allocator when the heap is shared memory (the threaded build, in a
 * cross-origin isolated page), so that another thread may map its pages ahead of the load
 * (heap-prefault.ts); otherwise null, and pages are mapped as the load touches them.
 */
export function wasmSharedHeap(): SharedHeap | null {
  if (!wasmCanFreeValues() || typeof SharedArrayBuffer === 'undefined') return null;
  const w = (wasmInternals() as WasmBackendInternals).wasm;
  const { _malloc } = w;
  if (typeof _malloc !== 'function' || !(w.HEAPU8?.buffer instanceof SharedArrayBuffer)) return null;
  return {
    // emscripten replaces HEAPU8 with a view of the grown memory whenever the heap grows
    bytes: () => w.HEAPU8!,
    malloc: (n) => _malloc.call(w, n),
    free: (p) => w._free(p),
  };
}

/**
 * Runs `start` (the wasm backend's start, where its thread pool is sized, once) offering it every
 * one of `cores` logical cores. tfjs-wasm caps its pool at half of navigator.hardwareConcurrency
 * (two hyper-threads per core, it assumes), which leaves a 2-core machine on one thread whatever
 * setThreadsCount asks; the model runs in a worker, so navigator reports twice the cores while
 * `start` runs. Otherwise, or without cross-origin isolation (no threads anyway), tfjs's own cap
 * stands: fewer threads, the same numbers.
 */
export async function withAllCoresForWasm<T>(cores: number, start: () => Promise<T>): Promise<T> {
  const nav = globalThis.navigator as Navigator | undefined;
  if (!internalsMatch() || !nav || !globalThis.crossOriginIsolated) return start();
  const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency'); // browsers: none, the getter is Navigator's
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => cores * 2 });
  } catch {
    return start();
  }
  try {
    return await start();
  } finally {
    if (own) Object.defineProperty(nav, 'hardwareConcurrency', own);
    else delete (nav as unknown as Record<string, unknown>).hardwareConcurrency;
  }
}

// ---- tfjs-core ----

/**
 * Resets the tfjs engine, throwing away every backend instance without disposing its memory: after
 * a trap, freeing into the trapped module traps again, and its memory goes with it anyway. The
 * engine keeps its instances in a private registry; otherwise only the current backend (the one
 * that can have trapped) is reached through public API, and any other is disposed as usual.
 */
export function resetBackendRegistry(): void {
  const registry = internalsMatch()
    ? (tf.engine() as unknown as { registry?: Record<string, KernelBackend> }).registry
    : undefined;
  const instances = registry && typeof registry === 'object' ? Object.values(registry) : [tf.backend()];
  for (const b of instances) {
    b.dispose = () => {};
    b.disposeData = () => true;
  }
  tf.engine().reset();
}
