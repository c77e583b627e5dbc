/**
 * Switches a trained float network's ReLUs to hard thresholds, fitting each threshold to the ReLU it replaces:
 * the warm start of the hard-threshold workflow (a float network trained with Adam, its thresholds switched on,
 * then RSO on the exact network).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { reestimateBatchNorm } from '../../src/index.js';
import { kernelInputRows } from '../../src/quantize/calibrate.js';
import { ThresholdLayer } from './straight-through.js';

interface LayerJson {
  class_name: string;
  config: { name: string } & Record<string, unknown>;
  inbound_nodes?: unknown;
}

/** One threshold's fit: per channel, the cut t and the height s of the step s · 1{y > t} that replaces ReLU(y). */
export interface ThresholdFit {
  /** The replaced layer's name. */
  readonly layer: string;
  readonly cuts: Float32Array;
  readonly heights: Float32Array;
  /** The fit's residual over the ReLU's output variance, per layer (0: exact, 1: no better than a constant). */
  readonly residual: number;
}

/**
 * The float model's topology with every `*_relu` activation replaced by a {@link ThresholdLayer} of the same name,
 * and the float model's weights (BN moving statistics included).
 *
 * @param float - A Sequential model whose hard-threshold positions are ReLU layers named `*_relu`.
 * @param ste - Whether the thresholds' backward pass is the straight-through estimator.
 */
export async function thresholdTwin(float: tfl.LayersModel, ste: boolean): Promise<tfl.LayersModel> {
  const json = float.toJSON(null, false) as unknown as { config: { layers: LayerJson[] } };
  let swapped = 0;
  json.config.layers = json.config.layers.map((l) => {
    if (!l.config.name.endsWith('_relu')) return l;
    swapped++;
    return { class_name: ThresholdLayer.className, config: { name: l.config.name, trainable: true, ste } };
  });
  if (swapped === 0) throw new Error('thresholdTwin: the model has no *_relu layer to replace');
  const model = await tfl.models.modelFromJSON({ modelTopology: json } as unknown as Parameters<typeof tfl.models.modelFromJSON>[0]);
  model.setWeights(float.getWeights());
  return model;
}

/**
 * Best split of one channel: the cut t and height s minimising Σ (r − b − s · 1{y > t})² over the samples, with b
 * the mean of r below the cut (the next BN absorbs a constant input). Exact over every split of the sorted `y`.
 *
 * @returns The cut, the height and the residual sum of squares.
 */
export function fitStep(y: Float32Array, r: Float32Array): { cut: number; height: number; sse: number } {
  const n = y.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => y[a]! - y[b]!);
  let total = 0;
  let totalSq = 0;
  for (let i = 0; i < n; i++) {
    total += r[i]!;
    totalSq += r[i]! * r[i]!;
  }
  let best = { cut: y[order[n - 1]!]!, height: 0, sse: totalSq - (total * total) / n };
  let below = 0;
  for (let k = 1; k < n; k++) {
    below += r[order[k - 1]!]!;
    const lo = y[order[k - 1]!]!;
    const hi = y[order[k]!]!;
    if (lo === hi) continue;
    const above = total - below;
    const sse = totalSq - (below * below) / k - (above * above) / (n - k);
    if (sse < best.sse) best = { cut: (lo + hi) / 2, height: above / (n - k) - below / k, sse };
  }
  return best;
}

/** Values of channel c of an NHWC (or NC) activation, strided. */
function channel(values: Float32Array, channels: number, c: number): Float32Array {
  const out = new Float32Array(values.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = values[i * channels + c]!;
  return out;
}

/** The output of the layer named `name` for `x`, in inference mode. */
function activation(model: tfl.LayersModel, name: string, x: tf.Tensor): tf.Tensor {
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer(name).output as tfl.SymbolicTensor });
  return probe.predict(x) as tf.Tensor;
}

/** Index in `model.layers` of the layer named `name`. */
function indexOf(model: tfl.LayersModel, name: string): number {
  return model.layers.findIndex((l) => l.name === name);
}

/** Moves the cut into the BN before the threshold (β ← β − t) and the height into the next kernel's input channels. */
function fold(model: tfl.LayersModel, at: number, fit: ThresholdFit): void {
  const bn = model.layers[at - 1]!;
  if (bn.getClassName() !== 'BatchNormalization') throw new Error(`switchToThresholds: ${fit.layer} does not follow a BatchNormalization layer`);
  const next = model.layers.slice(at + 1).find((l) => l.getClassName() === 'Conv2D' || l.getClassName() === 'Dense');
  if (next === undefined) throw new Error(`switchToThresholds: no conv or Dense layer after ${fit.layer}`);
  const bnWeights = bn.getWeights();
  const betaAt = bn.weights.findIndex((w) => w.name.includes('beta'));
  const beta = bnWeights[betaAt]!.dataSync() as Float32Array;
  const shifted = beta.map((b, c) => b - fit.cuts[c]!);
  const kernels = next.getWeights();
  tf.tidy(() => {
    bn.setWeights(bnWeights.map((w, i) => (i === betaAt ? tf.tensor(shifted, w.shape) : w)));
    const perInput = tf.reshape(tf.tensor1d(fit.heights), [...new Array<number>(kernels[0]!.rank - 2).fill(1), -1, 1]);
    next.setWeights([tf.mul(kernels[0]!, perInput), ...kernels.slice(1)]);
  });
}

// Ridge toward the folded kernel, relative to the mean input power: keeps the solve well posed on dead inputs.
const RIDGE = 1e-3;

