import { useEffect, useRef } from 'react';
import Chart, { type ChartConfiguration } from 'chart.js/auto';

/** A chart.js chart on a canvas, rebuilt when `config` changes (memoise it); `label` is its text alternative. */
export function ChartCanvas({
  config,
  label,
  height = 220,
  testId,
}: {
  config: ChartConfiguration;
  label: string;
  height?: number;
  testId?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      ...config,
      options: { maintainAspectRatio: false, animation: false, ...config.options },
    });
    return () => chart.destroy();
  }, [config]);
  return (
    <div className="chart-box" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId} />
    </div>
  );
}

/** Colour for a P(bona fide): red (spoof side) through grey to blue (bona fide side), colour-blind safe; alpha default 1. */
export function pColour(p: number, alpha = 1): string {
  const lerp = (a: number, b: number, t: number) => Math.round(a + (b - a) * t);
  const [from, to, t] =
    p < 0.5 ? [[178, 24, 43], [200, 200, 200], p / 0.5] : [[200, 200, 200], [33, 102, 172], (p - 0.5) / 0.5];
  return `rgba(${lerp(from[0], to[0], t)}, ${lerp(from[1], to[1], t)}, ${lerp(from[2], to[2], t)}, ${alpha})`;
}
