import { withConfig } from '../registry.js';
import type { Configurable } from '../registry.js';
import { quote, readOptions, requireArray, requireInteger, requireNonNegative, requireShare } from '../../base/validate.js';
import { planStages, stageDecision } from './paired-test.js';
import type { PlannedStage } from './paired-test.js';

/**
 * Early rejection: each step evaluates its candidates on growing prefixes of the mini-batch and stops as soon
 * as a sequential paired test settles which one to keep.
 *
 * @remarks The search runs {@link EarlyRejection.plan} once per batch and, for each planned stage in turn,
 * asks the evaluator for the stage's per-example loss sums and calls {@link EarlyRejection.decide}. A stage that
 * decides ends the step; otherwise the full batch is evaluated and the acceptance rule decides, as without
 * early rejection.
 */
export interface EarlyRejection extends Configurable {
  /** Increasing fractions of the batch in (0, 1]; the last is 1, the full batch. */
  readonly stages: readonly number[];
  /**
   * The chance that a step stops on a candidate the full batch would not have kept, at most (before ties), for a
   * rule that bounds it. The search does not read it; a rule without such a bound leaves it out.
   */
  readonly errorRate?: number;
  /**
   * The fewest examples a planned stage has. With worker threads it must be at least their number, so that every
   * thread holds a row of every stage.
   */
  readonly minExamples: number;
  /**
   * The stages a batch of `rows` examples tests before the full batch.
   *
   * @param rows - Examples in the batch.
   */
  plan(rows: number): readonly PlannedStage[];
  /**
   * Decides a stage from its sums: the candidate to keep, or −1 to go on.
   *
   * @remarks The sums are `[n, L0, L1, L2, S01, Q01, S02, Q02, S12, Q12]`, all shards combined: n the stage's
   * examples, Lk the sum of candidate k's per-example losses, and for each pair (a, b) Sab = Σ (lb − la) and
   * Qab = Σ (lb − la)². The kept candidate's reported losses are the stage's (L0, L1, L2) / n, or × N / n for a
   * loss summed over the batch. A rule that decides the same sums the same way keeps threads in lockstep.
   *
   * @param sums - The stage's per-example loss sums, all shards combined.
   * @param tested - The number of stages the batch's plan tests.
   * @param candidates - The step's three candidate values.
   */
  decide(sums: ArrayLike<number>, tested: number, candidates: ArrayLike<number>): number;
}

/** Options of {@link earlyRejection}. */
export interface EarlyRejectionOptions {
  /** Increasing fractions of the batch in (0, 1], ending with 1 (default [1/8, 1/4, 1/2, 1]). */
  readonly stages?: readonly number[];
  /** The total error rate of a step's early decisions, in (0, 1) (default 0.05). */
  readonly errorRate?: number;
  /** The fewest examples a stage needs to be tested, an integer ≥ 2 (default 30, the normal approximation's usual floor). */
  readonly minExamples?: number;
}

/** Default stages: halving shares of the batch. */
const DEFAULT_STAGES: readonly number[] = [1 / 8, 1 / 4, 1 / 2, 1];

function parseStages(value: unknown): number[] {
  const stages = requireArray('earlyRejection.stages', value).map((v, i) => requireShare(`earlyRejection.stages[${i}]`, v));
  if (stages.length === 0) throw new RangeError('earlyRejection.stages must not be empty, got []');
  stages.forEach((v, i) => {
    if (i > 0 && v <= stages[i - 1]!) throw new RangeError(`earlyRejection.stages must increase, got ${quote(stages)}`);
  });
  if (stages[stages.length - 1] !== 1) throw new RangeError(`earlyRejection.stages must end with 1 (the full batch), got ${quote(stages)}`);
  return stages;
}

/**
 * Early rejection on part of the mini-batch: a sequential paired z test on per-example loss differences, which
 * ends a step on a prefix of the batch when the prefix already settles the decision.
 *
 * @remarks Stage i takes the first ⌈stages[i] · N⌉ of the batch's N rows (nested prefixes); a stage with fewer
 * than `minExamples` rows is skipped. After each stage but the full batch, with b the candidate of lowest mean
 * loss on the stage and dₑ = lₖ(e) − l_b(e) the per-example differences to each other candidate k, the
 * statistic is z = mean(d) / (sd(d) / √n) over the stage's n examples. The step stops and keeps b when, against
 * both other candidates, z > Φ⁻¹(1 − α) with α = errorRate / (2 · T), T the stages the batch tests (Bonferroni
 * over the two comparisons and the stages), so the chance of a wrong early stop is at most `errorRate` under the
 * normal approximation. The finite-population correction is not applied, which errs on the side of going on.
 * Otherwise the full batch decides through the acceptance rule, so `errorRate` → 0 gives the decisions of a
 * run without early rejection. The test follows Korattikara, Chen & Welling, "Austerity in MCMC land: cutting
 * the Metropolis-Hastings budget" (ICML 2014), and Bardenet, Doucet & Holmes, "On Markov chain Monte Carlo
 * methods for tall data" (JMLR 2017).
 *
 * It needs per-example losses, so it works with `rso.fit` on a loss compiled by name (mean or sum), without
 * regularizer penalties; `rso.fit` throws at the start otherwise, and `minimize` (`model.fit`) always throws.
 * With BatchNormalization in training mode, a stage of n rows is normalised with its own statistics, as a batch
 * of n rows would be.
 * @param options - `stages`, `errorRate`, `minExamples`.
 * @returns The policy, for {@link RSOConfig.earlyRejection}.
 * @see arXiv:2005.05955 for RSO's step, whose three losses this evaluates in stages.
 * @example
 * ```ts
 * new RSOOptimizer({ earlyRejection: earlyRejection({ stages: [0.25, 0.5, 1], errorRate: 0.05 }) });
 * ```
 */
export function earlyRejection(options: EarlyRejectionOptions = {}): EarlyRejection {
  const o = readOptions<EarlyRejectionOptions>('earlyRejection', options, ['stages', 'errorRate', 'minExamples']);
  const stages = parseStages(o.stages ?? DEFAULT_STAGES);
  const errorRate = requireNonNegative('earlyRejection.errorRate', o.errorRate ?? 0.05, true);
  if (errorRate >= 1) throw new RangeError(`earlyRejection.errorRate must be < 1, got ${errorRate}`);
  const minExamples = requireInteger('earlyRejection.minExamples', o.minExamples ?? 30, 2);
  return withConfig(
    {
      stages,
      errorRate,
      minExamples,
      plan: (rows: number) => planStages(stages, minExamples, rows),
      decide: (sums: ArrayLike<number>, tested: number, candidates: ArrayLike<number>) => stageDecision(sums, errorRate / (2 * tested), candidates),
    },
    { name: 'earlyRejection', stages: [...stages], errorRate, minExamples },
  );
}
