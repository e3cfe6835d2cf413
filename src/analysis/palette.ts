// The one palette of the page, its charts and the HTML report. Bona fide is blue and spoof red
// (ColorBrewer's RdBu ends): the pair stays apart for red-green colour-blind readers, and each is dark
// enough for text on white. src/ui/style.css repeats these values as CSS custom properties.

export const PALETTE = {
  /** The bona fide side of 0.5: verdict text, histogram bars, chart points. */
  bonafide: '#2166ac',
  /** The spoof side of 0.5. */
  spoof: '#b2182b',
  /** A score too close to 0.5 to lean either way (verdict text). */
  uncertain: '#7a5300',
  /** Exactly 0.5 in the bona fide / spoof colour scale: the grey between the two ends. */
  neutral: '#c8c8c8',
  /** Curves: the timeline's score line, the DET curve. */
  line: '#1f4e8c',
  /** The 0.5 decision line and the EER mark. */
  threshold: '#b42318',
  /** Axes and plot frames. */
  axis: '#999999',
  /** Grid lines and the DET chart's chance diagonal. */
  grid: '#d0d5dd',
  /** Plot area background. */
  plot: '#fafafa',
  /** Text and bar outlines. */
  ink: '#1d232b',
} as const;

/** One colour per line when several series share a chart (the reference conditions). */
export const SERIES = [
  '#1d232b',
  '#2166ac',
  '#b2182b',
  '#7a5300',
  '#5e3c99',
  '#1b7837',
  '#e66101',
  '#4393c3',
  '#d6604d',
] as const;

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** Colour of a P(bona fide): spoof red through the neutral grey at 0.5 to bona fide blue; alpha default 1. */
export function pColour(p: number, alpha = 1): string {
  const lerp = (a: number, b: number, t: number) => Math.round(a + (b - a) * t);
  const q = Math.min(1, Math.max(0, p));
  const [from, to, t] =
    q < 0.5
      ? [rgb(PALETTE.spoof), rgb(PALETTE.neutral), q / 0.5]
      : [rgb(PALETTE.neutral), rgb(PALETTE.bonafide), (q - 0.5) / 0.5];
  return `rgba(${lerp(from[0], to[0], t)}, ${lerp(from[1], to[1], t)}, ${lerp(from[2], to[2], t)}, ${alpha})`;
}
