import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { isSoftwareAdapterInfo } from '../model/tfjs-internals';

// WebGPU in Node through Dawn (the npm package `webgpu`, its binary shipped inside the package).
// tfjs-backend-webgpu registers itself only when navigator.gpu exists as it is imported, and then
// fails on a machine without an adapter with "Cannot read properties of null"; so the backend is
// registered here, after Dawn is in place, with an error that says what is missing.

/** No WebGPU adapter could be had in this process (no GPU driver, no Vulkan, no software adapter). */
export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(
      `WebGPU is not available here: ${detail}. Install the GPU's Vulkan driver (for NVIDIA, the driver's Vulkan ICD), ` +
        "or name a Vulkan driver with VK_ICD_FILENAMES (without a GPU, the software one in Debian's chromium package: " +
        'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, correct but slow), or score with --backend wasm.',
    );
    this.name = 'NoAdapterError';
  }
}

/** What Dawn reported of the adapter the backend runs on. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}

let registered = false;
/** Why the current device was lost (a driver reset, a GPU taken away), or null while it works. */
let lostReason: string | null = null;
let current: GPUDevice | null = null;

/** Why the Node WebGPU device was lost, or null: results computed after that are not to be trusted. */
export function webgpuDeviceLost(): string | null {
  return lostReason;
}

/** Tests only: loses the current device, as a driver reset would. */
export function loseWebGPUDevice(): void {
  if (!current) throw new Error('No WebGPU device to lose: the webgpu backend has not started.');
  current.destroy();
}
let adapterSummary: AdapterSummary | null = null;

/** The adapter the Node WebGPU backend started on, once it has. */
export function nodeAdapter(): AdapterSummary | null {
  return adapterSummary;
}

/** What Dawn's Node module exports (the npm package `webgpu`, or its dawn.node loaded directly). */
export interface DawnModule {
  create(flags: string[]): GPU;
  globals: object;
}

/**
 * Makes 'webgpu' a tfjs backend in this Node process (Dawn flags: `DAWN_FLAGS`, comma-separated,
 * e.g. backend=vulkan). `dawn` defaults to the npm package; the GPU kit passes its own dawn.node.
 */
export async function registerNodeWebGPU(dawnModule?: DawnModule): Promise<void> {
  if (registered) return;
  let dawn: DawnModule;
  try {
    dawn = dawnModule ?? ((await import('webgpu')) as unknown as DawnModule);
  } catch (e) {
    throw new NoAdapterError(`the webgpu package did not load (${(e as Error).message})`);
  }
  const g = globalThis as unknown as Record<string, unknown>;
  Object.assign(g, dawn.globals);
  const flags = (process.env.DAWN_FLAGS ?? '').split(',').filter(Boolean);
  const gpu = dawn.create(flags);
  if (!g.navigator) g.navigator = { gpu };
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  // the adapter is sought before tfjs is involved: tfjs turns a failed start into `false` and a console stack trace
  const first = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!first) throw new NoAdapterError('Dawn found no adapter');
  const info = first.info;
  adapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftwareAdapterInfo(info),
  };
  let spare: GPUAdapter | null = first;
  tf.registerBackend('webgpu', async () => {
    // an adapter gives one device: a restart after a lost device asks for a new adapter
    const adapter = spare ?? (await gpu.requestAdapter({ powerPreference: 'high-performance' }));
    spare = null;
    if (!adapter) throw new NoAdapterError('Dawn found no adapter on restart');
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      },
    });
    lostReason = null;
    current = device;
    // only the device in use counts: a replaced one reports its loss after the restart
    device.lost.then((i) => {
      if (current === device) lostReason = i.message || String(i.reason) || 'the GPU device was lost';
    });
    return new WebGPUBackend(device, adapter.info);
  });
  registered = true;
}
