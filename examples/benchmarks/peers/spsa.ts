/**
 * SPSA as MeZO runs it: one Gaussian direction per step, drawn from a per-step seed and regenerated from that seed
 * each time it is needed, so the only parameter-sized memory is the parameters themselves, perturbed in place.
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { checkCandidate, checkLosses, gaussian, knobs } from './strategy.js';

/** The knobs of {@link spsa}. */
export const SPSA_DEFAULTS = {
  /** Learning rate of the SGD step along the direction. */
  lr: 1e-3,
  /** Perturbation scale ε. */
  eps: 1e-3,
  /** Decoupled weight decay per step (MeZO's optional term; 0: off). */
  weightDecay: 0,
};

/**
 * Creates an SPSA (MeZO) strategy.
 *
 * @param init - The starting parameters, the seed and knob overrides ({@link SPSA_DEFAULTS}).
 * @returns The strategy: two candidates per step, both the strategy's parameter vector itself.
 * @remarks
 * Step t draws z ~ N(0, I) from the seed (seed, t). Candidate 0 is θ + εz and candidate 1 is θ − εz, made by
 * adding εz and then −2εz to θ in place. `tell` adds εz back and takes g = (L₊ − L₋) / (2ε), then
 * θ ← θ − lr (g z + λ θ), regenerating z from the same seed each time. (The float32 additions need not cancel
 * exactly, as in MeZO; the run stays deterministic.) Between `ask` and `tell`, `solution()` is a perturbed point.
 */
export function spsa(init: StrategyInit): Strategy {
  const k = knobs('spsa', SPSA_DEFAULTS, init.settings);
  const dim = init.start.length;
  const theta = Float32Array.from(init.start);
  let generation = 0;
  let next = 2;
  /** θ ← θ + scale · z_t + shrink · θ, with z_t regenerated from its seed. */
  const addDirection = (scale: number, shrink = 0) => {
    const rng = createRng(`${init.seed}/spsa/${generation}`);
    for (let i = 0; i < dim; i++) theta[i] = theta[i]! + scale * gaussian(rng) + shrink * theta[i]!;
  };
  return {
    name: 'spsa',
    dim,
    get generation() {
      return generation;
    },
    ask() {
      next = 0;
      return 2;
    },
    candidate(c) {
      checkCandidate('spsa', c, next, 2);
      next++;
      addDirection(c === 0 ? k.eps : -2 * k.eps);
      return theta;
    },
    tell(losses) {
      checkLosses('spsa', losses, 2);
      if (next !== 2) throw new RangeError('spsa: tell() before both candidates were evaluated');
      addDirection(k.eps);
      const g = (losses[0]! - losses[1]!) / (2 * k.eps);
      addDirection(-k.lr * g, -k.lr * k.weightDecay);
      generation++;
      next = 2;
    },
    solution: () => theta,
  };
}
