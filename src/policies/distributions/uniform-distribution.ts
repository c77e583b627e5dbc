import type { Rng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import type { PerturbationDistribution } from './distribution.js';

/**
 * The uniform distribution on [−√3, √3], which has mean 0 and variance 1.
 *
 * @returns The distribution.
 * @remarks x = √3 · (2u − 1).
 * @example
 * ```ts
 * const x = uniformDistribution().sample(createRng(1)); // in [-1.732, 1.732)
 * ```
 */
export function uniformDistribution(): PerturbationDistribution {
  return withConfig({ sample: (rng: Rng) => Math.sqrt(3) * (2 * rng.next() - 1) }, { name: 'uniform' });
}
