/**
 * OpenAI-ES (OpenES): antithetic Gaussian pairs around a mean, centred-rank fitness shaping, and Adam on the
 * resulting gradient estimate, with an optional L2 weight-decay penalty on each candidate's loss.
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { centredRanks, checkCandidate, checkLosses, fillGaussian, knobs } from './strategy.js';

/**
 * The knobs of {@link openEs}. σ's start, decay and floor and Adam's β₁, β₂ and ε are those of evosax's OpenES;
 * the population size and the learning rate are ours, to be tuned per task.
 */
export const OPEN_ES_DEFAULTS = {
  /** Candidates per generation (even: antithetic pairs). */
  popSize: 64,
  /** Initial noise scale σ. */
  sigma: 0.04,
  /** σ is multiplied by this after every generation… */
  sigmaDecay: 0.999,
  /** …down to this floor. */
  sigmaLimit: 0.01,
  /** Adam's learning rate. */
  lr: 0.05,
  beta1: 0.99,
  beta2: 0.999,
  eps: 1e-8,
  /** L2 penalty: each candidate's loss gets weightDecay · mean(x²) added before ranking (0: off). */
  weightDecay: 0,
};

/**
 * Creates an OpenES strategy.
 *
 * @param init - The starting mean, the seed and knob overrides ({@link OPEN_ES_DEFAULTS}).
 * @returns The strategy.
 * @remarks
 * Generation t draws z_1 … z_{P/2} ~ N(0, I) and evaluates x = μ ± σ z. With u_k the centred rank of candidate k
 * (+0.5 for the lowest loss, −0.5 for the highest) and ε_k = ±z, the estimate of the loss's gradient is
 * g = −(1 / (P σ)) Σ_k u_k ε_k; Adam then moves μ by −lr · m̂ / (√v̂ + ε), and σ ← max(σ · decay, floor).
 */
export function openEs(init: StrategyInit): Strategy {
  const k = knobs('open-es', OPEN_ES_DEFAULTS, init.settings);
  if (!Number.isInteger(k.popSize) || k.popSize < 2 || k.popSize % 2 !== 0) throw new RangeError(`open-es: popSize must be an even integer ≥ 2, got ${k.popSize}`);
  const dim = init.start.length;
  const mean = Float32Array.from(init.start);
  const pairs = k.popSize / 2;
  const noise = Array.from({ length: pairs }, () => new Float32Array(dim));
  const work = new Float32Array(dim);
  const penalty = new Float64Array(k.popSize);
  const m = new Float64Array(dim);
  const v = new Float64Array(dim);
  const grad = new Float64Array(dim);
  const rng = createRng(`${init.seed}/open-es`);
  let sigma = k.sigma;
  let generation = 0;
  let next = k.popSize;
  return {
    name: 'open-es',
    dim,
    get generation() {
      return generation;
    },
    ask() {
      for (const z of noise) fillGaussian(rng, z);
      next = 0;
      return k.popSize;
    },
    candidate(c) {
      checkCandidate('open-es', c, next, k.popSize);
      next++;
      const z = noise[c >> 1]!;
      const s = c % 2 === 0 ? sigma : -sigma;
      let sq = 0;
      for (let i = 0; i < dim; i++) {
        work[i] = mean[i]! + s * z[i]!;
        sq += work[i]! * work[i]!;
      }
      penalty[c] = (k.weightDecay * sq) / dim;
      return work;
    },
    tell(losses) {
      checkLosses('open-es', losses, k.popSize);
      const u = centredRanks(Array.from(losses, (l, c) => l + penalty[c]!));
      generation++;
      const b1 = 1 - k.beta1 ** generation;
      const b2 = 1 - k.beta2 ** generation;
      const scale = -1 / (k.popSize * sigma);
      grad.fill(0);
      noise.forEach((z, p) => {
        const w = (u[2 * p]! - u[2 * p + 1]!) * scale;
        for (let i = 0; i < dim; i++) grad[i] = grad[i]! + w * z[i]!;
      });
      for (let i = 0; i < dim; i++) {
        const g = grad[i]!;
        m[i] = k.beta1 * m[i]! + (1 - k.beta1) * g;
        v[i] = k.beta2 * v[i]! + (1 - k.beta2) * g * g;
        mean[i] = mean[i]! - (k.lr * (m[i]! / b1)) / (Math.sqrt(v[i]! / b2) + k.eps);
      }
      sigma = Math.max(sigma * k.sigmaDecay, k.sigmaLimit);
      next = k.popSize;
    },
    solution: () => mean,
  };
}
