import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { quote, readOptions } from '../base/validate.js';
import { roundCode } from './fit-scale.js';
import { float16Round, packTensors, unpackTensors } from './pack.js';
import type { PackOptions, PackedTensor } from './pack.js';
import type { QuantizedModel, WeightsHolder } from './quantize-model.js';

/** A tfjs variable name without the `_N` suffix tfjs adds to a second model's variables of the same names. */
const plainName = (name: string) => name.replace(/_\d+$/, '');
/** The weight's own name within its layer: `kernel`, `gamma`, `moving_mean`. */
const leaf = (name: string) => plainName(name.slice(name.lastIndexOf('/') + 1));

/** The codes of a kernel's current values on the grid of `scales`, or a RangeError naming the first value off it. */
function gridCodes(where: string, name: string, values: Float32Array, scales: Float32Array, bits: number): Int8Array {
  return Int8Array.from(values, (v, k) => {
    const scale = scales[k % scales.length]!;
    const code = roundCode(v, scale, bits);
    if (Math.fround(code * scale) !== v) throw new RangeError(`${where}: ${name}[${k}] = ${v} is not on its grid (scale ${scale}, ${bits} bits); was it changed after quantizeModel other than by RSO on quantizedGrid?`);
    return code;
  });
}

/** What {@link roundForPacking} changed in one weight. */
export interface RoundedWeight {
  /** The weight's name. */
  readonly name: string;
  /** How many of its values changed. */
  readonly changed: number;
  /** The largest |new − old| over its values. */
  readonly maxChange: number;
  /** For a quantized kernel: how many of its scales changed (the codes never change). */
  readonly scalesChanged?: number;
}

/**
 * Rounds a quantized model, **in place**, to what a `float16: true` packed file can hold, so that the file
 * reloads bit for bit as the model now predicts.
 *
 * **This changes `model` and `q`.** Every scale in `q.kernels[i].scales` is rounded to float16 (the arrays are
 * overwritten, so `q` stays consistent with the model); every quantized kernel value becomes
 * `fround(code × scale)` with its unchanged code and the rounded scale; every other weight (biases, BN gamma,
 * beta and moving statistics) is rounded to its nearest float16 value. Measure accuracy after this call, not
 * before: the rounded model is the one you ship. A grid from {@link quantizedGrid} made before this call still
 * holds the old scales: make a new one to repair further.
 *
 * @param model - The model, its kernels on the grid of `q` (as for {@link packModel}).
 * @param q - The quantization of `model`; its scales are overwritten with their float16 values.
 * @returns One entry per weight, in `model.weights` order, saying how many values (and scales) changed and by
 *   how much at most. The rounding is idempotent: a second call changes nothing.
 * @throws RangeError, before changing anything, when a kernel value is off its grid, a scale rounds to 0 or to
 *   infinity, or a finite value is beyond float16's ±65504.
 * @example
 * ```ts
 * roundForPacking(model, q); // in place: the model is now the one the file holds
 * const accuracy = evaluate(model); // measure the model as shipped
 * const bytes = packModel(model, q, { names: false, float16: true }); // the smallest file
 * ```
 */
export function roundForPacking(model: WeightsHolder, q: QuantizedModel): RoundedWeight[] {
  const byName = new Map(q.kernels.map((k) => [plainName(k.name), k]));
  // Everything is computed and checked first, so a throw leaves the model and q as they were.
  const plans = model.weights.map((w) => {
    const shape = w.shape.map((d) => d ?? 0);
    const old = w.read().dataSync() as Float32Array;
    const kernel = byName.get(plainName(w.name));
    let next: Float32Array;
    let scales: Float32Array | undefined;
    if (kernel === undefined) {
      next = Float32Array.from(old, (v, k) => {
        const r = float16Round(v);
        if (Number.isFinite(v) && !Number.isFinite(r)) throw new RangeError(`roundForPacking: ${w.name}[${k}] = ${v} is beyond float16's ±65504`);
        return r;
      });
    } else {
      const codes = gridCodes('roundForPacking', w.name, old, kernel.scales, q.bits);
      scales = Float32Array.from(kernel.scales, (s, c) => {
        const r = float16Round(s);
        if (!(r > 0 && Number.isFinite(r))) throw new RangeError(`roundForPacking: scale ${c} of ${w.name} (${s}) rounds to ${r} in float16`);
        return r;
      });
      const rounded = scales;
      next = Float32Array.from(codes, (c, k) => c * rounded[k % rounded.length]!);
    }
    let changed = 0;
    let maxChange = 0;
    next.forEach((v, k) => {
      if (!Object.is(v, old[k]) && !(Number.isNaN(v) && Number.isNaN(old[k]))) {
        changed++;
        maxChange = Math.max(maxChange, Math.abs(v - old[k]!));
      }
    });
    return { w, shape, kernel, next, scales, changed, maxChange };
  });
  return plans.map(({ w, shape, kernel, next, scales, changed, maxChange }) => {
    if (changed > 0) tf.tidy(() => w.write(tf.tensor(next, shape, 'float32')));
    if (kernel === undefined || scales === undefined) return { name: w.name, changed, maxChange };
    const scalesChanged = scales.reduce((n, s, c) => n + (s === kernel.scales[c] ? 0 : 1), 0);
    kernel.scales.set(scales);
    return { name: w.name, changed, maxChange, scalesChanged };
  });
}

