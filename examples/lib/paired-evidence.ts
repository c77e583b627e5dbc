/**
 * A user policy that asks for evidence before a move: a step keeps its best candidate only when the per-example
 * loss differences on the batch make the gain over the current value significant; otherwise it keeps w.
 *
 * It is written as an early-rejection rule (the policy kind that sees per-example loss sums) with one stage, the
 * batch less one row, which always decides: the full batch is never evaluated after it.
 */
import { pairedZ, registerPolicy } from '../../src/index.js';
import type { EarlyRejection, PlannedStage } from '../../src/index.js';

/**
 * Keeps the candidate of lowest mean loss only when its paired z statistic against w, over the batch's
 * per-example differences l_w(e) − l_best(e), exceeds `z`; otherwise keeps w.
 *
 * @param z - The z the gain must exceed (≥ 0; 0 keeps the lowest mean, as greedy acceptance does).
 * @returns The rule, for `RSOConfig.earlyRejection` (config `{ name: 'pairedEvidence', z }`).
 * @example
 * ```ts
 * new RSOOptimizer({ earlyRejection: pairedEvidence(1) });
 * ```
 */
export function pairedEvidence(z: number): EarlyRejection {
  if (!(z >= 0 && Number.isFinite(z))) throw new RangeError(`pairedEvidence.z must be a finite number ≥ 0, got ${z}`);
  const minExamples = 2;
  return {
    config: { name: 'pairedEvidence', z },
    stages: [0.999, 1],
    minExamples,
    plan(rows): PlannedStage[] {
      return rows - 1 >= minExamples ? [{ stage: 0, rows: rows - 1 }] : [];
    },
    // The sums are [n, L0, L1, L2, S01, Q01, S02, Q02, S12, Q12], with S0k = Σ (l_k − l_0) and Q0k = Σ (l_k − l_0)².
    decide(sums) {
      const n = sums[0]!;
      const best = sums[2]! <= sums[3]! ? 1 : 2;
      if (!Number.isFinite(sums[best + 1]!) || !(sums[best + 1]! < sums[1]!)) return 0;
      const gain = -sums[2 + 2 * best]!;
      return pairedZ(gain, sums[3 + 2 * best]!, n) > z ? best : 0;
    },
  };
}

registerPolicy('earlyRejection', 'pairedEvidence', (c) => pairedEvidence(Number(c['z'])));
