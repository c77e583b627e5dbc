import type { Rng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import type { PerturbationDistribution } from './distribution.js';

/**
 * The Rademacher distribution: −1 or +1 with equal probability (mean 0, variance 1).
 *
 * @returns The distribution.
 * @remarks Because RSO tries both w + Δ and w − Δ, a Rademacher Δ tries exactly w ± σ·s_c.
 * @example
 * ```ts
 * rademacherDistribution().sample(createRng(1)); // -1 or 1
 * ```
 */
export function rademacherDistribution(): PerturbationDistribution {
  return withConfig({ sample: (rng: Rng) => (rng.next() < 0.5 ? -1 : 1) }, { name: 'rademacher' });
}
