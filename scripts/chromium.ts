import { type Browser, chromium } from 'playwright-core';

// Debian's Chromium as the browser tests (tests/browser.ts) and the benchmark (scripts/bench/) drive
// it through playwright-core: headless, WebGPU on SwiftShader, no background traffic. A module of
// its own, without __dirname, so that both the tests (CommonJS under vitest) and the ESM scripts
// run through tsx can import it.

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Launches Debian's Chromium with CHROMIUM_ARGS and `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
