/**
 * Sparse coordinate-wise forward differences with momentum, as in DeepZero: each step estimates the gradient on a
 * random subset of coordinates of every parameter group (layer variable), one forward difference per coordinate,
 * and takes an SGD-with-momentum step.
 *
 * It reuses nothing of the library's engine but its coordinate sampler (`sampleIndices`, a seeded partial
 * Fisher–Yates): every candidate is a full forward pass. DeepZero's feature reuse, re-running only the layers
 * after the perturbed one, is what the library's model engine does for RSO; this peer does not use it.
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import { sampleIndices } from '../../../src/base/rng.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { checkCandidate, checkLosses, knobs } from './strategy.js';

/** The knobs of {@link forwardDiff}. */
export const FORWARD_DIFF_DEFAULTS = {
  /** Share of each group's coordinates differenced per step (at least one per group). */
  fraction: 0.01,
  /** Difference step μ. */
  mu: 5e-3,
  /** SGD learning rate. */
  lr: 0.01,
  /** Momentum β. */
  momentum: 0.9,
};

/**
 * Creates a sparse forward-difference strategy.
 *
 * @param init - The starting parameters, the seed, knob overrides ({@link FORWARD_DIFF_DEFAULTS}) and the sizes
 *   of the parameter groups (`groups`; default: one group).
 * @returns The strategy: per step, candidate 0 is θ and candidate j ≥ 1 is θ + μ e_{i_j}.
 * @remarks
 * S_t holds max(1, round(fraction · n_g)) coordinates of each group g, drawn without replacement.
 * ĝ_i = (L(θ + μ e_i) − L(θ)) / μ for i ∈ S_t, 0 elsewhere; v ← β v + ĝ; θ ← θ − lr v.
 */
export function forwardDiff(init: StrategyInit & { readonly groups?: readonly number[] }): Strategy {
  const k = knobs('forward-diff', FORWARD_DIFF_DEFAULTS, init.settings);
  if (!(k.fraction > 0 && k.fraction <= 1)) throw new RangeError(`forward-diff: fraction must be in (0, 1], got ${k.fraction}`);
  const dim = init.start.length;
  const groups = init.groups ?? [dim];
  if (groups.reduce((a, b) => a + b, 0) !== dim) throw new RangeError(`forward-diff: the groups' sizes (${groups.join(', ')}) do not add up to ${dim} parameters`);
  const theta = Float32Array.from(init.start);
  const work = Float32Array.from(init.start);
  const velocity = new Float32Array(dim);
  const rng = createRng(`${init.seed}/forward-diff`);
  let coords = new Int32Array(0);
  let generation = 0;
  let next = 1;
  let perturbed = -1;
  return {
    name: 'forward-diff',
    dim,
    get generation() {
      return generation;
    },
    ask() {
      let offset = 0;
      const parts = groups.map((n) => {
        const picked = sampleIndices(rng, n, Math.max(1, Math.round(k.fraction * n))).map((i) => i + offset);
        offset += n;
        return picked;
      });
      coords = Int32Array.from(parts.flatMap((p) => Array.from(p)));
      work.set(theta);
      perturbed = -1;
      next = 0;
      return coords.length + 1;
    },
    candidate(c) {
      checkCandidate('forward-diff', c, next, coords.length + 1);
      next++;
      if (perturbed >= 0) work[perturbed] = theta[perturbed]!;
      perturbed = c === 0 ? -1 : coords[c - 1]!;
      if (perturbed >= 0) work[perturbed] = theta[perturbed]! + k.mu;
      return work;
    },
    tell(losses) {
      checkLosses('forward-diff', losses, coords.length + 1);
      for (let i = 0; i < dim; i++) velocity[i] = k.momentum * velocity[i]!;
      coords.forEach((i, j) => (velocity[i] = velocity[i]! + (losses[j + 1]! - losses[0]!) / k.mu));
      for (let i = 0; i < dim; i++) theta[i] = theta[i]! - k.lr * velocity[i]!;
      generation++;
      next = coords.length + 1;
    },
    solution: () => theta,
  };
}
