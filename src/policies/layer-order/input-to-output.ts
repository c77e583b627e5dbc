import { withConfig } from '../registry.js';
import type { LayerOrder, LayerOrderGroup } from './layer-order.js';

/**
 * Searches layers from the input to the output.
 *
 * @returns The layer order.
 * @example
 * ```ts
 * inputToOutput().order([{ name: 'a', size: 1 }, { name: 'b', size: 1 }], { cycle: 0, seed: 0 }); // [0, 1]
 * ```
 */
export function inputToOutput(): LayerOrder {
  return withConfig({ order: (groups: readonly LayerOrderGroup[]) => groups.map((_, i) => i) }, { name: 'inputToOutput' });
}
