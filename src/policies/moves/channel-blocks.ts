import { configParams, registerBuiltInPolicy, withConfig } from '../registry.js';
import { readOptions, requireNonNegative } from '../../base/validate.js';
import type { WeightTensorInfo } from '../../base/weight-groups.js';
import type { MovePolicy, MoveSite } from './move-policy.js';

/** Options of {@link channelBlocks}. */
export interface ChannelBlocksOptions {
  /** Expected length of a block's Δ in units of the scalar step's σ (default 1: the length of one scalar step). */
  readonly norm?: number;
}

/** The weights feeding the output channel of `flat` in a conv or Dense kernel (the last axis), in row order. */
function channelOf(tensor: WeightTensorInfo, flat: number): Int32Array | null {
  if (tensor.role !== 'kernel' || (tensor.shape.length !== 2 && tensor.shape.length !== 4)) return null;
  const cout = tensor.shape[tensor.shape.length - 1]!;
  const flats = new Int32Array(tensor.size / cout);
  const co = flat % cout;
  for (let r = 0; r < flats.length; r++) flats[r] = r * cout + co;
  return flats;
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
  return withConfig({ norm, block: (site: MoveSite) => channelOf(site.tensor, site.flat) }, { name: 'channelBlocks', norm });
}

registerBuiltInPolicy('moves', 'channelBlocks', (c) => channelBlocks(configParams(c)));
