import type { WeightTensorInfo } from '../../base/weight-groups.js';
import type { Configurable } from '../registry.js';

/** A tensor as a σ rule sees it: its description and its values when the optimizer first met it. */
export interface SigmaTensor extends WeightTensorInfo {
  /** The tensor's values when the optimizer first saw it (normally its initial values). */
  readonly values: Float32Array;
}

/**
 * Chooses the base perturbation scale σ of each trainable tensor, once, when the optimizer first sees it.
 *
 * @remarks `layer` holds every tensor of the same layer (the tensor itself included), so a rule can give a
 * bias the scale of its kernel. The result must be finite and > 0: a σ of 0 would freeze the tensor.
 * @example
 * ```ts
 * const tenth: SigmaRule = { sigma: () => 0.1 };
 * ```
 */
export interface SigmaRule extends Configurable {
  /**
   * The base σ of one tensor.
   *
   * @param tensor - The tensor.
   * @param layer - Every tensor of its layer, itself included.
   * @returns σ, finite and > 0.
   */
  sigma(tensor: SigmaTensor, layer: readonly SigmaTensor[]): number;
}

/** Standard deviation (population) of the values, in float64. */
export function stdOf(values: Float32Array): number {
  const n = values.length;
  if (n === 0) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}

/** He scale sqrt(2 / fanIn) of a kernel, fanIn = product of all dims but the last. */
export function heOf(shape: readonly number[]): number {
  const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return Math.sqrt(2 / Math.max(fanIn, 1));
}

/** σ for BN gamma/beta in the authors' script. arXiv:2005.05955, authors' script. */
export const SCRIPT_BN_SIGMA = 0.167;
