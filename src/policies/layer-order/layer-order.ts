import type { Configurable } from '../registry.js';

/** What a layer order sees of one weight group. */
export interface LayerOrderGroup {
  /** The group name (the layer name, or `conv+bn` for a merged block). */
  readonly name: string;
  /** The number of scalars in the group. */
  readonly size: number;
}

/** Context passed to a layer order at the start of every cycle. */
export interface LayerOrderContext {
  /** The cycle about to start (0-based). */
  readonly cycle: number;
  /** The optimizer's seed; derive any randomness from it and `cycle` so the order can be recomputed on resume. */
  readonly seed: number;
}

/**
 * Decides the order in which the weight groups (layers) are searched in a cycle.
 *
 * @remarks `order` must return a permutation of `0 … groups.length − 1` (groups are given input → output),
 * must not mutate its input, and must be a pure function of (groups, cycle, seed).
 * @example
 * ```ts
 * const largestFirst: LayerOrder = {
 *   order: (groups) => groups.map((g, i) => [g.size, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i),
 * };
 * ```
 */
export interface LayerOrder extends Configurable {
  /**
   * Orders the groups for one cycle.
   *
   * @param groups - The weight groups, input → output.
   * @param context - The cycle and seed.
   * @returns A permutation of the group indices: the search order of this cycle.
   */
  order(groups: readonly LayerOrderGroup[], context: LayerOrderContext): readonly number[];
}
