import type { Rng } from '../../base/rng.js';
import type { Configurable } from '../registry.js';

/**
 * A perturbation distribution: draws the unscaled Δ of one RSO step.
 *
 * @remarks
 * The optimizer multiplies each draw by the tensor's σ and the cycle's σ factor. Built-ins have mean 0 and
 * unit variance, so σ is the standard deviation of Δ. Draw only from the `rng` given: it is the optimizer's
 * one seeded generator, which makes runs reproducible and resumable.
 * @example
 * ```ts
 * const triangular: PerturbationDistribution = { sample: (rng) => rng.next() - rng.next() };
 * ```
 */
export interface PerturbationDistribution extends Configurable {
  /** Draws one value. */
  sample(rng: Rng): number;
}
