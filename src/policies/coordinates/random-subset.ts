import { createRng, sampleIndices } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import { quote, readOptions, requireArray, requireShare } from '../../base/validate.js';
import type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';

/** Options of {@link randomSubset}. */
export interface RandomSubsetOptions {
  /**
   * The share of a group's scalars visited per cycle, in (0, 1]: one number for every group, or one per weight
   * group in input → output order (the order of `optimizer.weightGroups`), to spend fewer steps on the groups whose
   * steps cost most.
   */
  readonly fraction: number | readonly number[];
}

/** The validated `fraction`: a number, or a non-empty frozen copy of the per-group array. */
function readFraction(value: unknown): number | readonly number[] {
  if (!Array.isArray(value)) return requireShare('randomSubset.fraction', value);
  const shares = requireArray('randomSubset.fraction', value).map((v, i) => requireShare(`randomSubset.fraction[${i}]`, v));
  if (shares.length === 0) throw new RangeError('randomSubset.fraction must list at least one share, got []');
  return Object.freeze(shares);
}

/** The share of group `group` of `groups`; a per-group array must list one share per group. */
function shareOf(fraction: number | readonly number[], { group, groups }: CoordinateContext): number {
  if (typeof fraction === 'number') return fraction;
  if (fraction.length !== groups) {
    throw new RangeError(
      `coordinates: randomSubset.fraction lists ${fraction.length} share${fraction.length === 1 ? '' : 's'} (${quote(fraction)}), but the model has ${groups} weight group${groups === 1 ? '' : 's'}: give one share per entry of optimizer.weightGroups, input first`,
    );
  }
  return fraction[group]!;
}

/**
 * Visits a random subset of each group's scalars per cycle (kept in the paper's order).
 *
 * @param options - `fraction` in (0, 1]: the share of each group visited per cycle, or one share per group.
 * @returns The selection.
 * @remarks Each group visits max(1, round(share · size)) scalars, chosen by a partial Fisher–Yates
 * shuffle seeded with `${seed}/coordinates/${cycle}/${group}`, then sorted. A group whose share covers all its
 * scalars is swept whole, as `fullSweep()` sweeps it. Per-group shares are numbered from the input, as
 * `optimizer.weightGroups` lists the groups (a BN layer shares the group of the layer before it).
 * @example
 * ```ts
 * new RSOOptimizer({ coordinates: randomSubset({ fraction: 0.25 }) });
 * // The paper's MNIST network (7 groups, input first): a quarter of conv blocks 0 and 1 and half of block 2,
 * // whose steps cost most; every scalar of the others.
 * new RSOOptimizer({ coordinates: randomSubset({ fraction: [0.25, 0.25, 0.5, 1, 1, 1, 1] }) });
 * ```
 */
export function randomSubset(options: RandomSubsetOptions): CoordinateSelection {
  const fraction = readFraction(readOptions('randomSubset', options, ['fraction']).fraction);
  return withConfig(
    {
      select(size: number, context: CoordinateContext): Int32Array | null {
        const { cycle, seed, group } = context;
        const count = Math.min(size, Math.max(1, Math.round(shareOf(fraction, context) * size)));
        if (count === size) return null;
        return sampleIndices(createRng(`${seed}/coordinates/${cycle}/${group}`), size, count).sort();
      },
    },
    { name: 'randomSubset', fraction },
  );
}
