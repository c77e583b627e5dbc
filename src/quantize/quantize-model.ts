import * as tf from '@tensorflow/tfjs-core';
import { codeRange, fittedGrid } from '../policies/grids/index.js';
import type { WeightGrid } from '../policies/grids/index.js';
import { quote, readOptions, requireArray, requireInteger } from '../base/validate.js';
import { describeTensor } from '../base/weight-groups.js';
import { fitScale, roundCode } from './fit-scale.js';
import type { ScaleFit } from './fit-scale.js';

/** The weights a quantizer reads and writes: any LayersModel. */
export interface WeightsHolder {
  /** The model's weights, as `LayersModel.weights` lists them. */
  readonly weights: readonly HeldWeight[];
}

/** One weight of a {@link WeightsHolder}: a tfjs `LayerVariable`. */
export interface HeldWeight {
  /** The variable's name (`'dense_1/kernel'`). */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly (number | null)[];
  /** Its current value. */
  read(): tf.Tensor;
  /** Assigns a new value of the same shape. */
  write(value: tf.Tensor): void;
  /** Whether training changes it (BN moving statistics do not). */
  readonly trainable: boolean;
}

/** Options of {@link quantizeModel}. */
export interface QuantizeOptions {
  /** Bits per weight: 1 (binary), 2 (ternary), 3 … 8 (symmetric codes −(2^(bits−1) − 1) … 2^(bits−1) − 1). */
  readonly bits: number;
  /** One scale per output channel (the last axis, default) or per tensor. */
  readonly scales?: 'channel' | 'tensor';
  /** `'mse'` (default): scales of least rounding error; `'maxAbs'`: max |w| / maxCode, what a converter does. */
  readonly fit?: ScaleFit;
  /** The tensors or layers to quantize, by name. Default: every trainable kernel of rank ≥ 2 (conv, dense). */
  readonly layers?: readonly string[];
}

/** One quantized tensor: value = code × scale of its channel, in float32. */
export interface QuantizedKernel {
  /** The variable name, e.g. `dense_1/kernel`. */
  readonly name: string;
  /** The tensor shape. */
  readonly shape: readonly number[];
  /** The codes, row-major. */
  readonly codes: Int8Array;
  /** The value of code 1: one per tensor, or one per output channel (scalar k is in channel k mod length). */
  readonly scales: Float32Array;
  /** The sum of squared rounding errors against the weights quantized. */
  readonly sse: number;
  /**
   * Per scalar, row-major: how far the weight quantized sat from the nearest level other than its own, in steps
   * (|w / s − ℓ| for the nearest ℓ of code ± 1 on the grid; binary: −code). Near 0.5 the rounding was a close
   * call; {@link roundingOrder} visits those first. Absent when the codes did not come from `quantizeModel`.
   */
  readonly margins?: Float32Array;
}

/** A quantized model's kernels and how they were quantized, from {@link quantizeModel}. */
export interface QuantizedModel {
  /** Bits per weight (1 binary, 2 ternary, …). */
  readonly bits: number;
  /** Per channel or per tensor. */
  readonly scales: 'channel' | 'tensor';
  /** How the scales were chosen. */
  readonly fit: ScaleFit;
  /** The quantized tensors, in the model's weight order. */
  readonly kernels: readonly QuantizedKernel[];
}

/**
 * Quantizes a trained model's kernels to a symmetric grid of 2, 3, … 2^bits − 1 levels, rounding each weight to
 * the nearest level, and writes the quantized values into the model (biases and BN stay as they are).
 *
 * @param model - The trained model (any LayersModel); its kernels are overwritten with their levels.
 * @param options - `bits`, and `scales` (`'channel'` or `'tensor'`), `fit` (`'mse'` or `'maxAbs'`), `layers`.
 * @returns The codes and scales of each quantized tensor.
 * @throws RangeError naming the field for bad options, or a layer name the model lacks.
 * @remarks Each channel's (or tensor's) scale is fitted by {@link fitScale}: with `'mse'`, the s minimizing
 * Σ (w − code(w) · s)², code(w) = clip(round(w / s), −m, m). The levels are fround(code × s), exactly what
 * {@link quantizedGrid} gives RSO to search.
 * @example
 * ```ts
 * const q = quantizeModel(model, { bits: 2 }); // ternary, per-channel scales of least rounding error
 * console.log(q.kernels.map((k) => k.sse));
 * ```
 */
