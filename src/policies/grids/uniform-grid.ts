import { requireInteger } from '../../base/validate.js';
import { makeGrid } from './weight-grid.js';
import type { GridOptions, WeightGrid } from './weight-grid.js';

/** Options of {@link uniformGrid}. */
export interface UniformGridOptions extends GridOptions {
  /** Bits per weight, 2 to 8: the codes −(2^(bits−1) − 1) … 2^(bits−1) − 1, symmetric int8 style. */
  readonly bits: number;
}

/**
 * k-bit symmetric uniform weights: 2^bits − 1 levels from −a to a, step a / (2^(bits−1) − 1). `bits: 2` is
 * the ternary grid.
 *
 * @param options - `bits`, then `a` or `stds` (default 3: a = three base σ), and `layers` (default every kernel).
 * @returns The grid, for {@link RSOConfig.grid}.
 * @example
 * ```ts
 * new RSOOptimizer({ grid: uniformGrid({ bits: 4 }) });
 * ```
 */
export function uniformGrid(options: UniformGridOptions): WeightGrid {
  const bits = requireInteger('uniformGrid.bits', (options as Partial<UniformGridOptions> | undefined)?.bits, 2, 8);
  const maxCode = 2 ** (bits - 1) - 1;
  return makeGrid('uniformGrid', options, { name: 'uniform', maxCode, zero: true, stds: 3, extra: { bits } }, ['bits']);
}