/**
 * Refits the kernel of the first conv or Dense layer after `at` by least squares: on the twin's inputs to it (the
 * thresholds up to `at` switched), its output closest to the float model's output of the same layer, both centred
 * (a BN follows, or the bias absorbs the offset), with a small ridge toward the kernel it had.
 */
function refitNext(float: tfl.LayersModel, twin: tfl.LayersModel, at: number, sample: tf.Tensor): void {
  const layer = twin.layers.slice(at + 1).find((l) => l.getClassName() === 'Conv2D' || l.getClassName() === 'Dense')!;
  const [kernel, ...rest] = layer.getWeights();
  const shape = kernel!.shape;
  const n = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const cout = shape[shape.length - 1]!;
  const [h, b, means] = tf.tidy(() => {
    const xq = kernelInputRows(twin, layer.name, sample);
    const y = tf.matMul(kernelInputRows(float, layer.name, sample), tf.reshape(float.getLayer(layer.name).getWeights()[0]!, [n, cout]));
    const mq = tf.mean(xq, 0, true);
    const my = tf.mean(y, 0, true);
    const xc = tf.sub(xq, mq);
    const count = xq.shape[0];
    return [tf.div(tf.matMul(xc, xc, true, false), count), tf.div(tf.matMul(xc, tf.sub(y, my), true, false), count), tf.concat([tf.reshape(mq, [-1]), tf.reshape(my, [-1])])];
  });
  const hv = Float64Array.from(h.dataSync());
  const bv = Float64Array.from(b.dataSync());
  const mv = means.dataSync();
  tf.dispose([h, b, means]);
  const old = kernel!.dataSync();
  let trace = 0;
  for (let i = 0; i < n; i++) trace += hv[i * n + i]!;
  const lambda = (RIDGE * trace) / n;
  for (let i = 0; i < n; i++) {
    hv[i * n + i] = hv[i * n + i]! + lambda;
    for (let c = 0; c < cout; c++) bv[i * cout + c] = bv[i * cout + c]! + lambda * old[i * cout + c]!;
  }
  const next = Float32Array.from(solveSymmetric(hv, bv, n, cout));
  // getWeights gives the layer's own variables: only the tensors made here are disposed.
  const made = [tf.tensor(next, shape)];
  if (layer.getClassName() === 'Dense' && rest.length > 0) {
    // The offset: bias + mean(y) − mean(x̂) W.
    const bias = rest[0]!.dataSync().slice();
    for (let c = 0; c < cout; c++) {
      let shift = mv[n + c]!;
      for (let i = 0; i < n; i++) shift -= mv[i]! * next[i * cout + c]!;
      bias[c] = bias[c]! + shift;
    }
    made.push(tf.tensor(bias, rest[0]!.shape));
  }
  layer.setWeights([...made, ...rest.slice(made.length - 1)]);
  tf.dispose(made);
}

/** Solves A X = B for symmetric positive definite A (n × n) and B (n × m), by Cholesky, row-major. */
function solveSymmetric(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-300)) : sum / l[j * n + j]!;
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let sum = x[i * m + c]!;
      for (let k = 0; k < i; k++) sum -= l[i * n + k]! * x[k * m + c]!;
      x[i * m + c] = sum / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = x[i * m + c]!;
      for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k * m + c]!;
      x[i * m + c] = sum / l[i * n + i]!;
    }
  }
  return x;
}

/**
 * Fits the thresholds of `twin` (from {@link thresholdTwin}) one at a time, from the input up: before each, the
 * BN statistics are re-estimated on `sample` with the thresholds below already switched; then, per channel, the
 * step s · 1{y > t} that best matches the float model's ReLU output on `sample` (y: the twin's BN output there)
 * is moved into the BN's β and the next layer's kernel.
 *
 * @param float - The trained float model (its BN statistics as it is evaluated).
 * @param twin - Its threshold twin, changed in place.
 * @param sample - Training inputs for the BN statistics and the fit (a few hundred images suffice).
 * @returns One fit per threshold, input side first.
 */
export function switchToThresholds(float: tfl.LayersModel, twin: tfl.LayersModel, sample: tf.Tensor, options: { refit?: boolean } = {}): ThresholdFit[] {
  const fits: ThresholdFit[] = [];
  for (const layer of twin.layers.filter((l) => l instanceof ThresholdLayer)) {
    reestimateBatchNorm(twin, sample);
    const at = indexOf(twin, layer.name);
    const [y, r] = tf.tidy(() => [activation(twin, twin.layers[at - 1]!.name, sample), activation(float, layer.name, sample)]) as [tf.Tensor, tf.Tensor];
    const channels = y.shape[y.rank - 1]!;
    const yv = y.dataSync() as Float32Array;
    const rv = r.dataSync() as Float32Array;
    tf.dispose([y, r]);
    const cuts = new Float32Array(channels);
    const heights = new Float32Array(channels);
    let sse = 0;
    let variance = 0;
    for (let c = 0; c < channels; c++) {
      const rc = channel(rv, channels, c);
      const f = fitStep(channel(yv, channels, c), rc);
      cuts[c] = f.cut;
      heights[c] = f.height;
      sse += f.sse;
      const mean = rc.reduce((s, v) => s + v, 0) / rc.length;
      variance += rc.reduce((s, v) => s + (v - mean) ** 2, 0);
    }
    const fit = { layer: layer.name, cuts, heights, residual: variance > 0 ? sse / variance : 0 };
    fold(twin, at, fit);
    if (options.refit === true) refitNext(float, twin, at, sample);
    fits.push(fit);
  }
  reestimateBatchNorm(twin, sample);
  return fits;
}
