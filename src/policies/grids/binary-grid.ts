import { makeGrid } from './weight-grid.js';
import type { GridOptions, WeightGrid } from './weight-grid.js';

/**
 * Binary weights {−a, a}: each step tries the sign flip.
 *
 * @param options - `a`, or `stds` (default 1: a = the tensor's base σ), and `layers` (default every kernel).
 * @returns The grid, for {@link RSOConfig.grid}.
 * @example
 * ```ts
 * new RSOOptimizer({ grid: binaryGrid() });
 * ```
 */
export function binaryGrid(options?: GridOptions): WeightGrid {
  return makeGrid('binaryGrid', options, { name: 'binary', maxCode: 1, zero: false, stds: 1 });
}
