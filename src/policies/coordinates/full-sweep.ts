import { withConfig } from '../registry.js';
import type { CoordinateSelection } from './coordinate-selection.js';

/**
 * Visits every scalar once per cycle, in the paper's order.
 *
 * @returns The selection.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * new RSOOptimizer({ coordinates: fullSweep() });
 * ```
 */
export function fullSweep(): CoordinateSelection {
  return withConfig({ select: () => null }, { name: 'fullSweep' });
}
