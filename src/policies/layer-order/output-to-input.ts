import { withConfig } from '../registry.js';
import type { LayerOrder, LayerOrderGroup } from './layer-order.js';

/**
 * Searches layers from the output back to the input, the paper's order.
 *
 * @returns The layer order.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * outputToInput().order([{ name: 'a', size: 1 }, { name: 'b', size: 1 }], { cycle: 0, seed: 0 }); // [1, 0]
 * ```
 */
export function outputToInput(): LayerOrder {
  return withConfig(
    { order: (groups: readonly LayerOrderGroup[]) => groups.map((_, i) => groups.length - 1 - i) },
    { name: 'outputToInput' },
  );
}
