import { verdictText } from '../analysis/verdict';

const SYMBOL = { bona: '✓', spoof: '✗', unsure: '?' } as const;

/** The verdict on a score in the one wording (verdict.ts), with a symbol so that colour is never alone. */
export function VerdictText({ p, testId }: { p: number; testId?: string }) {
  const v = verdictText(p);
  return (
    <span className={`verdict ${v.tone}`} data-testid={testId}>
      {SYMBOL[v.tone]} {v.text}
    </span>
  );
}
