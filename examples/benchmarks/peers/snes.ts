/**
 * SNES, separable natural evolution strategies: a Gaussian with a mean and one standard deviation per parameter,
 * moved along the natural gradient of the expected fitness with rank-based utilities.
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { checkCandidate, checkLosses, fillGaussian, knobs, rankOrder } from './strategy.js';

/** The knobs of {@link snes}; 0 selects the textbook value that depends on the dimension d. */
export const SNES_DEFAULTS = {
  /** Candidates per generation (0: 4 + ⌊3 ln d⌋). */
  popSize: 0,
  /** Initial standard deviation of every parameter. */
  sigma: 0.05,
  /** Learning rate of the mean. */
  lrMean: 1,
  /** Learning rate of the standard deviations (0: (3 + ln d) / (5 √d)). */
  lrSigma: 0,
};

/**
 * The rank-based utilities of NES for a population of `n`: best first.
 *
 * @remarks u_i = max(0, ln(n/2 + 1) − ln i) / Σ_j max(0, ln(n/2 + 1) − ln j) − 1/n, for i = 1 … n; they sum to 0.
 */
export function nesUtilities(n: number): Float64Array {
  const raw = Array.from({ length: n }, (_, i) => Math.max(0, Math.log(n / 2 + 1) - Math.log(i + 1)));
  const total = raw.reduce((a, b) => a + b, 0);
  return Float64Array.from(raw, (r) => r / total - 1 / n);
}

/**
 * Creates a SNES strategy.
 *
 * @param init - The starting mean, the seed and knob overrides ({@link SNES_DEFAULTS}).
 * @returns The strategy.
 * @remarks
 * Candidates x_k = μ + σ ⊙ z_k with z_k ~ N(0, I). With u the utility of each candidate's rank:
 * μ ← μ + η_μ σ ⊙ Σ u_k z_k and σ ← σ ⊙ exp((η_σ / 2) Σ u_k (z_k² − 1)).
 */
export function snes(init: StrategyInit): Strategy {
  const dim = init.start.length;
  const k = knobs('snes', SNES_DEFAULTS, init.settings);
  const popSize = k.popSize === 0 ? 4 + Math.floor(3 * Math.log(dim)) : k.popSize;
  if (!Number.isInteger(popSize) || popSize < 2) throw new RangeError(`snes: popSize must be an integer ≥ 2, got ${popSize}`);
  const lrSigma = k.lrSigma === 0 ? (3 + Math.log(dim)) / (5 * Math.sqrt(dim)) : k.lrSigma;
  const utilities = nesUtilities(popSize);
  const mean = Float32Array.from(init.start);
  const sigma = new Float32Array(dim).fill(k.sigma);
  const noise = Array.from({ length: popSize }, () => new Float32Array(dim));
  const work = new Float32Array(dim);
  const gMean = new Float64Array(dim);
  const gSigma = new Float64Array(dim);
  const rng = createRng(`${init.seed}/snes`);
  let generation = 0;
  let next = popSize;
  return {
    name: 'snes',
    dim,
    get generation() {
      return generation;
    },
    ask() {
      for (const z of noise) fillGaussian(rng, z);
      next = 0;
      return popSize;
    },
    candidate(c) {
      checkCandidate('snes', c, next, popSize);
      next++;
      const z = noise[c]!;
      for (let i = 0; i < dim; i++) work[i] = mean[i]! + sigma[i]! * z[i]!;
      return work;
    },
    tell(losses) {
      checkLosses('snes', losses, popSize);
      gMean.fill(0);
      gSigma.fill(0);
      rankOrder(losses).forEach((c, rank) => {
        const u = utilities[rank]!;
        const z = noise[c]!;
        for (let i = 0; i < dim; i++) {
          gMean[i] = gMean[i]! + u * z[i]!;
          gSigma[i] = gSigma[i]! + u * (z[i]! * z[i]! - 1);
        }
      });
      for (let i = 0; i < dim; i++) {
        mean[i] = mean[i]! + k.lrMean * sigma[i]! * gMean[i]!;
        sigma[i] = sigma[i]! * Math.exp((lrSigma / 2) * gSigma[i]!);
      }
      generation++;
      next = popSize;
    },
    solution: () => mean,
  };
}
