import { configParams, registerBuiltInPolicy, withConfig } from '../registry.js';
import { readOptions, requireNonNegative } from '../../base/validate.js';
import type { WeightTensorInfo } from '../../base/weight-groups.js';
import type { MovePolicy, MoveSite } from './move-policy.js';

/** Options of {@link unitMoves}. */
export interface UnitMovesOptions {
  /** Expected length of a block's Δ in units of the scalar step's σ (default 1: the length of one scalar step). */
  readonly norm?: number;
}

/**
 * The weights leaving the input unit of `flat` in a Dense kernel [in, out] (its row) or a conv kernel
 * [kh, kw, cin, cout] (every kh·kw·cout weight of its input channel), in row-major order; null for other tensors.
 */
function inputUnitOf(tensor: WeightTensorInfo, flat: number): Int32Array | null {
  const shape = tensor.shape;
  if (tensor.role !== 'kernel' || (shape.length !== 2 && shape.length !== 4)) return null;
  const cout = shape[shape.length - 1]!;
  const cin = shape[shape.length - 2]!;
  // The scalar's input unit, and the number of kernel positions (1 for Dense, kh·kw for a conv).
  const ci = Math.floor(flat / cout) % cin;
  const positions = tensor.size / (cin * cout);
  const flats = new Int32Array(positions * cout);
  for (let s = 0; s < positions; s++) {
    const start = (s * cin + ci) * cout;
    for (let co = 0; co < cout; co++) flats[s * cout + co] = start + co;
  }
  return flats;
}

/**
 * Unit moves: each step on a conv or Dense kernel moves every weight leaving the input unit (or input channel) of
 * the scalar under the cursor, along one random direction. For a Dense kernel [in, out], the row of one input unit
 * (out weights); for a conv kernel [kh, kw, cin, cout], the kh·kw·cout weights that read input channel ci.
 *
 * @remarks The transpose of {@link channelBlocks}, which moves the weights entering one output channel. Δ = σ ·
 * `norm` · z / √n over the n weights of the block, z drawn per weight. A cycle still takes one step per scalar, so
 * each block is moved as many times per cycle as it holds weights. Biases, BN parameters and weights on a grid keep
 * scalar steps. The block spans every output channel, so the model engine evaluates it by re-running the layers
 * above the searched one (exact, slower than a channel's delta path). Weight regularizers are not supported with
 * block moves.
 * @param options - `norm`.
 * @returns The policy, for {@link RSOConfig.moves}.
 * @example
 * ```ts
 * new RSOOptimizer({ moves: unitMoves({ norm: 2 }) });
 * ```
 */
export function unitMoves(options: UnitMovesOptions = {}): MovePolicy {
  const o = readOptions<UnitMovesOptions>('unitMoves', options, ['norm']);
  const norm = requireNonNegative('unitMoves.norm', o.norm ?? 1, true);
  return withConfig({ norm, block: (site: MoveSite) => inputUnitOf(site.tensor, site.flat) }, { name: 'unitMoves', norm });
}

registerBuiltInPolicy('moves', 'unitMoves', (c) => unitMoves(configParams(c)));
