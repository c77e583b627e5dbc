import type { WeightTensorInfo } from '../../base/weight-groups.js';
import type { Configurable } from '../registry.js';

/** Context passed when a weight group starts in a cycle. */
export interface CoordinateContext {
  /** The current cycle (0-based). */
  readonly cycle: number;
  /** The optimizer's seed. */
  readonly seed: number;
  /** Index of the group (input → output numbering). */
  readonly group: number;
  /** Number of weight groups in the model. */
  readonly groups: number;
  /**
   * The group's tensors in search order: positions 0 … size − 1 run through the first tensor's scalars (each in
   * its search order, `searchOrderToFlat`), then the next tensor's.
   */
  readonly tensors: readonly WeightTensorInfo[];
}

/**
 * Decides which scalars of a weight group a cycle visits, and in which order.
 *
 * @remarks Return `null` for a full sweep in the paper's order, or the search-order positions to visit
 * (each in 0 … size − 1). It must be a pure function of (size, cycle, seed, group, groups, tensors).
 * @example
 * ```ts
 * const firstHalf: CoordinateSelection = {
 *   select: (size) => Int32Array.from({ length: Math.ceil(size / 2) }, (_, k) => k),
 * };
 * ```
 */
export interface CoordinateSelection extends Configurable {
  /**
   * The positions to visit in one group this cycle.
   *
   * @param size - Number of scalars in the group.
   * @param context - Cycle, seed, group index and number of groups.
   * @returns null for every scalar in order, or the search-order positions to visit.
   */
  select(size: number, context: CoordinateContext): Int32Array | null;
}
