import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ALSA_SPEECH } from '../audio-table';
import { newWatch, useApp } from '../browser';
import { ROOT, tempDir } from '../helpers';

// The teaching panels (reference conditions, labelled evaluation) on a phone (390 px) and a desktop
// (1280 px), filled with real results: nothing scrolls sideways, every stacked card names its
// column, the charts fit their panel, and the matched reference is the one chosen. The screenshots
// are kept as artifacts, not compared pixel by pixel: fonts and anti-aliasing differ between hosts.

const SHOTS = path.join(ROOT, 'test-results/screenshots/layout');
const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 800 },
] as const;
const TESTS = ALSA_SPEECH.slice(0, 4);
const REF = ALSA_SPEECH[4];
let labels: string;
const watch = newWatch();

function prepare() {
  mkdirSync(SHOTS, { recursive: true });
  const dir = tempDir('e2e-layout');
  labels = path.join(dir, 'labels.csv');
  // two bona fide and two spoof files, two attacks: metrics, both charts and the attack table
  writeFileSync(
    labels,
    'file,label,attack\n' +
      TESTS.map((f, i) => `${path.basename(f)},${i % 2 ? 'spoof' : 'bonafide'},${i % 2 ? `A0${i}` : 'bonafide'}`).join(
        '\n',
      ) +
      '\n',
  );
}
const app = useApp({ prepare });

