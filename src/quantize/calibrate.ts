import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { codeRange } from '../policies/grids/index.js';
import { quote, readOptions, requireInteger } from '../base/validate.js';
import { reestimateBatchNorm } from '../base/batch-norm.js';
import { dequantize, otherLevelDistance, quantizeModel } from './quantize-model.js';
import type { QuantizedKernel, QuantizedModel, QuantizeOptions } from './quantize-model.js';

/** Options of {@link quantizeCalibrated}: {@link quantizeModel}'s, and how much calibration to do. */
export interface CalibrateOptions extends QuantizeOptions {
  /** Calibration examples, the first of `x` (default 256). */
  readonly samples?: number;
  /** Rounds of code search and scale refit per channel (default 4). */
  readonly rounds?: number;
}

// Defaults: enough positions for the 144 × 144 input statistics of a 3 × 3 × 16 conv, a few seconds in all.
const DEFAULT_SAMPLES = 256;
const DEFAULT_ROUNDS = 4;
// Coordinate sweeps per round stop earlier once no code changes.
const MAX_SWEEPS = 50;

/** A layer whose kernel the calibration reconstructs: its input, and how to turn it into rows of the kernel's inputs. */
interface Site {
  readonly layer: tfl.layers.Layer;
  readonly kernel: QuantizedKernel;
  readonly index: number;
  readonly rows: (input: tf.Tensor) => tf.Tensor2D;
  /** The layer's output reaches a BatchNormalization through linear per-channel layers only: match it up to an offset. */
  readonly centred: boolean;
}

/**
 * Quantizes a trained model like {@link quantizeModel}, then chooses each kernel's codes and scales on data: layer
 * by layer from the input, the codes that make the layer's output on the quantized network's inputs closest to the
 * float layer's output on the float network's inputs. Gradient-free post-training quantization, before a repair.
 *
 * @param model - A trained LayersModel with one input; its kernels are overwritten with their levels, and its BN
 *   moving statistics with those of the sample.
 * @param x - Inputs the model sees in training (the first `samples` are used; no labels needed).
 * @param options - {@link quantizeModel}'s options, `samples` (default 256) and `rounds` (default 4).
 * @returns The codes and scales of each quantized tensor, as `quantizeModel` returns them, for {@link quantizedGrid}
 *   and `packModel`. Kernels of layers other than Conv2D (dilation 1, channels last) and Dense keep round to
 *   nearest.
 * @throws RangeError naming the field for bad options, as `quantizeModel` does.
 * @remarks For a layer y = X w (X: the rows of the kernel's inputs, one per output position), each output channel's
 * codes k and scale s minimise ‖X̂ s k − X w‖², with X̂ the layer's inputs in the network quantized so far and X
 * those in the float network: so each layer also absorbs the error of the layers below it. With H = X̂ᵀX̂ and
 * b = X̂ᵀX w, that is the quadratic kᵀH k s² − 2 s kᵀb. Starting from round to nearest, coordinate descent sets each
 * code to the nearest grid code of its exact minimiser (k_i − g_i / (H_ii s), g = H s k − b) until no code moves,
 * then the scale to its least-squares value s = kᵀb / kᵀH k; `rounds` times, and a last descent. This is the rounding problem AdaRound
 * solves with a gradient on the same per-layer objective, solved here by exact coordinate moves. Each weight's
 * margin becomes the distance from its exact minimiser to the nearest other code, so {@link roundingOrder} visits
 * the closest calls of the calibrated codes. A layer without activation whose output goes into a
 * BatchNormalization (through average pooling or dropout at most) is matched up to a per-channel offset, which the
 * BN's mean removes: X̂ and X w are centred per column first. After each layer, the BN layers' moving statistics
 * are re-estimated on the sample (as `reestimateBatchNorm` does), so that the next layer is calibrated on the
 * inputs the quantized network will give it; the model keeps those statistics.
 * @example
 * ```ts
 * const q = quantizeCalibrated(model, xTrain, { bits: 2 }); // ternary, calibrated on 256 training images
 * await repairQuantized(model, xTrain, yTrain, { quantize: q, fit: { timeBudgetSeconds: 120 } });
 * ```
 */
