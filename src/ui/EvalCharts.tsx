import { useEffect, useRef } from 'react';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';
import type { Evaluation } from '../analysis/evaluate';
import { probit } from '../analysis/metrics';

// The evaluation's charts: the DET curve on probit axes and a score histogram per class.

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
  Legend,
);

const TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99];
const LO = probit(0.001);
const HI = probit(0.99);
/** Probit of a rate, clamped to the plotted range so 0 and 1 stay on the chart. */
const axis = (p: number) => Math.min(HI, Math.max(LO, probit(Math.min(Math.max(p, 1e-9), 1 - 1e-9))));

function probitScale(title: string) {
  return {
    type: 'linear' as const,
    min: LO,
    max: HI,
    title: { display: true, text: title },
    afterBuildTicks: (s: { ticks: { value: number }[] }) => {
      s.ticks = TICKS.map((t) => ({ value: probit(t) }));
    },
    ticks: {
      autoSkip: false,
      callback: (v: string | number) => {
        const p = TICKS.find((t) => Math.abs(probit(t) - Number(v)) < 1e-9);
        return p == null ? '' : `${+(100 * p).toPrecision(2)}`;
      },
    },
  };
}

/** A chart.js chart on a canvas, rebuilt when its config changes and destroyed on unmount. */
function useChart(make: (canvas: HTMLCanvasElement) => Chart, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = make(ref.current);
    return () => chart.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return ref;
}

export function DetChart({ e }: { e: Evaluation }) {
  const ref = useChart(
    (canvas) =>
      new Chart(canvas, {
        type: 'scatter',
        data: {
          datasets: [
            {
              label: 'DET',
              data: (e.metrics?.det ?? []).map((d) => ({ x: axis(d.pFa), y: axis(d.pMiss) })),
              showLine: true,
              borderColor: '#1f4e8c',
              pointRadius: 0,
              borderWidth: 2,
            },
            {
              label: `EER ${(100 * (e.metrics?.eer ?? 0)).toFixed(2)} %`,
              data: e.metrics ? [{ x: axis(e.metrics.eer), y: axis(e.metrics.eer) }] : [],
              borderColor: '#b42318',
              backgroundColor: '#b42318',
              pointRadius: 5,
            },
          ],
        },
        options: {
          animation: false,
          aspectRatio: 1,
          scales: {
            x: probitScale('Spoof accepted, false acceptance (%)'),
            y: probitScale('Bona fide rejected, miss (%)'),
          },
          plugins: { tooltip: { enabled: false } },
        },
      }),
    [e],
  );
  return (
    <div className="chart">
      <canvas ref={ref} role="img" aria-label="DET curve on probit axes" data-testid="det-chart" />
    </div>
  );
}

export function HistogramChart({ e }: { e: Evaluation }) {
  const bins = e.histogram.bonafide.length;
  const ref = useChart(
    (canvas) =>
      new Chart(canvas, {
        type: 'bar',
        data: {
          labels: Array.from({ length: bins }, (_, i) => `${(i / bins).toFixed(2)}–${((i + 1) / bins).toFixed(2)}`),
          datasets: [
            { label: 'bona fide', data: e.histogram.bonafide, backgroundColor: '#2e7d32' },
            { label: 'spoof', data: e.histogram.spoof, backgroundColor: '#c62828' },
          ],
        },
        options: {
          animation: false,
          scales: {
            x: { title: { display: true, text: 'P(bona fide)' } },
            y: { title: { display: true, text: 'files' }, ticks: { precision: 0 } },
          },
        },
      }),
    [e],
  );
  return (
    <div className="chart">
      <canvas ref={ref} role="img" aria-label="Score histogram per class" data-testid="histogram-chart" />
    </div>
  );
}
