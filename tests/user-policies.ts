/**
 * A probe reuse, an early rejection rule and a stateful acceptance rule written as a user would: against the
 * public entry only, each with a config and a registered factory. The feature table runs them as rows; worker threads import this module
 * (`nodeWorkers(n, { modules: [USER_POLICIES] })`) so that they can rebuild the rules from the saved config.
 */
import { registerPolicy } from '../src/index.js';
import type { AcceptanceRule, EarlyRejection, PlannedStage, PolicyConfig, PolicyState, ProbeReuse } from '../src/index.js';

/** This module, for `nodeWorkers(n, { modules })`. */
export const USER_POLICIES = new URL('./user-policies.ts', import.meta.url);

/**
 * Probe reuse: moves `fraction` of the way to the better of w + Δ and w − Δ when it beats w, else keeps the
 * acceptance rule's choice.
 *
 * @param fraction - How far towards the better probe, in units of Δ (0 < fraction ≤ 1).
 */
export function partWayToBest(fraction = 0.5): ProbeReuse {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`partWayToBest.fraction must be in (0, 1], got ${fraction}`);
  const config: PolicyConfig = { name: 'partWayToBest', fraction };
  return {
    config,
    maxStep: fraction,
    position(losses) {
      const best = losses[2]! < losses[1]! ? 2 : 1;
      // NaN never wins: a comparison with NaN is false.
      if (!(losses[best]! < losses[0]!)) return null;
      return best === 1 ? fraction : -fraction;
    },
  };
}

/**
 * Early rejection at one stage: on the batch's first ⌈share · N⌉ rows, the candidate of lowest mean loss is kept
 * when every other candidate's mean is higher by more than `margin`; otherwise the full batch decides.
 *
 * @param margin - The gap in mean loss that settles a step (≥ 0).
 * @param share - The stage's share of the batch, in (0, 1).
 */
export function meanMargin(margin: number, share = 0.5): EarlyRejection {
  if (!(margin >= 0)) throw new RangeError(`meanMargin.margin must be ≥ 0, got ${margin}`);
  if (!(share > 0 && share < 1)) throw new RangeError(`meanMargin.share must be in (0, 1), got ${share}`);
  const config: PolicyConfig = { name: 'meanMargin', margin, share };
  const minExamples = 2;
  return {
    config,
    stages: [share, 1],
    minExamples,
    plan(rows): PlannedStage[] {
      const n = Math.ceil(share * rows);
      return n >= minExamples && n < rows ? [{ stage: 0, rows: n }] : [];
    },
    // The sums are [n, L0, L1, L2, …]: the stage's examples and each candidate's summed loss.
    decide(sums) {
      const n = sums[0]!;
      const means = [sums[1]! / n, sums[2]! / n, sums[3]! / n];
      if (!means.every(Number.isFinite)) return -1;
      const best = means.indexOf(Math.min(...means));
      return means.every((m, k) => k === best || m - means[best]! > margin) ? best : -1;
    },
  };
}

/**
 * Greedy acceptance that counts the moves it keeps and turns every `every`-th one down (w is kept instead): its
 * decisions depend on the count, which it saves as the state part `rso/acceptance`.
 *
 * @param every - Which kept moves are turned down (an integer ≥ 2).
 */
export function thinnedGreedy(every: number): AcceptanceRule {
  if (!(Number.isInteger(every) && every >= 2)) throw new RangeError(`thinnedGreedy.every must be an integer ≥ 2, got ${every}`);
  let moves = 0;
  const state: PolicyState<number> = {
    name: 'acceptance',
    dtype: 'int32',
    init: () => 0,
    get: () => moves,
    set: (n) => void (moves = n),
    encode: (n) => Int32Array.of(n),
    decode: (v) => {
      if (v.length !== 1 || !Number.isInteger(v[0]) || v[0]! < 0) throw new RangeError(`expected one count ≥ 0, got [${Array.from(v).join(', ')}]`);
      return v[0]!;
    },
  };
  return {
    config: { name: 'thinnedGreedy', every },
    state,
    accept(losses) {
      let best = 0;
      for (let k = 1; k < 3; k++) if (Number.isFinite(losses[k]!) && !(losses[k]! >= losses[best]!)) best = k;
      if (best === 0) return 0;
      moves++;
      return moves % every === 0 ? 0 : best;
    },
  };
}

const numberOr = (value: unknown, fallback: number) => (value === undefined ? fallback : Number(value));

registerPolicy('probeReuse', 'partWayToBest', (c) => partWayToBest(numberOr(c['fraction'], 0.5)));
registerPolicy('acceptance', 'thinnedGreedy', (c) => thinnedGreedy(Number(c['every'])));
registerPolicy('earlyRejection', 'meanMargin', (c) => meanMargin(Number(c['margin']), numberOr(c['share'], 0.5)));