export function quantizeCalibrated(model: tfl.LayersModel, x: tf.Tensor, options: CalibrateOptions): QuantizedModel {
  const o = readOptions<CalibrateOptions>('quantizeCalibrated', options, ['bits', 'scales', 'fit', 'layers', 'samples', 'rounds']);
  const samples = requireInteger('quantizeCalibrated.samples', o.samples ?? DEFAULT_SAMPLES, 1, Number.MAX_SAFE_INTEGER);
  const rounds = requireInteger('quantizeCalibrated.rounds', o.rounds ?? DEFAULT_ROUNDS, 0, 1000);
  if (!(x instanceof tf.Tensor) || x.rank < 1 || x.shape[0] === 0) throw new TypeError(`quantizeCalibrated: x must be a tensor of examples, got ${quote(x)}`);
  const sample = tf.slice(x, 0, Math.min(samples, x.shape[0]!));
  const floatValues = new Map(model.weights.map((w) => [w.name, w.read().dataSync().slice() as Float32Array]));
  const q = quantizeModel(model, { bits: o.bits, ...pick(o, ['scales', 'fit', 'layers']) } as QuantizeOptions);
  const bits = q.bits;
  const floatKernels = new Map(q.kernels.map((k) => [k.name, floatValues.get(k.name)!]));
  const sites = q.kernels.map((kernel, index) => site(model, kernel, index)).filter((s): s is Site => s !== null);
  const kernels = [...q.kernels];
  try {
    // The float network's inputs of every site, before any kernel is calibrated: restore the float kernels for it.
    const floatInputs = withKernels(model, floatKernels, () => sites.map((s) => tf.tidy(() => s.rows(layerInput(model, s.layer, sample)))));
    try {
      for (const [i, s] of sites.entries()) {
        const values = floatKernels.get(s.kernel.name)!;
        const quantRows = tf.tidy(() => s.rows(layerInput(model, s.layer, sample)));
        const stats = inputStatistics(quantRows, floatInputs[i]!, values, s.kernel.shape, s.centred);
        quantRows.dispose();
        kernels[s.index] = calibrateKernel(s.kernel, values, stats, bits, rounds);
        const levels = dequantize(kernels[s.index]!);
        tf.tidy(() => {
          model.weights.find((w) => w.name === s.kernel.name)!.write(tf.tensor(levels, [...s.kernel.shape], 'float32'));
        });
        // The next layers' inputs as they will be used: BN normalises with statistics of the quantized network.
        reestimateBatchNorm(model, sample);
      }
    } finally {
      tf.dispose(floatInputs);
    }
  } finally {
    sample.dispose();
  }
  return { ...q, kernels };
}

