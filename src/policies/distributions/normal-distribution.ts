import type { Rng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import type { PerturbationDistribution } from './distribution.js';

/**
 * The standard normal distribution N(0, 1), the paper's choice.
 *
 * @returns The distribution.
 * @remarks Box–Muller: z = sqrt(−2 ln u₁) · cos(2π u₂), with u₁ ∈ (0, 1]. Two uniforms per draw, no cached
 * second value, so the generator state alone determines the next draw.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * const z = normalDistribution().sample(createRng(1));
 * ```
 */
export function normalDistribution(): PerturbationDistribution {
  return withConfig(
    {
      sample(rng: Rng): number {
        const u1 = 1 - rng.next();
        const u2 = rng.next();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      },
    },
    { name: 'normal' },
  );
}
