import type { Rng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import type { PerturbationDistribution } from './distribution.js';

/**
 * The Laplace distribution with mean 0 and variance 1 (scale b = 1/√2).
 *
 * @returns The distribution.
 * @remarks Inverse CDF: with v = u − 1/2, x = −b · sign(v) · ln(1 − 2|v|).
 * @example
 * ```ts
 * const x = laplaceDistribution().sample(createRng(1));
 * ```
 */
export function laplaceDistribution(): PerturbationDistribution {
  const b = Math.SQRT1_2;
  return withConfig(
    {
      sample(rng: Rng): number {
        const v = rng.next() - 0.5;
        return -b * Math.sign(v) * Math.log(1 - 2 * Math.abs(v));
      },
    },
    { name: 'laplace' },
  );
}