/** The fields of `o` among `keys` that are set. */
function pick<T extends object>(o: T, keys: readonly (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<T>;
}

/** Runs `f` with the named kernels set to `values`, then puts back what they held. */
function withKernels<T>(model: tfl.LayersModel, values: ReadonlyMap<string, Float32Array>, f: () => T): T {
  const held = model.weights.filter((w) => values.has(w.name));
  const saved = held.map((w) => w.read().clone());
  try {
    for (const w of held) {
      tf.tidy(() => {
        w.write(tf.tensor(values.get(w.name)!, w.shape as number[], 'float32'));
      });
    }
    return f();
  } finally {
    held.forEach((w, i) => w.write(saved[i]!));
    tf.dispose(saved);
  }
}

/** The calibration site of a quantized kernel: its layer and row maker, or null for a layer kind not calibrated. */
function site(model: tfl.LayersModel, kernel: QuantizedKernel, index: number): Site | null {
  const layer = model.layers.find((l) => l.weights.some((w) => w.name === kernel.name));
  const rows = layer === undefined ? null : rowMaker(layer, kernel.shape);
  return layer === undefined || rows === null ? null : { layer, kernel, index, rows, centred: feedsBatchNorm(layer) };
}

// Layers that act on each channel alike and linearly, so a per-channel offset of their input passes through them.
const OFFSET_PRESERVING = new Set(['AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D']);

/**
 * True when `layer` has no activation and its output goes, through layers in {@link OFFSET_PRESERVING} only, into a
 * BatchNormalization: the BN's re-estimated mean then removes any per-channel offset of the layer's output.
 */
function feedsBatchNorm(layer: tfl.layers.Layer): boolean {
  const activation = (layer.getConfig() as Record<string, unknown>)['activation'];
  if (activation !== undefined && activation !== 'linear') return false;
  let current = layer;
  for (;;) {
    const next = current.outboundNodes.map((node) => node.outboundLayer);
    if (next.length !== 1) return false;
    const cls = next[0]!.getClassName();
    if (cls === 'BatchNormalization') return true;
    if (!OFFSET_PRESERVING.has(cls)) return false;
    current = next[0]!;
  }
}

/**
 * How a Conv2D (dilation 1, channels last) or Dense layer's input becomes rows of its kernel's inputs (see
 * {@link patches}), or null for another layer kind.
 */
function rowMaker(layer: tfl.layers.Layer, shape: readonly number[]): ((input: tf.Tensor) => tf.Tensor2D) | null {
  const config = layer.getConfig() as Record<string, unknown>;
  const cls = layer.getClassName();
  const n = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (cls === 'Dense') return (input) => tf.reshape(input, [-1, n]);
  if (cls !== 'Conv2D' || shape.length !== 4) return null;
  const dilation = config['dilationRate'] as number[] | number | undefined;
  if ((Array.isArray(dilation) ? dilation : [dilation ?? 1]).some((d) => d !== 1) || (config['dataFormat'] ?? 'channelsLast') !== 'channelsLast') return null;
  const strides = config['strides'] as number[];
  const padding = config['padding'] as string;
  return (input) => patches(input as tf.Tensor4D, shape, strides, padding);
}

/**
 * The rows of the inputs of the kernel of `model`'s layer `name` (a Conv2D or Dense layer) for `x`, in inference
 * mode: rows · kernel as [inputs, outputs] is the layer's output without bias.
 *
 * @throws Error when the layer has no kernel of a kind {@link quantizeCalibrated} calibrates.
 */
export function kernelInputRows(model: tfl.LayersModel, name: string, x: tf.Tensor): tf.Tensor2D {
  const layer = model.getLayer(name);
  const kernel = layer.weights.find((w) => w.name.includes('kernel'));
  const rows = kernel === undefined ? null : rowMaker(layer, kernel.shape as number[]);
  if (rows === null) throw new Error(`kernelInputRows: ${name} is not a Conv2D (dilation 1, channels last) or Dense layer`);
  return tf.tidy(() => rows(layerInput(model, layer, x)));
}

/** The model's input to `layer` for `sample`, in inference mode. */
function layerInput(model: tfl.LayersModel, layer: tfl.layers.Layer, sample: tf.Tensor): tf.Tensor {
  const input = layer.input as tfl.SymbolicTensor;
  if (model.inputs.includes(input)) return sample.clone();
  // A view of the same layers: it shares their weights, and is not disposed (that would dispose them).
  const probe = tfl.model({ inputs: model.inputs, outputs: input });
  return probe.predict(sample) as tf.Tensor;
}

/**
 * The rows of a 2-D convolution's inputs: one per output position, the kernel's window flattened in its own order
 * ([kh, kw, cin] row-major), so that rows · kernel as [kh·kw·cin, cout] is the convolution without bias.
 */
export function patches(input: tf.Tensor4D, shape: readonly number[], strides: readonly number[], padding: string): tf.Tensor2D {
  const [kh, kw, cin] = shape as [number, number, number];
  const [, h, w] = input.shape;
  const [sh, sw] = strides as [number, number];
  const outH = padding === 'same' ? Math.ceil(h / sh) : Math.floor((h - kh) / sh) + 1;
  const outW = padding === 'same' ? Math.ceil(w / sw) : Math.floor((w - kw) / sw) + 1;
  const padH = padding === 'same' ? Math.max((outH - 1) * sh + kh - h, 0) : 0;
  const padW = padding === 'same' ? Math.max((outW - 1) * sw + kw - w, 0) : 0;
  const padded = tf.pad(input, [[0, 0], [Math.floor(padH / 2), padH - Math.floor(padH / 2)], [Math.floor(padW / 2), padW - Math.floor(padW / 2)], [0, 0]]);
  const windows: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      windows.push(tf.stridedSlice(padded, [0, i, j, 0], [input.shape[0], i + (outH - 1) * sh + 1, j + (outW - 1) * sw + 1, cin], [1, sh, sw, 1]));
    }
  }
  return tf.reshape(tf.concat(windows, 3), [-1, kh * kw * cin]);
}

/** H = X̂ᵀX̂ and B = X̂ᵀX W (one column per output channel), as float64 host arrays, over the mean of the rows. */
interface InputStatistics {
  readonly n: number;
  readonly h: Float64Array;
  readonly b: Float64Array;
}

