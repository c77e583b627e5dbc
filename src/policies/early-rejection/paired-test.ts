// The sequential paired test of early rejection, as pure functions of per-example loss sums: no tfjs here.
import { STAGE_PAIRS } from '../../base/stage-sums.js';

/**
 * The paired z statistic of n differences from their sum and sum of squares: mean / (sd / √n), with the sample
 * standard deviation (n − 1 in the denominator).
 *
 * @returns +Infinity or −Infinity when every difference is the same non-zero value, NaN when all are zero or
 * n < 2.
 */
export function pairedZ(sum: number, sumSquares: number, n: number): number {
  if (n < 2) return NaN;
  const mean = sum / n;
  // Rounding can make the centred sum of squares slightly negative when every difference is equal.
  const variance = Math.max(0, (sumSquares - sum * mean) / (n - 1));
  return mean / Math.sqrt(variance / n);
}

/**
 * The standard normal quantile Φ⁻¹(p), for 0 < p < 1.
 *
 * @remarks Acklam's rational approximation, with a relative error below 1.2e-9 over (0, 1).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  // Acklam's coefficients, "An algorithm for computing the inverse normal cumulative distribution function".
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}

/** One stage a batch will test: its index in the rule's `stages`, and its rows (a prefix of the batch). */
export interface PlannedStage {
  /** Index of the stage in the rule's `stages`. */
  readonly stage: number;
  /** Rows of the stage: the batch's first `rows` examples. */
  readonly rows: number;
}

/**
 * The stages a batch of `rows` examples tests before the full batch: stage i takes the first ⌈stages[i] · rows⌉
 * rows. A stage is left out when it has fewer than `minExamples` rows, no more rows than the stage before it, or
 * the whole batch (the full batch is always decided by the acceptance rule).
 *
 * @param stages - Increasing fractions in (0, 1], the last being 1.
 * @param minExamples - The fewest rows a tested stage may have.
 * @param rows - Examples in the batch.
 * @returns The tested stages, in order (maybe none).
 */
export function planStages(stages: readonly number[], minExamples: number, rows: number): PlannedStage[] {
  const out: PlannedStage[] = [];
  let previous = 0;
  stages.forEach((fraction, stage) => {
    const n = Math.ceil(fraction * rows);
    if (n < minExamples || n <= previous || n >= rows) return;
    out.push({ stage, rows: n });
    previous = n;
  });
  return out;
}

/**
 * Decides one stage: the candidate with the lowest mean loss on the stage, if every comparison with it is settled.
 *
 * @remarks For the stage's best candidate b (lowest finite mean; ties to the lower index, as the greedy rule)
 * and each other candidate k, the per-example differences d = lₖ − l_b give z = mean(d) / (sd(d) / √n). The
 * comparison is settled when z > Φ⁻¹(1 − α), α = `alpha`. A candidate equal in value to b is the same weight and
 * needs no test. Any non-finite mean loss leaves the decision to the full batch.
 * @param sums - The stage sums, all shards combined (see `STAGE_SUM_LENGTH`).
 * @param alpha - The error rate of one comparison (already split across comparisons and stages).
 * @param candidates - The step's three candidate values.
 * @returns The index of the candidate to keep, or −1 to go on to the next stage.
 */
export function stageDecision(sums: ArrayLike<number>, alpha: number, candidates: ArrayLike<number>): number {
  const n = sums[0]!;
  let best = -1;
  for (let k = 0; k < 3; k++) {
    const l = sums[1 + k]!;
    if (!Number.isFinite(l)) return -1;
    if (best < 0 || l < sums[1 + best]!) best = k;
  }
  const critical = -normalQuantile(alpha);
  for (let k = 0; k < 3; k++) {
    if (k === best || candidates[k] === candidates[best]) continue;
    // Pair (a, b) holds Σ (lb − la); the difference wanted is lₖ − l_best.
    const [a, b] = k < best ? [k, best] : [best, k];
    const p = STAGE_PAIRS.findIndex(([x, y]) => x === a && y === b);
    const sign = k < best ? -1 : 1;
    const z = pairedZ(sign * sums[4 + 2 * p]!, sums[5 + 2 * p]!, n);
    if (!(z > critical)) return -1;
  }
  return best;
}
