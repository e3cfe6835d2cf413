// The verdict on a score, in one wording for the CLI, the page and the reports.

/** Verdict at the 0.5 decision point, as the original code splits. */
export const verdictOf = (p: number): 'bonafide' | 'spoof' => (p >= 0.5 ? 'bonafide' : 'spoof');

/** Verdict at the 0.5 decision point, worded with the uncertainty a single detector score carries. */
export function verdictText(p: number): { text: string; tone: 'bona' | 'spoof' | 'unsure' } {
  if (p >= 0.9) return { text: 'Likely bona fide (genuine)', tone: 'bona' };
  if (p >= 0.6) return { text: 'Leans bona fide', tone: 'bona' };
  if (p >= 0.5) return { text: 'Uncertain, just on the bona fide side of 0.5', tone: 'unsure' };
  if (p > 0.4) return { text: 'Uncertain, just on the spoof side of 0.5', tone: 'unsure' };
  if (p > 0.1) return { text: 'Leans spoof', tone: 'spoof' };
  return { text: 'Likely spoof (synthetic or converted)', tone: 'spoof' };
}
