import type * as tf from '@tensorflow/tfjs-core';
import { codeOf, levelOf, stepAt } from '../search/tensor-grids.js';
import type { RSOOptimizer } from './rso-optimizer.js';

/** One gridded weight tensor as int8 codes: value = code × scale. */
export interface QuantizedTensor {
  /** The variable name, e.g. `dense_1/kernel`. */
  readonly name: string;
  /** The tensor shape. */
  readonly shape: readonly number[];
  /** The codes, row-major, in −maxCode … maxCode. */
  readonly codes: Int8Array;
  /** The value of code 1 (float32); of channel 0 on a per-channel grid. */
  readonly scale: number;
  /** The value of code 1 per output channel (the last axis) on a per-channel grid, else null. */
  readonly scales: Float32Array | null;
}

/**
 * Exports the weights that a weight grid covers as int8 codes plus one scale per tensor, what an edge
 * runtime loads.
 *
 * @param model - The trained model (anything with `trainableWeights`, such as a LayersModel).
 * @param optimizer - The RSOOptimizer that trained it, with a grid (see {@link RSOConfig.grid}).
 * @returns One entry per gridded tensor, in the model's order. Continuous tensors (biases, BN) are not
 *   included: read them from the model.
 * @throws Error when the optimizer is not bound or has no grid; RangeError when a weight is off its grid
 *   (it was changed outside the optimizer), naming the tensor and the index.
 * @example
 * ```ts
 * const rso = new RSOOptimizer({ grid: ternaryGrid() });
 * await rso.fit(model, xs, ys, { cycles: 2 });
 * for (const q of exportQuantized(model, rso)) console.log(q.name, q.codes, q.scale);
 * ```
 */
export function exportQuantized(model: { readonly trainableWeights: readonly { read(): tf.Tensor; readonly name: string }[] }, optimizer: RSOOptimizer): QuantizedTensor[] {
  const grids = optimizer.tensorGrids;
  if (grids.size === 0) throw new Error('exportQuantized: the optimizer has no weight grid, or has not trained this model yet');
  const out: QuantizedTensor[] = [];
  for (const weight of model.trainableWeights) {
    const value = weight.read();
    const grid = grids.get(weight.name);
    if (grid === undefined) continue;
    const values = value.dataSync() as Float32Array;
    const codes = new Int8Array(values.length);
    values.forEach((w, k) => {
      const code = codeOf(grid, w, k);
      if (levelOf(grid, code, k) !== w) throw new RangeError(`exportQuantized: ${weight.name}[${k}] = ${w} is not on its grid (step ${stepAt(grid, k)}); was it changed outside the optimizer?`);
      codes[k] = code;
    });
    out.push({ name: weight.name, shape: [...value.shape], codes, scale: Math.fround(grid.step), scales: grid.steps ? Float32Array.from(grid.steps) : null });
  }
  if (out.length === 0) throw new Error('exportQuantized: none of the model\'s trainable weights is one the optimizer searched on a grid');
  return out;
}
