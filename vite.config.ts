import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { CSP_HEADER, CSP_META } from './src/web/csp.ts';
import { UNSUPPORTED_DECODERS } from './src/audio/formats.ts';

// Cross-origin isolation lets the WASM backend use threads (SharedArrayBuffer); same headers in dev and preview.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
/** What a server can add that a meta tag cannot (SECURITY.md: what a static host without headers loses). */
const hardening = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

// tfjs-backend-wasm starts its threads from the source text of a bundled function; once mangled or
// compressed, that text refers to names its pthread workers lack, so only whitespace is removed.
const safeMinify = { mangle: false, compress: false, codegen: true } as const;

/** The CSP meta tag goes into the built index.html only: the dev server's hot reload needs an inline script. */
const cspMeta: Plugin = {
  name: 'csp-meta',
  apply: 'build',
  transformIndexHtml: () => [
    { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP_META }, injectTo: 'head-prepend' },
  ],
};

export default defineConfig({
  plugins: [react(), cspMeta],
  // decoders of formats not read here stay out of the bundle (src/audio/formats.ts)
  resolve: {
    alias: Object.fromEntries(
      UNSUPPORTED_DECODERS.map((p) => [p, fileURLToPath(new URL('src/audio/unsupported-codec.ts', import.meta.url))]),
    ),
  },
  server: { headers: { ...isolation, ...hardening } },
  preview: { headers: { ...isolation, ...hardening, 'Content-Security-Policy': CSP_HEADER } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { output: { minify: safeMinify } },
  },
  worker: { format: 'es', rolldownOptions: { output: { minify: safeMinify } } },
  // Test tiers (docs/testing.md): each project takes the settings below and its own folder; `vitest run` runs all four.
  test: {
    projects: (['unit', 'node', 'e2e', 'load'] as const).map((name) => ({
      extends: true as const,
      test: { name, include: [`tests/${name}/**/*.test.ts`] },
    })),
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Node WebGPU suites run on SwiftShader (from Debian's chromium) unless a Vulkan driver is named
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' },
  },
});
