import type { Rng } from '../../base/rng.js';
import type { WeightTensorInfo } from '../../base/weight-groups.js';
import type { PerturbationDistribution } from '../distributions/distribution.js';
import type { Configurable } from '../registry.js';

/** Where a step is about to move: what a {@link MovePolicy} is told when it shapes the step. */
export interface MoveSite {
  /** The tensor of the scalar under the cursor: its name, layer, role, shape and size. */
  readonly tensor: WeightTensorInfo;
  /** Row-major index of the scalar under the cursor in that tensor. */
  readonly flat: number;
  /** The search's seeded generator. Draw only from it, so that runs stay reproducible and resumable. */
  readonly rng: Rng;
  /** The configured perturbation distribution, for a policy that draws its own direction. */
  readonly distribution: PerturbationDistribution;
}

/**
 * How a step moves the weights: the scalar under the cursor alone (the paper, when no policy is set), or a block of
 * weights of its tensor along one random direction.
 *
 * @remarks A step at scalar w of tensor T asks {@link MovePolicy.block} for the block: row-major indices of T, w's
 * among them, each once. With n weights in it, the candidates are W, W + Δ and W − Δ over the block, with
 * Δ = σ · `norm` · z / √n and z one draw of the distribution per weight, in the block's order (or
 * {@link MovePolicy.direction}'s z). A cycle still takes one step per scalar, in the same order. Tensors on a weight
 * grid always take scalar steps. Every evaluator takes any block: the model engine on its delta paths when the block
 * lies in one output channel of a conv or Dense kernel, by re-running the layers above otherwise.
 * @example
 * ```ts
 * // Every weight of the kernel row of the scalar under the cursor (a Dense layer's input unit).
 * const rows: MovePolicy = {
 *   norm: 1,
 *   block: ({ tensor, flat }) => {
 *     if (tensor.role !== 'kernel' || tensor.shape.length !== 2) return null;
 *     const out = tensor.shape[1]!;
 *     const start = flat - (flat % out);
 *     return Int32Array.from({ length: out }, (_, j) => start + j);
 *   },
 * };
 * new RSOOptimizer({ moves: rows });
 * ```
 */
export interface MovePolicy extends Configurable {
  /**
   * The direction's expected length in units of the scalar step's σ: Δ = σ · `norm` · z / √n over a block of n
   * weights, with z drawn from the distribution per weight.
   */
  readonly norm: number;
  /**
   * The block a step at `site` moves.
   *
   * @param site - The tensor, the scalar under the cursor, the generator and the distribution.
   * @returns Row-major indices into the tensor, `site.flat` among them and each once; or null for a scalar step.
   */
  block(site: MoveSite): Int32Array | null;
  /**
   * The direction z over a block, one number per index of `flats` (optional; by default one draw of the
   * distribution per weight, in the block's order). The search scales it by σ · `norm` / √n.
   *
   * @param flats - The block, as {@link MovePolicy.block} returned it.
   * @param site - The step's site: draw from `site.rng` only.
   * @returns z, of the block's length.
   */
  direction?(flats: Int32Array, site: MoveSite): ArrayLike<number>;
}