function inputStatistics(quant: tf.Tensor2D, float: tf.Tensor2D, floatValues: Float32Array, shape: readonly number[], centred: boolean): InputStatistics {
  const n = quant.shape[1];
  const rows = quant.shape[0];
  const [h, b] = tf.tidy(() => {
    const w = tf.tensor2d(floatValues, [n, shape[shape.length - 1]!]);
    const x = centred ? tf.sub(quant, tf.mean(quant, 0, true)) : quant;
    const y = tf.matMul(float, w);
    const target = centred ? tf.sub(y, tf.mean(y, 0, true)) : y;
    return [tf.div(tf.matMul(x, x, true, false), rows), tf.div(tf.matMul(x, target, true, false), rows)];
  });
  const out = { n, h: Float64Array.from(h!.dataSync()), b: Float64Array.from(b!.dataSync()) };
  tf.dispose([h!, b!]);
  return out;
}

/** One kernel's codes and scales chosen on the input statistics (see {@link quantizeCalibrated}). */
function calibrateKernel(kernel: QuantizedKernel, floatValues: Float32Array, stats: InputStatistics, bits: number, rounds: number): QuantizedKernel {
  const channels = kernel.shape[kernel.shape.length - 1]!;
  const { n, h } = stats;
  const codes = Int8Array.from(kernel.codes);
  const scales = Float32Array.from(kernel.scales);
  const margins = new Float32Array(codes.length);
  for (let group = 0; group < scales.length; group++) {
    const members = scales.length === 1 ? Array.from({ length: channels }, (_, c) => c) : [group];
    for (let r = 0; r < rounds; r++) {
      for (const c of members) descend(codes, scales[group]!, c, channels, stats, bits);
      const refit = refitScale(codes, members, channels, stats);
      if (refit > 0 && Number.isFinite(refit)) scales[group] = Math.fround(refit);
    }
    // A last descent, so that every code is the best for the final scale.
    for (const c of members) descend(codes, scales[group]!, c, channels, stats, bits);
    for (const c of members) {
      const g = residualGradient(codes, scales[group]!, c, channels, stats);
      for (let i = 0; i < n; i++) {
        const k = i * channels + c;
        const hii = h[i * n + i]!;
        const exact = hii > 0 ? codes[k]! - g[i]! / (hii * scales[group]!) : floatValues[k]! / scales[group]!;
        margins[k] = otherLevelDistance(exact, codes[k]!, bits);
      }
    }
  }
  let sse = 0;
  const levels = dequantize({ codes, scales });
  for (let k = 0; k < codes.length; k++) sse += (floatValues[k]! - levels[k]!) ** 2;
  return { name: kernel.name, shape: kernel.shape, codes, scales, sse, margins };
}

/** g = H s k − b for output channel c. */
function residualGradient(codes: Int8Array, scale: number, c: number, channels: number, stats: InputStatistics): Float64Array {
  const { n, h, b } = stats;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += h[i * n + j]! * codes[j * channels + c]!;
    g[i] = sum * scale - b[i * channels + c]!;
  }
  return g;
}

/** Coordinate descent on channel c's codes: each code to the nearest grid code of its exact minimiser. */
function descend(codes: Int8Array, scale: number, c: number, channels: number, stats: InputStatistics, bits: number): void {
  const { n, h } = stats;
  const { maxCode, zero } = codeRange(bits);
  const g = residualGradient(codes, scale, c, channels, stats);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let moved = false;
    for (let i = 0; i < n; i++) {
      const hii = h[i * n + i]!;
      if (!(hii > 0)) continue;
      const k = i * channels + c;
      const exact = codes[k]! - g[i]! / (hii * scale);
      let next = Math.max(-maxCode, Math.min(maxCode, Math.round(exact)));
      if (next === 0 && !zero) next = exact < 0 ? -1 : 1;
      if (next === codes[k]) continue;
      const delta = (next - codes[k]!) * scale;
      for (let j = 0; j < n; j++) g[j] = g[j]! + delta * h[j * n + i]!;
      codes[k] = next;
      moved = true;
    }
    if (!moved) return;
  }
}

/** The least-squares scale of the channels in `members` for their codes: Σ kᵀb / Σ kᵀH k. */
function refitScale(codes: Int8Array, members: readonly number[], channels: number, stats: InputStatistics): number {
  const { n, h, b } = stats;
  let num = 0;
  let den = 0;
  for (const c of members) {
    for (let i = 0; i < n; i++) {
      const ki = codes[i * channels + c]!;
      if (ki === 0) continue;
      num += ki * b[i * channels + c]!;
      let row = 0;
      for (let j = 0; j < n; j++) row += h[i * n + j]! * codes[j * channels + c]!;
      den += ki * row;
    }
  }
  return den > 0 ? num / den : NaN;
}
