import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useApp } from '../browser';

// What ships: the production build (dist/, `npm run build`) against the test build (dist-faults/).

const ROOT = path.resolve(__dirname, '../..');
const bundle = (dir: string) =>
  readdirSync(path.join(ROOT, dir, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(path.join(ROOT, dir, 'assets', f), 'utf8'))
    .join('\n');

describe('the production build', () => {
  const app = useApp({ browser: false });

  it('carries no fault injection (the test build does)', () => {
    for (const marker of ['ratFaults', 'simulated worker crash']) {
      expect(bundle('dist')).not.toContain(marker);
      expect(bundle('dist-faults')).toContain(marker);
    }
  });

  it('bundles only the decoders of the formats it reads', () => {
    const files = readdirSync(path.join(ROOT, 'dist', 'assets'));
    for (const gone of ['decode-mod', 'decode-wma', 'decode-amr', 'decode-dts', 'decode-eac3'])
      expect(files.some((f) => f.startsWith(gone))).toBe(false);
    for (const kept of ['decode-wav', 'decode-flac', 'decode-mp3', 'decode-opus', 'decode-vorbis', 'decode-webm'])
      expect(files.some((f) => f.startsWith(kept))).toBe(true);
  });

  it('is served with nosniff, no referrer, no framing and the CSP; the page itself asks for no referrer', async () => {
    const r = await fetch(app.url);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const html = await r.text();
    expect(html).toMatch(/<meta name="referrer" content="no-referrer"/);
    expect(html).toMatch(/http-equiv="Content-Security-Policy"/);
  });
});
