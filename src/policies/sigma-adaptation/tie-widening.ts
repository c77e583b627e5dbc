import { withConfig } from '../registry.js';
import { readOptions, requireInteger, requireNonNegative } from '../../base/validate.js';
import type { SigmaAdaptation } from './success-rule.js';

// Far below float32's largest value (about 3.4e38), in which the search stores the multiplier.
const MAX_MULTIPLIER = 1e12;

/** Options of {@link tieWidening}. */
export interface TieWideningOptions {
  /**
   * The multiplier grows by this factor after a window in which every step tied, and shrinks by it after a
   * window with a move (default 2).
   */
  readonly factor?: number;
  /** Steps of a tensor per update (default 5). */
  readonly window?: number;
  /** Lower bound of the multiplier (default 1: narrowing stops at the σ of the schedule). */
  readonly min?: number;
  /** Upper bound of the multiplier (default 16). */
  readonly max?: number;
}

/**
 * Widens each tensor's σ while its steps tie, and narrows it back once they move: for flat losses, where every
 * small perturbation scores the same (an RL return that saturates, a 0-1 loss), so that a fixed σ never sees a
 * difference and RSO keeps w on every tie.
 *
 * @remarks After each window of a tensor's steps, with `tied` the steps whose losses of w, w + Δ and w − Δ were
 * equal and finite and `moved` the steps that kept w + Δ or w − Δ:
 * m ← min(max, m · factor) when tied = window; m ← max(min, m / factor) otherwise when moved > 0; m unchanged
 * otherwise (w strictly best: the loss is not flat there, and σ is left to the schedule). Population methods (SNES,
 * CMA-ES, a GA) escape a plateau by sampling wide; this gives RSO's one-weight steps the same reach while the
 * plateau lasts, and returns to the schedule's σ when the loss has a slope again.
 * @param options - `factor`, `window`, `min`, `max`.
 * @returns The rule, for {@link RSOConfig.sigmaAdaptation}.
 * @throws RangeError for a factor ≤ 1, a window that is not an integer ≥ 1, bounds without min ≤ 1 ≤ max, or a
 *   max above 10^12.
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaAdaptation: tieWidening({ factor: 2, max: 16 }) });
 * ```
 */
export function tieWidening(options: TieWideningOptions = {}): SigmaAdaptation {
  const o = readOptions<TieWideningOptions>('tieWidening', options, ['factor', 'window', 'min', 'max']);
  const factor = requireNonNegative('tieWidening.factor', o.factor ?? 2, true);
  if (factor <= 1) throw new RangeError(`tieWidening.factor must be > 1, got ${factor}`);
  const window = requireInteger('tieWidening.window', o.window ?? 5, 1, 1e6);
  const min = requireNonNegative('tieWidening.min', o.min ?? 1, true);
  const max = requireNonNegative('tieWidening.max', o.max ?? 16, true);
  if (!(min <= 1 && 1 <= max)) throw new RangeError(`tieWidening: min ≤ 1 ≤ max must hold, got min ${min}, max ${max}`);
  if (max > MAX_MULTIPLIER) throw new RangeError(`tieWidening.max must be ≤ ${MAX_MULTIPLIER}, got ${max}`);
  return withConfig(
    {
      window,
      countsTies: true,
      update(multiplier: number, moved: number, steps: number, tied = 0): number {
        const next = tied >= steps ? multiplier * factor : moved > 0 ? multiplier / factor : multiplier;
        return Math.min(max, Math.max(min, next));
      },
    },
    { name: 'tieWidening', factor, window, min, max },
  );
}