/** What sticks out sideways: the page itself, or any element of the panel past the panel's edge or scrolling sideways. */
function overflow(panel: Locator) {
  return panel.evaluate((root) => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth) out.push(`page ${doc.scrollWidth} > ${window.innerWidth}`);
    if (root.scrollWidth > root.clientWidth) out.push(`panel ${root.scrollWidth} > ${root.clientWidth}`);
    const edge = root.getBoundingClientRect().right;
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}`;
    for (const el of root.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not laid out (hidden head, empty)
      if (r.right > edge + 0.5) out.push(`${name(el)} right ${r.right.toFixed(1)} > panel ${edge.toFixed(1)}`);
      if (el instanceof HTMLElement && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
        out.push(`${name(el)} scrolls sideways ${el.scrollWidth} > ${el.clientWidth}`);
    }
    return out;
  });
}

/**
 * Each body cell of the panel's tables: its data-label, the text its ::before shows, whether the
 * label is one of the table's column heads, and whether those heads are shown.
 */
function cells(table: Locator) {
  return table.evaluate((t) => {
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.textContent!.trim());
    const headShown = getComputedStyle(t.querySelector('thead')!).display !== 'none';
    return {
      heads,
      headShown,
      cells: [...t.querySelectorAll('tbody td')].map((td) => ({
        label: td.getAttribute('data-label'),
        before: getComputedStyle(td, '::before').content,
        text: td.textContent!.trim(),
      })),
    };
  });
}

/** Card cells must carry a column head's name and show it; wide tables show the heads instead. */
async function expectNamedCells(table: Locator, phone: boolean) {
  const c = await cells(table);
  expect(c.cells.length).toBeGreaterThan(0);
  expect(c.headShown).toBe(!phone);
  for (const cell of c.cells) {
    expect(c.heads, `${cell.text}: data-label ${cell.label}`).toContain(cell.label);
    if (phone) expect(cell.before, cell.text).toBe(`"${cell.label}: "`);
    else expect(['none', 'normal']).toContain(cell.before);
  }
}

describe('teaching panels at phone and desktop widths', () => {
  for (const vp of VIEWPORTS) {
    it(`${vp.name} (${vp.width} x ${vp.height}): no sideways overflow, named card cells, charts that fit`, async () => {
      const page = await app.open({
        query: '?backend=wasm',
        viewport: { width: vp.width, height: vp.height },
        watch,
      });
      await page.getByTestId('test-file-input').setInputFiles(TESTS);
      await page.getByTestId('ref-file-input').setInputFiles(REF);
      await page.getByTestId('current-ref').filter({ hasText: 'Rear_Center.wav' }).waitFor();

      // the matched reference is the one chosen, named as soon as it is chosen, not "none"
      const conditions = page.getByTestId('conditions');
      const matched = conditions.getByTestId('conditions-matched');
      expect(await matched.textContent()).toMatch(/^Rear_Center\.wav/);
      await expect.poll(() => matched.getAttribute('data-state'), { timeout: 120_000 }).toBe('ready');

      const run = conditions.getByRole('button', { name: 'Run all conditions' });
      await expect.poll(() => run.isEnabled(), { timeout: 180_000 }).toBe(true);
      await conditions.getByTestId('mismatched-select').selectOption({ label: 'Front_Left.wav' });
      await run.click();
      await expect.poll(() => conditions.getAttribute('data-runs'), { timeout: 300_000 }).toBe('1');
      expect(await conditions.getByTestId('conditions-inputs').textContent()).toMatch(
        /Front_Center\.wav with matched reference Rear_Center\.wav, mismatched Front_Left\.wav/,
      );
      // the demo weights: untrained, and said to behave unlike the paper's trained model
      const finding = conditions.getByTestId('conditions-finding');
      expect(await finding.getAttribute('data-paper-like')).toBe('false');
      expect(await finding.textContent()).toMatch(/unlike the trained model in the paper.*demo weights/s);
      // the per-layer chart: the guide line and one marker shape per line
      const ratio = conditions.getByTestId('conditions-ratio-chart');
      expect(await ratio.locator('svg line[data-guide="0.02"]').count()).toBe(1);
      const shapes = await ratio
        .locator('svg [data-shape]')
        .evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-shape')))]);
      expect(shapes.length).toBe(await conditions.getByTestId('condition-p').count());

      await page.getByTestId('labels-input').setInputFiles(labels);
      await page.getByTestId('labels-name').waitFor({ timeout: 30_000 });
      const evaluation = page.getByTestId('evaluation');
      await evaluation
        .getByTestId('eval-counts')
        .filter({ hasText: '2 bona fide and 2 spoof' })
        .waitFor({ timeout: 300_000 });
      await evaluation.getByTestId('det-chart').locator('svg').waitFor();
      await evaluation.getByTestId('histogram-chart').locator('svg').waitFor();
      expect(await evaluation.getByTestId('attack-row').count()).toBe(3);

      // the artifacts first, so that a failing layout leaves its picture
      for (const [name, panel] of [
        ['conditions', conditions],
        ['evaluation', evaluation],
      ] as const) {
        const file = path.join(SHOTS, `${name}-${vp.width}.png`);
        await panel.screenshot({ path: file });
        console.log(`screenshot: ${path.relative(ROOT, file)}`);
      }
      const phone = vp.width < 640;
      for (const panel of [conditions, evaluation]) expect(await overflow(panel)).toEqual([]);
      await expectNamedCells(conditions.locator('table.conditions-table'), phone);
      await expectNamedCells(evaluation.locator('table.attacks'), phone);
      // every chart is drawn to the width it is given: its box no wider than the panel's content
      for (const panel of [conditions, evaluation]) {
        const widths = await panel.evaluate((root) => {
          const cs = getComputedStyle(root);
          const inner = root.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return { inner, svgs: [...root.querySelectorAll('svg')].map((s) => s.getBoundingClientRect().width) };
        });
        expect(widths.svgs.length).toBeGreaterThan(0);
        for (const w of widths.svgs) expect(w).toBeLessThanOrEqual(widths.inner + 0.5);
      }

      // the zero vector chosen after the run: the panel follows the choice and marks the run as older
      await page.getByRole('radio', { name: /^None: zero vector/ }).check();
      await conditions.getByTestId('conditions-stale').waitFor();
      expect(await matched.getAttribute('data-state')).toBe('none');
      expect(await conditions.getByTestId('conditions-stale').textContent()).toMatch(/now the zero vector/);

      // the check itself sees an overflow: a drawing wider than the page, put in and taken out again
      await evaluation.evaluate((root) => {
        const wide = document.createElement('div');
        wide.id = 'too-wide';
        wide.style.width = '2000px';
        wide.style.height = '1px';
        root.append(wide);
      });
      expect((await overflow(evaluation)).join('\n')).toMatch(/div.*right .* > panel/);
      await evaluation.evaluate(() => document.getElementById('too-wide')!.remove());
      expect(await overflow(evaluation)).toEqual([]);
      await page.close();
    }, 600_000);
  }

  it('made no request outside its own origin and threw no page error', () => {
    expect(watch.foreign).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});
