import { SAMPLE_RATE } from '../model/config';
import type { RatModel } from '../model/load';
import type { PreparedReference } from '../model/rat';
import { type ConditionId, type ConditionInputs, conditionReferences } from './conditions';
import { formatTime } from './time';

// Scores one test clip under every reference condition, one condition at a time: each reference
// is prepared, used once and freed, so memory holds one reference's keys and values at most.

export interface ConditionResult {
  id: ConditionId;
  label: string;
  caption: string;
  /** Length of the reference used, in samples (0 for the zero vector); absent when unavailable. */
  refSamples?: number;
  pBonafide?: number;
  /** Per encoder layer: RMS of the attention branch and of the MLP branch. */
  attnRms?: number[];
  mlpRms?: number[];
  /** Why the condition could not run (no reference chosen, reference too short, ...). */
  unavailable?: string;
}

export interface ConditionsProgress {
  /** Conditions finished, out of those that can run. */
  done: number;
  total: number;
  id: ConditionId;
}

/** Runs every condition on `test`; unavailable conditions say why instead of failing the rest. */
export async function runConditions(
  model: Pick<RatModel, 'score' | 'prepareReference'>,
  test: Float32Array,
  inputs: ConditionInputs,
  opts: { signal?: AbortSignal; onProgress?: (p: ConditionsProgress) => void; maxSeconds?: number } = {},
): Promise<ConditionResult[]> {
  // every condition is a whole-clip pass, whose attention cost grows with the square of the length;
  // a length over the limit is rounded up, so that it never reads as the limit itself
  const max = opts.maxSeconds ?? Infinity;
  if (test.length > max * SAMPLE_RATE) {
    throw new Error(
      `The test clip is ${formatTime(test.length / SAMPLE_RATE, 'up')} long; the conditions score whole clips, up to ${max} s (see the window settings). Choose a shorter clip.`,
    );
  }
  const plan = conditionReferences(inputs).map((c) =>
    c.reference && c.reference.length > max * SAMPLE_RATE
      ? {
          spec: c.spec,
          unavailable: `This reference is ${formatTime(c.reference.length / SAMPLE_RATE, 'up')} long, over the ${max} s limit for one pass (see the window settings); choose a shorter clip.`,
        }
      : c,
  );
  const total = plan.filter((c) => !c.unavailable).length;
  const out: ConditionResult[] = [];
  let done = 0;
  for (const c of plan) {
    const base = { id: c.spec.id, label: c.spec.label, caption: c.spec.caption };
    if (c.unavailable !== undefined) {
      out.push({ ...base, unavailable: c.unavailable });
      continue;
    }
    opts.onProgress?.({ done, total, id: c.spec.id });
    let ref: PreparedReference | null = null;
    try {
      if (c.reference) {
        try {
          ref = await model.prepareReference(c.reference, { signal: opts.signal });
        } catch (e) {
          if ((e as Error).name === 'AbortError') throw e;
          out.push({ ...base, unavailable: `The reference cannot be used: ${(e as Error).message}` });
          done++;
          continue;
        }
      }
      const s = await model.score(test, { reference: ref, diagnostics: true, signal: opts.signal });
      out.push({
        ...base,
        refSamples: c.reference?.length ?? 0,
        pBonafide: s.pBonafide,
        attnRms: s.diagnostics!.attnRms,
        mlpRms: s.diagnostics!.mlpRms,
      });
    } finally {
      ref?.dispose();
    }
    done++;
  }
  opts.onProgress?.({ done, total, id: plan[plan.length - 1].spec.id });
  return out;
}