/**
 * Packs a quantized model's weights: the quantized kernels as codes and scales, every other weight (biases, BN
 * gamma, beta and moving statistics) as floats, in the model's `weights` order.
 *
 * Defaults: names stored, float32 scales and values: the file reloads the model exactly as it is, with nothing
 * to prepare. **For the smallest file** call {@link roundForPacking} first (it rounds the model and `q` in place
 * to float16), then pack with `{ names: false, float16: true }`.
 *
 * @param model - The model, its kernels on the grid of `q` (after {@link quantizeModel}, and any RSO repair on
 *   {@link quantizedGrid}).
 * @param q - The quantization: bits and scales of each kernel.
 * @param options - `names` (default `true`): store each tensor's name; without them the loader assigns tensors
 *   in `weights` order and checks shapes only. `float16` (default `false`): store scales and float weights as
 *   float16; the model must have been rounded by {@link roundForPacking}, or this throws. packModel itself never
 *   changes the model.
 * @returns The packed file (see {@link packTensors}).
 * @throws RangeError naming the tensor and index of a kernel weight that is not on its grid, or, with
 *   `float16`, of a scale or weight that is not a float16 value (call {@link roundForPacking} first).
 * @example
 * ```ts
 * const q = quantizeModel(model, { bits: 2 });
 * const bytes = packModel(model, q); // about 1.6 bits per kernel weight, floats as float32, with names
 * roundForPacking(model, q); // in place; measure the model after this
 * const smallest = packModel(model, q, { names: false, float16: true });
 * ```
 */
export function packModel(model: WeightsHolder, q: QuantizedModel, options: PackOptions = {}): Uint8Array {
  const o = readOptions<PackOptions>('packModel', options, ['names', 'float16']);
  for (const key of ['names', 'float16'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new TypeError(`packModel.${key} must be a boolean, got ${quote(o[key])}`);
  }
  const byName = new Map(q.kernels.map((k) => [plainName(k.name), k]));
  const tensors: PackedTensor[] = model.weights.map((w) => {
    const shape = w.shape.map((d) => d ?? 0);
    const values = w.read().dataSync() as Float32Array;
    const kernel = byName.get(plainName(w.name));
    if (kernel === undefined) return { name: w.name, shape, values: Float32Array.from(values) };
    const codes = gridCodes('packModel', w.name, values, kernel.scales, q.bits);
    return { name: w.name, shape, bits: q.bits, codes, scales: Float32Array.from(kernel.scales) };
  });
  try {
    return packTensors(tensors, o);
  } catch (e) {
    if (e instanceof RangeError && o.float16 === true && /is not a float16 value/.test(e.message)) {
      throw new RangeError(`packModel: ${e.message.replace(/^packTensors: /, '').replace(/ \(round the model.*\)$/, '')}: call roundForPacking(model, q) first (it rounds the model and q to float16 in place), or pack without float16`);
    }
    throw e;
  }
}

/** The float32 values of a packed tensor (codes × scales, in float32; float16 values are exact in float32). */
export function packedValues(t: PackedTensor): Float32Array {
  if ('values' in t) return t.values;
  const { codes, scales } = t;
  return Float32Array.from(codes, (c, k) => c * scales[k % scales.length]!);
}

/**
 * Writes packed weights into a model of the same architecture.
 *
 * @param model - The model; its `weights` are matched to the file's tensors in order, by name (ignoring tfjs's
 *   `_N` suffixes) and shape, or by shape alone when the file holds no names (`packModel(…, { names: false })`).
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
    const sameShape = t.shape.length === shape.length && t.shape.every((d, k) => d === shape[k]);
    if (t.name === '') {
      // No names in the file: the order is the model's weights order, and the shapes must agree.
      if (!sameShape) {
        throw new RangeError(
          `setPackedWeights: the file holds no names, so its tensors are assigned in the model's weights order, and tensor ${i} has shape [${t.shape.join(', ')}] where the model's weight ${i} ("${w.name}") has [${shape.join(', ')}] (is it the same architecture?)`,
        );
      }
      return;
    }
    // A model built by code may name its layers differently (tfjs numbers unnamed layers): the weight's own
    // name (kernel, gamma, moving_mean, …), the order and the shape must agree.
    if (plainName(t.name) !== plainName(w.name) && leaf(t.name) !== leaf(w.name)) {
      throw new RangeError(`setPackedWeights: tensor ${i} of the file is "${t.name}", the model's weight ${i} is "${w.name}" (is it the same architecture?)`);
    }
    if (!sameShape) {
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
