import { configParams, registerBuiltInPolicy, withConfig } from '../registry.js';
import { readOptions, requireInteger, requireNonNegative } from '../../base/validate.js';
import type { Rng } from '../../base/rng.js';
import type { MovePolicy, MoveSite } from './move-policy.js';

/** Options of {@link sparseDirection}. */
export interface SparseDirectionOptions {
  /** Scalars per step, the one under the cursor included (default 4; a tensor with fewer moves them all). */
  readonly k?: number;
  /** Expected length of a block's Δ in units of the scalar step's σ (default 1: the length of one scalar step). */
  readonly norm?: number;
}

/**
 * `flat` and `k − 1` other distinct indices of 0 … size − 1, drawn uniformly by Floyd's method (one draw each, no
 * rejection), in increasing order.
 */
function sparseBlock(rng: Rng, size: number, flat: number, k: number): Int32Array {
  // Floyd's method over the size − 1 other indices, numbered 0 … size − 2 (an index at or past `flat` is one more).
  const others = size - 1;
  const m = Math.min(k, size) - 1;
  const chosen = new Set<number>();
  for (let j = others - m; j < others; j++) {
    const t = Math.floor(rng.next() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  const flats = Int32Array.from(chosen, (x) => (x >= flat ? x + 1 : x));
  const out = new Int32Array(m + 1);
  out.set(flats);
  out[m] = flat;
  return out.sort();
}

/**
 * Sparse random directions: each step on a kernel moves the scalar under the cursor and `k − 1` other scalars of
 * the same tensor, drawn from the search's seeded generator, along one random direction.
 *
 * @remarks Δ = σ · `norm` · z / √k over the k weights, z drawn per weight in increasing index order after the
 * indices. A cycle still takes one step per scalar, in the same order. Biases, BN parameters and weights on a grid
 * keep scalar steps. The model engine evaluates a block that lies in one output channel on that channel's delta
 * path, and any other by re-running the layers above the searched one (exact, slower). Weight regularizers are not
 * supported with block moves.
 * @param options - `k` and `norm`.
 * @returns The policy, for {@link RSOConfig.moves}.
 * @example
 * ```ts
 * new RSOOptimizer({ moves: sparseDirection({ k: 8 }) });
 * ```
 */
export function sparseDirection(options: SparseDirectionOptions = {}): MovePolicy {
  const o = readOptions<SparseDirectionOptions>('sparseDirection', options, ['k', 'norm']);
  const k = requireInteger('sparseDirection.k', o.k ?? 4, 1);
  const norm = requireNonNegative('sparseDirection.norm', o.norm ?? 1, true);
  const block = ({ tensor, flat, rng }: MoveSite) => (tensor.role === 'kernel' && tensor.size > 1 ? sparseBlock(rng, tensor.size, flat, k) : null);
  return withConfig({ norm, block }, { name: 'sparseDirection', k, norm });
}

registerBuiltInPolicy('moves', 'sparseDirection', (c) => sparseDirection(configParams(c)));
