import * as tf from '@tensorflow/tfjs-core';
import type { History, LayersModel } from '@tensorflow/tfjs-layers';
import { quote } from '../base/validate.js';
import { quantizeModel, quantizedGrid } from '../quantize/quantize-model.js';
import type { QuantizedModel, QuantizeOptions } from '../quantize/quantize-model.js';
import { roundingOrder } from '../quantize/rounding-order.js';
import type { RoundingOrderOptions } from '../quantize/rounding-order.js';
import { reestimateBatchNorm } from '../base/batch-norm.js';
import { evaluateModel } from '../train/evaluate.js';
import type { Evaluation } from '../train/evaluate.js';
import type { RSOFitArgs } from '../train/fit-args.js';
import { resolveLoss } from '../train/losses.js';
import type { RSOConfig } from '../config/config.js';
import { RSOOptimizer } from './rso-optimizer.js';

// rso.fit's default BN re-estimation sample (fit-args.ts), used for the "before" measurement too.
const DEFAULT_BN_SAMPLES = 2000;
const EVAL_BATCH = 1000;

/** Options of {@link repairQuantized}. */
export interface RepairQuantizedOptions {
  /**
   * How to quantize (`{ bits, scales, fit, layers }`, see {@link quantizeModel}), or a quantization already
   * applied to the model (the result of `quantizeModel`).
   */
  readonly quantize: QuantizeOptions | QuantizedModel;
  /** Optimizer options (seed, σ, …); `grid` is set from the quantization. */
  readonly optimizer?: Omit<RSOConfig, 'grid'>;
  /**
   * Visit, each cycle, only the share `fraction` of each kernel whose rounding was the closest call (see
   * {@link roundingOrder}), and every other weight; it sets `optimizer.coordinates`, so leave that out.
   */
  readonly roundingOrder?: RoundingOrderOptions;
  /** `rso.fit` arguments: `maxSteps`, `cycles` or `timeBudgetSeconds`, `workers`, `batchSize`, `validationData`, …. */
  readonly fit?: RSOFitArgs;
  /** Where accuracy is measured before and after: these `[x, y]`, else `fit.validationData`, else the training data. */
  readonly evaluation?: readonly [tf.Tensor, tf.Tensor];
}

/** What {@link repairQuantized} did. */
export interface RepairQuantizedResult {
  /** The quantization (bits, scales; the codes are those of round-to-nearest, before the repair). */
  readonly quantized: QuantizedModel;
  /** The optimizer, for `exportQuantized` or to continue. */
  readonly optimizer: RSOOptimizer;
  /** Loss and accuracy of the rounded model, after re-estimating BN as the fit does at its end. */
  readonly before: Evaluation;
  /** Loss and accuracy after the repair. */
  readonly after: Evaluation;
  /** The fit's history. */
  readonly history: History;
}

/**
 * Quantizes a trained model (round to nearest on fitted scales), then repairs the rounding with RSO on the grid:
 * each step tries a weight's neighbouring levels on the training loss, while biases and BN parameters are
 * searched as continuous values in the same run.
 *
 * @param model - A trained model with a single input tensor; it is changed in place.
 * @param x - Training inputs.
 * @param y - Training targets.
 * @param options - `quantize`, and optionally `optimizer`, `roundingOrder` (the closest rounding calls first), `fit`
 *   (bound the run with `maxSteps`, `cycles` or `timeBudgetSeconds`; `workers` for threads) and `evaluation` data.
 * @returns The quantization, the optimizer, and loss and accuracy before and after.
 * @throws RangeError or TypeError naming the field of a bad option, from quantizeModel, RSOOptimizer or rso.fit.
 * @remarks Equivalent to `q = quantizeModel(model, quantize)` then
 * `new RSOOptimizer({ ...optimizer, grid: quantizedGrid(q) }).fit(model, x, y, fit)`. BN moving statistics are
 * re-estimated from the first `fit.batchNormSamples` (default 2,000) training examples before the "before"
 * measurement, so that the gain reported is the repair's, not the re-estimation's. A model compiled with
 * another optimizer is recompiled with the RSOOptimizer and its loss (metrics are dropped).
 * @example
 * ```ts
 * const r = await repairQuantized(model, xTrain, yTrain, {
 *   quantize: { bits: 2 }, optimizer: { seed: 1 }, fit: { timeBudgetSeconds: 120, workers: nodeWorkers(2) },
 *   evaluation: [xTest, yTest],
 * });
 * console.log(r.before.acc, '→', r.after.acc);
 * ```
 */
export async function repairQuantized(model: LayersModel, x: tf.Tensor, y: tf.Tensor, options: RepairQuantizedOptions): Promise<RepairQuantizedResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`repairQuantized: options must be an object, got ${quote(options)}`);
  const known = ['quantize', 'optimizer', 'roundingOrder', 'fit', 'evaluation'];
  const unknown = Object.keys(options).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new RangeError(`repairQuantized: unknown option "${unknown}"; the options are ${known.join(', ')}`);
  if (typeof options.quantize !== 'object' || options.quantize === null) throw new TypeError(`repairQuantized: options.quantize must be quantizeModel's options or its result, got ${quote(options.quantize)}`);
  if (options.optimizer !== undefined && 'grid' in options.optimizer) throw new RangeError('repairQuantized: options.optimizer.grid is set from the quantization; leave it out');
  if (options.roundingOrder !== undefined && options.optimizer?.coordinates !== undefined) {
    throw new RangeError('repairQuantized: options.roundingOrder sets optimizer.coordinates; give one of them');
  }
  const fitArgs = options.fit ?? {};
  const [ex, ey] = options.evaluation ?? (fitArgs.validationData as readonly [tf.Tensor, tf.Tensor] | undefined) ?? [x, y];
  if (!(ex instanceof tf.Tensor) || !(ey instanceof tf.Tensor)) throw new TypeError('repairQuantized: options.evaluation must be [x, y] tensors');
  const q = 'kernels' in options.quantize ? options.quantize : quantizeModel(model, options.quantize);
  const spec = fitArgs.loss;
  const lossFn = resolveLoss(typeof spec === 'string' || typeof spec === 'function' ? spec : 'categoricalCrossentropy', 'mean');
  const samples = fitArgs.batchNormSamples ?? DEFAULT_BN_SAMPLES;
  if (samples > 0) tf.tidy(() => reestimateBatchNorm(model, tf.slice(x, 0, Math.min(samples, x.shape[0]!))));
  const before = evaluateModel(model, ex, ey, lossFn, EVAL_BATCH);
  const order = options.roundingOrder === undefined ? {} : { coordinates: roundingOrder(q, options.roundingOrder) };
  const optimizer = new RSOOptimizer({ ...options.optimizer, ...order, grid: quantizedGrid(q) });
  // A model compiled with another optimizer (Adam, say) is recompiled with this one and the same loss.
  if ((model.optimizer as unknown) != null) model.compile({ optimizer, loss: model.loss });
  const history = await optimizer.fit(model, x, y, fitArgs);
  const after = evaluateModel(model, ex, ey, lossFn, EVAL_BATCH);
  return { quantized: q, optimizer, before, after, history };
}
