import { rankedSubset } from '../policies/coordinates/index.js';
import type { CoordinateSelection } from '../policies/coordinates/index.js';
import { readOptions, requireShare } from '../base/validate.js';
import type { QuantizedModel } from './quantize-model.js';

/** Options of {@link roundingOrder}. */
export interface RoundingOrderOptions {
  /** The share of each quantized tensor's weights visited per cycle, in (0, 1]: the closest rounding calls. */
  readonly fraction: number;
}

// Margins are kept to 1/1000 of a step in the optimizer's config: enough to rank them, and a short config.
const MARGIN_DIGITS = 1000;

/**
 * The coordinate selection that spends a repair's steps where rounding was a close call: in each quantized
 * tensor, the share of weights that sat nearest another level when they were rounded; biases and BN parameters
 * are visited whole.
 *
 * @param q - The result of {@link quantizeModel} (its kernels carry `margins`).
 * @param options - `fraction` in (0, 1].
 * @returns A {@link rankedSubset} over the quantized tensors, for `RSOConfig.coordinates`.
 * @throws RangeError for a bad fraction, or a quantization without margins.
 * @remarks A weight w rounded to code c on step s has margin min |w / s − ℓ| over the other reachable codes ℓ
 * (c ± 1; binary: −c): 0.5 when w sat on a rounding boundary, 1 when it sat on its level. The weights of least
 * margin are those whose rounding most likely went the wrong way (AdaRound's per-weight up-or-down decision), so a
 * repair that cannot visit every weight in its budget visits those.
 * @example
 * ```ts
 * const q = quantizeModel(model, { bits: 2 });
 * const opt = new RSOOptimizer({ grid: quantizedGrid(q), coordinates: roundingOrder(q, { fraction: 0.3 }) });
 * ```
 */
export function roundingOrder(q: QuantizedModel, options: RoundingOrderOptions): CoordinateSelection {
  const fraction = requireShare('roundingOrder.fraction', readOptions('roundingOrder', options, ['fraction']).fraction);
  const tensors = q.kernels.map((k) => {
    if (k.margins === undefined) throw new RangeError(`roundingOrder: "${k.name}" has no margins; quantize the model with quantizeModel`);
    return { name: k.name, costs: Array.from(k.margins, (m) => Math.round(m * MARGIN_DIGITS) / MARGIN_DIGITS) };
  });
  return rankedSubset({ fraction, tensors });
}
