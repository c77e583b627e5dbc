import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { roundCode } from './fit-scale.js';
import { packTensors, unpackTensors } from './pack.js';
import type { PackedTensor } from './pack.js';
import type { QuantizedModel, WeightsHolder } from './quantize-model.js';

/** A tfjs variable name without the `_N` suffix tfjs adds to a second model's variables of the same names. */
const plainName = (name: string) => name.replace(/_\d+$/, '');
/** The weight's own name within its layer: `kernel`, `gamma`, `moving_mean`. */
const leaf = (name: string) => plainName(name.slice(name.lastIndexOf('/') + 1));

/**
 * Packs a quantized model's weights: the quantized kernels as codes and scales, every other weight (biases, BN
 * gamma, beta and moving statistics) as float32, in the model's `weights` order.
 *
 * @param model - The model, its kernels on the grid of `q` (after {@link quantizeModel}, and any RSO repair on
 *   {@link quantizedGrid}).
 * @param q - The quantization: bits and scales of each kernel.
 * @returns The packed file (see {@link packTensors}).
 * @throws RangeError naming the tensor and index of a kernel weight that is not on its grid.
 * @example
 * ```ts
 * const q = quantizeModel(model, { bits: 2 });
 * const bytes = packModel(model, q); // about 1.6 bits per kernel weight
 * ```
 */
export function packModel(model: WeightsHolder, q: QuantizedModel): Uint8Array {
  const byName = new Map(q.kernels.map((k) => [plainName(k.name), k]));
  const tensors: PackedTensor[] = model.weights.map((w) => {
    const shape = w.shape.map((d) => d ?? 0);
    const values = w.read().dataSync() as Float32Array;
    const kernel = byName.get(plainName(w.name));
    if (kernel === undefined) return { name: w.name, shape, values: Float32Array.from(values) };
    const { scales } = kernel;
    const codes = Int8Array.from(values, (v, k) => {
      const scale = scales[k % scales.length]!;
      const code = roundCode(v, scale, q.bits);
      if (Math.fround(code * scale) !== v) throw new RangeError(`packModel: ${w.name}[${k}] = ${v} is not on its grid (scale ${scale}, ${q.bits} bits); was it changed after quantizeModel other than by RSO on quantizedGrid?`);
      return code;
    });
    return { name: w.name, shape, bits: q.bits, codes, scales: Float32Array.from(scales) };
  });
  return packTensors(tensors);
}

/** The float32 values of a packed tensor (codes × scales, in float32). */
export function packedValues(t: PackedTensor): Float32Array {
  if ('values' in t) return t.values;
  const { codes, scales } = t;
  return Float32Array.from(codes, (c, k) => c * scales[k % scales.length]!);
}

/**
 * Writes packed weights into a model of the same architecture.
 *
 * @param model - The model; its `weights` are matched to the file's tensors in order, by name (ignoring tfjs's
 *   `_N` suffixes) and shape.
 * @param bytes - A file from {@link packModel}.
 * @throws RangeError naming the first tensor that does not match, or from {@link unpackTensors}.
 * @example
 * ```ts
 * setPackedWeights(createMnistNet(), bytes);
 * ```
 */
export function setPackedWeights(model: tfl.LayersModel, bytes: Uint8Array | ArrayBuffer): void {
  const tensors = unpackTensors(bytes);
  const weights = model.weights;
  if (tensors.length !== weights.length) throw new RangeError(`setPackedWeights: the file holds ${tensors.length} tensors, the model has ${weights.length} weights`);
  weights.forEach((w, i) => {
    const t = tensors[i]!;
    const shape = w.shape.map((d) => d ?? 0);
    // A model built by code may name its layers differently (tfjs numbers unnamed layers): the weight's own
    // name (kernel, gamma, moving_mean, …), the order and the shape must agree.
    if (plainName(t.name) !== plainName(w.name) && leaf(t.name) !== leaf(w.name)) {
      throw new RangeError(`setPackedWeights: tensor ${i} of the file is "${t.name}", the model's weight ${i} is "${w.name}" (is it the same architecture?)`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new RangeError(`setPackedWeights: "${t.name}" has shape [${t.shape.join(', ')}] in the file, [${shape.join(', ')}] in the model`);
    }
  });
  const values = tensors.map((t) => tf.tensor(packedValues(t), [...t.shape], 'float32'));
  try {
    model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
}

/**
 * Rebuilds a model from its topology and a packed weights file, in a browser or in Node.
 *
 * @param architecture - `model.toJSON()` (a string or its parsed object), a tfjs `model.json` object (its
 *   `modelTopology` is used), or a function that builds the model (such as `() => createMnistNet()`).
 * @param bytes - A file from {@link packModel}.
 * @returns The model, with every weight from the file: its predictions equal the packed model's bit for bit.
 * @throws RangeError from {@link setPackedWeights}; TypeError when `architecture` is none of the above.
 * @example
 * ```ts
 * const bytes = packModel(model, q);
 * const topology = model.toJSON();
 * const again = await loadPackedModel(topology, bytes);
 * ```
 */
export async function loadPackedModel(architecture: string | object | (() => tfl.LayersModel), bytes: Uint8Array | ArrayBuffer): Promise<tfl.LayersModel> {
  let model: tfl.LayersModel;
  if (typeof architecture === 'function') model = architecture();
  else {
    const parsed: unknown = typeof architecture === 'string' ? JSON.parse(architecture) : architecture;
    if (typeof parsed !== 'object' || parsed === null) throw new TypeError(`loadPackedModel: architecture must be model.toJSON(), a model.json object or a function, got ${typeof parsed}`);
    const topology = 'modelTopology' in parsed ? (parsed as { modelTopology: unknown }).modelTopology : parsed;
    if (typeof topology !== 'object' || topology === null || !('class_name' in topology)) {
      throw new TypeError('loadPackedModel: architecture is not a tfjs model topology (no class_name); pass model.toJSON() or a model.json object');
    }
    model = (await tfl.models.modelFromJSON(topology as tf.serialization.ConfigDict)) as tfl.LayersModel;
  }
  try {
    setPackedWeights(model, bytes);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
