import { createRng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import type { LayerOrder, LayerOrderContext, LayerOrderGroup } from './layer-order.js';

/**
 * Searches layers in a new random order every cycle, reproducible from (seed, cycle).
 *
 * @returns The layer order.
 * @remarks Fisher–Yates shuffle driven by a generator seeded with `${seed}/layer-order/${cycle}`, so a resumed
 * run recomputes the same order without storing it.
 * @example
 * ```ts
 * shuffledOrder().order(groups, { cycle: 3, seed: 42 }); // the same permutation every time
 * ```
 */
export function shuffledOrder(): LayerOrder {
  return withConfig(
    {
      order(groups: readonly LayerOrderGroup[], { cycle, seed }: LayerOrderContext): readonly number[] {
        const rng = createRng(`${seed}/layer-order/${cycle}`);
        const p = groups.map((_, i) => i);
        for (let i = p.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [p[i], p[j]] = [p[j]!, p[i]!];
        }
        return p;
      },
    },
    { name: 'shuffled' },
  );
}
