import { createRng, sampleIndices } from '../../search/rng.js';
import { withConfig } from '../registry.js';
import { readOptions, requireNonNegative } from '../validate.js';
import type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';

/**
 * Visits a random subset of each group's scalars per cycle (kept in the paper's order).
 *
 * @param options - `fraction` in (0, 1]: the share of each group visited per cycle.
 * @returns The selection.
 * @remarks Each group visits max(1, round(fraction · size)) scalars, chosen by a partial Fisher–Yates
 * shuffle seeded with `${seed}/coordinates/${cycle}/${group}`, then sorted.
 * @example
 * ```ts
 * new RSOOptimizer({ coordinates: randomSubset({ fraction: 0.25 }) });
 * ```
 */
export function randomSubset(options: { readonly fraction: number }): CoordinateSelection {
  const fraction = requireNonNegative('randomSubset.fraction', readOptions('randomSubset', options, ['fraction']).fraction, true);
  if (fraction > 1) throw new RangeError(`randomSubset.fraction must be ≤ 1, got ${fraction}`);
  return withConfig(
    {
      select(size: number, { cycle, seed, group }: CoordinateContext): Int32Array {
        const count = Math.min(size, Math.max(1, Math.round(fraction * size)));
        return sampleIndices(createRng(`${seed}/coordinates/${cycle}/${group}`), size, count).sort();
      },
    },
    { name: 'randomSubset', fraction },
  );
}
