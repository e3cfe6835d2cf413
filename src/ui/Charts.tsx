import { type MouseEvent, useMemo } from 'react';
import {
  conditionsPSvg,
  conditionsRatioSvg,
  detSvg,
  histogramSvg,
  timelineSvg,
  timelineWindowAt,
} from '../analysis/charts';
import type { Evaluation } from '../analysis/evaluate';
import type { ConditionResult } from '../analysis/run-conditions';
import type { TimelineSummary } from '../analysis/windows';

// The page's charts: the very SVG strings of src/analysis/charts.ts that the HTML report inlines,
// set as markup. The builders escape every text they are given, and the strings hold no script.

export interface SvgChartProps {
  /** SVG markup from a builder of src/analysis/charts.ts. */
  svg: string;
  testId?: string;
  className?: string;
  /** A click on the chart, with where it fell as a fraction (0 to 1) of the drawing's width and height. */
  onPick?: (fx: number, fy: number) => void;
}

export function SvgChart({ svg, testId, className, onPick }: SvgChartProps) {
  const click = onPick
    ? (e: MouseEvent<HTMLDivElement>) => {
        const box = (e.currentTarget.querySelector('svg') ?? e.currentTarget).getBoundingClientRect();
        if (box.width > 0 && box.height > 0)
          onPick((e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height);
      }
    : undefined;
  return (
    <div
      className={className ? `svg-chart ${className}` : 'svg-chart'}
      data-testid={testId}
      onClick={click}
      dangerouslySetInnerHTML={{ __html: svg }}
    />
  );
}

/** The evaluation's DET curve on probit axes. */
export function DetChart({ e }: { e: Evaluation }) {
  const svg = useMemo(() => detSvg(e), [e]);
  return <SvgChart className="chart" svg={svg} testId="det-chart" />;
}

/** The evaluation's score histogram per class. */
export function HistogramChart({ e }: { e: Evaluation }) {
  const svg = useMemo(() => histogramSvg(e), [e]);
  return <SvgChart className="chart" svg={svg} testId="histogram-chart" />;
}

/** The text alternative of a clip's timeline chart on the page. */
export const timelineChartLabel = (windows: number, file: string) =>
  `P(bona fide) of each of the ${windows} windows of ${file} over time; click a point to play from there`;

/** A long clip's score per window; a click seeks to the window whose centre is nearest the clicked time. */
export function TimelineChart({
  timeline,
  file,
  onSeek,
}: {
  timeline: TimelineSummary;
  file: string;
  onSeek?: (window: number) => void;
}) {
  const svg = useMemo(
    () => timelineSvg(timeline, { label: timelineChartLabel(timeline.windows.length, file) }),
    [timeline, file],
  );
  return (
    <SvgChart
      className="chart-box"
      svg={svg}
      testId="timeline-chart"
      onPick={onSeek && ((fx) => onSeek(timelineWindowAt(timeline, fx)))}
    />
  );
}

/** P(bona fide) per reference condition. */
export function ConditionsPChart({ results }: { results: readonly ConditionResult[] }) {
  const svg = useMemo(() => conditionsPSvg(results), [results]);
  return <SvgChart svg={svg} testId="conditions-p-chart" />;
}

/** Per encoder layer, attention RMS over MLP RMS, one line per condition. */
export function ConditionsRatioChart({ results }: { results: readonly ConditionResult[] }) {
  const svg = useMemo(() => conditionsRatioSvg(results), [results]);
  return <SvgChart svg={svg} testId="conditions-ratio-chart" />;
}