export function quantizeModel(model: WeightsHolder, options: QuantizeOptions): QuantizedModel {
  const o = readOptions<QuantizeOptions>('quantizeModel', options, ['bits', 'scales', 'fit', 'layers']);
  const bits = requireInteger('quantizeModel.bits', o.bits, 1, 8);
  const scales = o.scales ?? 'channel';
  if (scales !== 'channel' && scales !== 'tensor') throw new RangeError(`quantizeModel.scales must be 'channel' or 'tensor', got ${quote(scales)}`);
  const fit = o.fit ?? 'mse';
  if (fit !== 'mse' && fit !== 'maxAbs') throw new RangeError(`quantizeModel.fit must be 'mse' or 'maxAbs', got ${quote(fit)}`);
  const weights = model.weights.map((w) => ({ variable: w, info: describeTensor(w.name, w.shape.map((d) => d ?? 0)) }));
  let chosen: typeof weights;
  if (o.layers === undefined) {
    chosen = weights.filter(({ variable, info }) => variable.trainable && info.role === 'kernel' && info.shape.length >= 2);
  } else {
    const names = requireArray('quantizeModel.layers', o.layers).map((n, i) => {
      if (typeof n !== 'string' || n.length === 0) throw new RangeError(`quantizeModel.layers[${i}] must be a layer or tensor name, got ${quote(n)}`);
      return n;
    });
    const own = (info: { name: string; layer: string }) => [info.name, info.name.replace(/_\d+$/, ''), info.layer];
    const missing = names.find((n) => !weights.some(({ info }) => own(info).includes(n)));
    if (missing !== undefined) throw new RangeError(`quantizeModel.layers: no weight or layer is named "${missing}"; the model has ${weights.map((w) => w.info.name).join(', ')}`);
    chosen = weights.filter(({ info }) => own(info).some((n) => names.includes(n)) && (info.role === 'kernel' || !names.includes(info.layer)));
  }
  if (chosen.length === 0) throw new RangeError('quantizeModel: the model has no trainable kernel of rank ≥ 2 to quantize; name the tensors in layers');
  const kernels = chosen.map(({ variable, info }) => {
    const values = variable.read().dataSync() as Float32Array;
    const kernel = quantizeTensor(info.name, info.shape, values, bits, scales, fit);
    const levels = dequantize(kernel);
    tf.tidy(() => variable.write(tf.tensor(levels, [...info.shape], 'float32')));
    return kernel;
  });
  return { bits, scales, fit, kernels };
}

/**
 * Quantizes one tensor's values.
 *
 * @param name - Its name, kept in the result.
 * @param shape - Its shape; channels are the last axis.
 * @param values - Its values, row-major.
 * @param bits - 1 … 8.
 * @param scales - Per `'channel'` or per `'tensor'`.
 * @param fit - `'mse'` or `'maxAbs'`.
 * @returns The codes, scales and rounding error.
 * @example
 * ```ts
 * quantizeTensor('w', [2, 2], Float32Array.of(1, 0.1, -1, 0.2), 2, 'channel', 'mse'); // scales [1, 0.2]... per column
 * ```
 */
export function quantizeTensor(name: string, shape: readonly number[], values: Float32Array, bits: number, scales: 'channel' | 'tensor', fit: ScaleFit): QuantizedKernel {
  const channels = scales === 'tensor' || shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const out = new Float32Array(channels);
  const codes = new Int8Array(values.length);
  const margins = new Float32Array(values.length);
  let sse = 0;
  const column = new Float32Array(values.length / channels);
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < column.length; r++) column[r] = values[r * channels + c]!;
    const fitted = fitScale(column, bits, fit);
    out[c] = fitted.scale;
    sse += fitted.sse;
    for (let r = 0; r < column.length; r++) {
      const k = r * channels + c;
      codes[k] = roundCode(column[r]!, fitted.scale, bits);
      margins[k] = otherLevelDistance(column[r]! / fitted.scale, codes[k]!, bits);
    }
  }
  return { name, shape: [...shape], codes, scales: out, sse, margins };
}

/** The distance from `x` (a weight in steps) to the nearest grid code other than `code`: code ± 1, or −code for binary. */
export function otherLevelDistance(x: number, code: number, bits: number): number {
  const { maxCode, zero } = codeRange(bits);
  if (!zero) return Math.abs(x + code);
  let best = Infinity;
  for (const other of [code - 1, code + 1]) if (Math.abs(other) <= maxCode) best = Math.min(best, Math.abs(x - other));
  return best;
}

/** The float32 values of a quantized tensor: fround(code × scale of its channel). */
export function dequantize(kernel: Pick<QuantizedKernel, 'codes' | 'scales'>): Float32Array {
  const { codes, scales } = kernel;
  return Float32Array.from(codes, (code, k) => code * scales[k % scales.length]!);
}

/**
 * The weight grid of a quantized model, for repairing its rounding with RSO: each step tries a weight's two
 * neighbouring levels of its channel on the training loss.
 *
 * @param q - The result of {@link quantizeModel}.
 * @returns A {@link fittedGrid} covering exactly the quantized tensors with their scales, named without tfjs's
 *   `_N` suffix (so that it matches a worker thread's copy of the model, and a model of the same layer names).
 * @example
 * ```ts
 * const q = quantizeModel(model, { bits: 2 });
 * await new RSOOptimizer({ seed: 1, grid: quantizedGrid(q) }).fit(model, xs, ys, { maxSteps: 2000 });
 * ```
 */
export function quantizedGrid(q: QuantizedModel): WeightGrid {
  // Names without tfjs's `_N` suffix: a worker thread's copy of the model has variables of the plain names.
  return fittedGrid({ bits: q.bits, tensors: q.kernels.map((k) => ({ name: k.name.replace(/_\d+$/, ''), steps: Array.from(k.scales) })) });
}
