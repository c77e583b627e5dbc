import { withConfig } from '../registry.js';
import type { Configurable } from '../registry.js';
import { readOptions, requireNonNegative } from '../../base/validate.js';

/**
 * How a step moves the weights: the scalar under the cursor alone (the paper, when no policy is set), or a block of
 * weights around it along one random direction.
 */
export interface MovePolicy extends Configurable {
  /**
   * The direction's expected length in units of the scalar step's σ: Δ = σ · `norm` · z / √n over a block of n
   * weights, with z drawn from the distribution per weight.
   */
  readonly norm: number;
}

/** Options of {@link channelBlocks}. */
export interface ChannelBlocksOptions {
  /** Expected length of a block's Δ in units of the scalar step's σ (default 1: the length of one scalar step). */
  readonly norm?: number;
}

/**
 * Block moves: each step on a conv or Dense kernel moves every weight feeding the output channel of the scalar
 * under the cursor, along one random direction, instead of that scalar alone. The candidates are W, W + Δ and
 * W − Δ over the block (a conv's kh·kw·cin weights of one filter, a Dense unit's inputs).
 *
 * @remarks A cycle still takes one step per scalar, in the same order, so each block is moved as many times per
 * cycle as it holds weights, and σ schedules, layer orders and coordinate selections keep their meaning. Biases,
 * BN parameters and weights on a grid keep scalar steps. The model engine evaluates a block move on its delta paths
 * like a scalar step (one channel changes). Weight regularizers are not supported with block moves (the search
 * refuses them when it starts).
 * @param options - `norm`.
 * @returns The policy, for {@link RSOConfig.moves}.
 * @example
 * ```ts
 * new RSOOptimizer({ moves: channelBlocks() });
 * ```
 */
export function channelBlocks(options: ChannelBlocksOptions = {}): MovePolicy {
  const o = readOptions<ChannelBlocksOptions>('channelBlocks', options, ['norm']);
  const norm = requireNonNegative('channelBlocks.norm', o.norm ?? 1, true);
  return withConfig({ norm }, { name: 'channelBlocks', norm });
}
