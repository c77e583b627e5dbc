import { withConfig } from '../registry.js';
import type { Configurable } from '../registry.js';

/**
 * Picks which candidate of a step to keep.
 *
 * @remarks `losses[0]` is the loss of the current value w, `losses[1]` of w + Δ, `losses[2]` of w − Δ.
 * Return the index of the candidate to keep.
 * @example
 * ```ts
 * const alwaysKeep: AcceptanceRule = { accept: () => 0 };
 * ```
 */
export interface AcceptanceRule extends Configurable {
  /**
   * Chooses the candidate to keep.
   *
   * @param losses - Losses of w, w + Δ, w − Δ.
   * @returns 0, 1 or 2.
   */
  accept(losses: ArrayLike<number>): number;
}

/**
 * The paper's rule: keep the candidate with the lowest loss; a tie keeps the current value, and a NaN or
 * ±Inf loss never wins.
 *
 * @returns The rule.
 * @remarks k* = argmin over finite losses, scanning w, w + Δ, w − Δ and replacing only on a strictly lower
 * loss; 0 when no loss is finite.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * greedyAcceptance().accept([1, 0.5, 0.5]); // 1
 * ```
 */
export function greedyAcceptance(): AcceptanceRule {
  return withConfig(
    {
      accept(losses: ArrayLike<number>): number {
        let best = 0;
        let bestLoss = Number.isFinite(losses[0]!) ? losses[0]! : Infinity;
        for (let k = 1; k < losses.length; k++) {
          const l = losses[k]!;
          if (Number.isFinite(l) && l < bestLoss) {
            best = k;
            bestLoss = l;
          }
        }
        return best;
      },
    },
    { name: 'greedy' },
  );
}
