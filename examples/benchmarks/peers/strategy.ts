/**
 * The common shape of the gradient-free peers that the peers benchmark runs beside RSO: an ask/tell strategy over
 * one flat `Float32Array` of parameters (a model's trainable weights, or a policy's), which never calls the loss
 * itself. The caller asks how many candidates this generation has, writes each into the model, measures its loss on
 * the generation's batch, and tells the strategy the losses.
 *
 * @packageDocumentation
 */
import { normalDistribution } from '../../../src/index.js';
import type { Rng } from '../../../src/index.js';

/**
 * An ask/tell strategy that minimises a loss over a flat parameter vector.
 *
 * @remarks
 * One generation: `n = ask()`; for k = 0 … n − 1, `candidate(k)` returns the parameters to evaluate (a buffer the
 * strategy owns and may reuse or change on the next call: copy it to keep it); `tell(losses)` with `losses[k]` the
 * loss of candidate k. Candidates are requested in order, each once. `solution()` is the current estimate (the
 * mean of a distribution, or the best member of a population).
 */
export interface Strategy {
  /** The method's name, as in the benchmark's `--method`. */
  readonly name: string;
  /** Parameters. */
  readonly dim: number;
  /** Completed generations (calls of `tell`). */
  readonly generation: number;
  /** Starts a generation; returns how many candidates it has. */
  ask(): number;
  /** Candidate k of the current generation; valid until the next call on the strategy. */
  candidate(k: number): Float32Array;
  /** Ends the generation with the loss of each candidate, in order. */
  tell(losses: ArrayLike<number>): void;
  /** The current estimate of the minimiser (owned by the strategy: copy it to keep it). */
  solution(): Float32Array;
}

/** Everything a strategy's factory gets: the starting point, the seed and the knobs given on the command line. */
export interface StrategyInit {
  /** The starting parameters (copied, never changed). */
  readonly start: Float32Array;
  /** The seed of every draw. */
  readonly seed: number;
  /** Knob values by name (each strategy lists its own and rejects the rest). */
  readonly settings?: Readonly<Record<string, number>>;
}

/**
 * Runs one generation: asks, evaluates each candidate with `loss`, tells.
 *
 * @param s - The strategy.
 * @param loss - The loss of a parameter vector (which it must not keep or change).
 * @returns The candidates' losses, in order.
 */
export function runGeneration(s: Strategy, loss: (params: Float32Array) => number): Float64Array {
  const n = s.ask();
  const losses = new Float64Array(n);
  for (let k = 0; k < n; k++) losses[k] = loss(s.candidate(k));
  s.tell(losses);
  return losses;
}

const NORMAL = normalDistribution();

/** One standard normal draw from `rng` (the library's Box–Muller draw: two uniforms, no cached value). */
export function gaussian(rng: Rng): number {
  return NORMAL.sample(rng);
}

/** Fills `out` with standard normal draws from `rng`. */
export function fillGaussian(rng: Rng, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = NORMAL.sample(rng);
  return out;
}

/**
 * Centred ranks of losses: the lowest loss gets +0.5, the highest −0.5, evenly spaced between (ties broken by
 * index), so that a higher value is better.
 *
 * @remarks u_k = 0.5 − rank_k / (n − 1), with rank 0 the lowest loss; one candidate gets 0.
 */
export function centredRanks(losses: ArrayLike<number>): Float64Array {
  const n = losses.length;
  const order = rankOrder(losses);
  const u = new Float64Array(n);
  if (n === 1) return u;
  order.forEach((k, rank) => (u[k] = 0.5 - rank / (n - 1)));
  return u;
}

/** Indices of `losses` from lowest to highest (a stable sort: ties keep their index order). */
export function rankOrder(losses: ArrayLike<number>): number[] {
  return Array.from({ length: losses.length }, (_, k) => k).sort((a, b) => losses[a]! - losses[b]! || a - b);
}

/**
 * Reads a strategy's knobs: `defaults` overridden by `settings`.
 *
 * @throws RangeError naming a knob the strategy does not have, or a value that is not a finite number.
 */
export function knobs<T extends Record<string, number>>(method: string, defaults: T, settings: Readonly<Record<string, number>> = {}): T {
  const out: Record<string, number> = { ...defaults };
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in defaults)) throw new RangeError(`${method}: unknown setting "${key}"; its settings are ${Object.keys(defaults).join(', ')}`);
    if (!Number.isFinite(value)) throw new RangeError(`${method}: setting ${key} must be a finite number, got ${String(value)}`);
    out[key] = value;
  }
  return out as T;
}

/** Throws a RangeError unless `k` is the next candidate of a generation of `n`. */
export function checkCandidate(method: string, k: number, expected: number, n: number): void {
  if (k !== expected || k >= n) throw new RangeError(`${method}: candidate ${k} asked out of order (expected ${expected} of ${n}); ask() first`);
}

/** Throws a RangeError unless `losses` has one finite-or-infinite number per candidate. */
export function checkLosses(method: string, losses: ArrayLike<number>, n: number): void {
  if (losses.length !== n) throw new RangeError(`${method}: tell() needs ${n} losses, got ${losses.length}`);
  for (let k = 0; k < n; k++) if (Number.isNaN(losses[k])) throw new RangeError(`${method}: loss ${k} is NaN`);
}
