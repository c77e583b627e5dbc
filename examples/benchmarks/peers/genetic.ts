/**
 * A genetic algorithm in the manner of ml5.js neuroevolution: a population of weight vectors, parents chosen with
 * probability growing with fitness, uniform crossover, Gaussian mutation of a share of the weights, and the best
 * members carried over unchanged (elitism).
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import type { Rng } from '../../../src/index.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { checkCandidate, checkLosses, gaussian, knobs, rankOrder } from './strategy.js';

/** The knobs of {@link genetic}. */
export const GENETIC_DEFAULTS = {
  /** Members of the population. */
  popSize: 50,
  /** Members copied unchanged into the next generation, best first. */
  elites: 1,
  /** Probability that a weight of a child is mutated. */
  mutationRate: 0.1,
  /** Standard deviation of a mutation. */
  mutationStd: 0.1,
};

/**
 * Creates a genetic algorithm.
 *
 * @param init - The starting parameters, the seed and knob overrides ({@link GENETIC_DEFAULTS}).
 * @returns The strategy: every member of the population is a candidate, every generation.
 * @remarks
 * Generation 0 holds the start and popSize − 1 mutants of it. After ranking (rank 0 the lowest loss), the elites
 * pass unchanged; each other child takes two parents drawn with probability ∝ popSize − rank (ml5 draws ∝ the
 * normalised score; a loss has no natural score, so ranks stand in), each weight from either parent with
 * probability ½, then adds N(0, mutationStd²) to each weight with probability mutationRate.
 * `solution()` is the best member of the last ranked generation.
 */
export function genetic(init: StrategyInit): Strategy {
  const k = knobs('genetic', GENETIC_DEFAULTS, init.settings);
  if (!Number.isInteger(k.popSize) || k.popSize < 2) throw new RangeError(`genetic: popSize must be an integer ≥ 2, got ${k.popSize}`);
  if (!Number.isInteger(k.elites) || k.elites < 0 || k.elites >= k.popSize) throw new RangeError(`genetic: elites must be an integer in 0…popSize − 1, got ${k.elites}`);
  const dim = init.start.length;
  const rng = createRng(`${init.seed}/genetic`);
  let population: Float32Array[] = Array.from({ length: k.popSize }, (_, m) => {
    const x = Float32Array.from(init.start);
    if (m > 0) mutate(x, rng, k.mutationRate, k.mutationStd);
    return x;
  });
  let best: Float32Array = population[0]!;
  let generation = 0;
  let next = k.popSize;
  return {
    name: 'genetic',
    dim,
    get generation() {
      return generation;
    },
    ask() {
      next = 0;
      return k.popSize;
    },
    candidate(c) {
      checkCandidate('genetic', c, next, k.popSize);
      next++;
      return population[c]!;
    },
    tell(losses) {
      checkLosses('genetic', losses, k.popSize);
      const ranked = rankOrder(losses).map((m) => population[m]!);
      best = ranked[0]!;
      population = Array.from({ length: k.popSize }, (_, m) => {
        if (m < k.elites) return ranked[m]!;
        const child = crossover(pick(ranked, rng), pick(ranked, rng), rng);
        mutate(child, rng, k.mutationRate, k.mutationStd);
        return child;
      });
      generation++;
      next = k.popSize;
    },
    solution: () => best,
  };
}

/** A member drawn with probability ∝ n − rank from `ranked` (best first). */
function pick(ranked: readonly Float32Array[], rng: Rng): Float32Array {
  const n = ranked.length;
  let r = rng.next() * ((n * (n + 1)) / 2);
  for (let rank = 0; rank < n; rank++) {
    r -= n - rank;
    if (r < 0) return ranked[rank]!;
  }
  return ranked[n - 1]!;
}

/** Uniform crossover: each weight from `a` or `b` with probability ½. */
function crossover(a: Float32Array, b: Float32Array, rng: Rng): Float32Array {
  const child = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) child[i] = rng.next() < 0.5 ? a[i]! : b[i]!;
  return child;
}

/** Adds N(0, std²) to each weight with probability `rate`, in place. */
function mutate(x: Float32Array, rng: Rng, rate: number, std: number): void {
  for (let i = 0; i < x.length; i++) if (rng.next() < rate) x[i] = x[i]! + std * gaussian(rng);
}
