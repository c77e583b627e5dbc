import { makeGrid } from './weight-grid.js';
import type { GridOptions, WeightGrid } from './weight-grid.js';

/**
 * Ternary weights {−a, 0, a}: each step tries the weight's neighbours on the grid.
 *
 * @param options - `a`, or `stds` (default 1: a = the tensor's base σ), and `layers` (default every kernel).
 * @returns The grid, for {@link RSOConfig.grid}.
 * @example
 * ```ts
 * new RSOOptimizer({ grid: ternaryGrid({ layers: ['dense_1'] }) });
 * ```
 */
export function ternaryGrid(options?: GridOptions): WeightGrid {
  return makeGrid('ternaryGrid', options, { name: 'ternary', maxCode: 1, zero: true, stds: 1 });
}
