import { withConfig } from '../registry.js';
import type { Configurable } from '../registry.js';
import { readOptions, requireInteger, requireNonNegative } from '../../base/validate.js';

/**
 * Adapts each tensor's σ from how often its steps move the weight.
 *
 * @remarks The search keeps a multiplier per tensor (1 at the start), applies it to Δ, and after every
 * `window` steps of the tensor calls {@link SigmaAdaptation.update} with the number of them that moved the
 * weight (and, with `countsTies`, the number whose candidates tied). The multiplier is part of the saved state.
 */
export interface SigmaAdaptation extends Configurable {
  /** Steps of a tensor between two updates of its multiplier. */
  readonly window: number;
  /**
   * When true, the search also counts the steps of each window whose three candidates had the same finite loss,
   * saves that count with the rest of the state, and passes it to `update` as `tied` (default false).
   */
  readonly countsTies?: boolean;
  /**
   * The multiplier after a window.
   *
   * @param multiplier - The current multiplier.
   * @param moved - Steps of the window that kept w + Δ or w − Δ.
   * @param window - Steps in the window.
   * @param tied - With `countsTies`: steps of the window whose losses of w, w + Δ and w − Δ were equal and
   *   finite; otherwise undefined.
   */
  update(multiplier: number, moved: number, window: number, tied?: number): number;
}

/** Options of {@link successRule}. */
export interface SuccessRuleOptions {
  /** The share of moving steps aimed at (default 0.2, Rechenberg's 1/5). */
  readonly target?: number;
  /** Steps of a tensor per update (default 50). */
  readonly window?: number;
  /** The multiplier grows by this factor after a window above target, and shrinks by it below (default 1.25). */
  readonly factor?: number;
  /** Lower bound of the multiplier (default 0.05). */
  readonly min?: number;
  /** Upper bound of the multiplier (default 20). */
  readonly max?: number;
}

/**
 * The 1/5th success rule (Rechenberg) per tensor: after each window, σ grows when more than `target` of its
 * steps moved the weight, and shrinks otherwise. Large σ where moves are easy, small where they are rare, so
 * that layers of different sensitivity each find their step size (a fixed σ can stall in some of them).
 *
 * @param options - `target`, `window`, `factor`, `min`, `max`.
 * @returns The rule, for {@link RSOConfig.sigmaAdaptation}.
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaAdaptation: successRule({ target: 0.2, window: 50 }) });
 * ```
 */
export function successRule(options: SuccessRuleOptions = {}): SigmaAdaptation {
  const o = readOptions<SuccessRuleOptions>('successRule', options, ['target', 'window', 'factor', 'min', 'max']);
  const target = requireNonNegative('successRule.target', o.target ?? 0.2, true);
  if (target >= 1) throw new RangeError(`successRule.target must be < 1, got ${target}`);
  const window = requireInteger('successRule.window', o.window ?? 50, 1, 1e6);
  const factor = requireNonNegative('successRule.factor', o.factor ?? 1.25, true);
  if (factor <= 1) throw new RangeError(`successRule.factor must be > 1, got ${factor}`);
  const min = requireNonNegative('successRule.min', o.min ?? 0.05, true);
  const max = requireNonNegative('successRule.max', o.max ?? 20, true);
  if (!(min <= 1 && 1 <= max)) throw new RangeError(`successRule: min ≤ 1 ≤ max must hold, got min ${min}, max ${max}`);
  return withConfig(
    {
      window,
      update(multiplier: number, moved: number, steps: number): number {
        const next = moved / steps > target ? multiplier * factor : multiplier / factor;
        return Math.min(max, Math.max(min, next));
      },
    },
    { name: 'successRule', target, window, factor, min, max },
  );
}
