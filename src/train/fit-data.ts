import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { suggest } from '../base/validate.js';
import { createRng, sampleIndices } from '../base/rng.js';
import type { LossSpec } from './losses.js';
import type { TensorsOrMap } from './fit-args.js';

/** Inputs and targets of a data set, in the model's input and output order. */
export interface DataSet {
  readonly xs: readonly tf.Tensor[];
  readonly ys: readonly tf.Tensor[];
  /** Tensors made while ordering the data (rank-1 targets given a unit axis), for the caller to dispose. */
  readonly owned: readonly tf.Tensor[];
}

/** The model's input names, also for a Sequential model that is not compiled yet (its `inputNames` are empty then). */
export const inputNamesOf = (model: LayersModel): string[] => model.inputs.map((t) => t.sourceLayer.name);

/** The model's output names (the output layers' names), as `outputNames` gives them once compiled. */
export const outputNamesOf = (model: LayersModel): string[] => model.outputs.map((t) => t.sourceLayer.name);

const describe = (v: unknown): string => {
  if (Array.isArray(v)) return `an array of ${v.length === 0 ? 'nothing' : typeof v[0] === 'number' ? 'numbers' : Array.isArray(v[0]) ? 'arrays' : String(typeof v[0])}`;
  return v === null ? 'null' : typeof v === 'object' ? `an object of ${(v as object).constructor?.name ?? 'unknown'}` : `a ${typeof v}`;
};

/**
 * Orders `value` by the model's inputs (or outputs): a tensor for a single one, an array in order, or a map by name.
 *
 * @param field - The argument's name for errors (`x`, `y`, `validationData[0]`, …).
 * @param names - The model's input (or output) names.
 */
export function toTensorList(field: string, value: TensorsOrMap | undefined, names: readonly string[]): tf.Tensor[] {
  const expected = `a tf.Tensor${names.length > 1 ? `, an array of ${names.length} tensors` : ''} or a map from name (${names.join(', ')}) to tensor`;
  if (value instanceof tf.Tensor) {
    if (names.length !== 1) throw new RangeError(`${field}: the model has ${names.length} ${field.startsWith('y') ? 'outputs' : 'inputs'} (${names.join(', ')}); give ${expected}`);
    return [value];
  }
  if (Array.isArray(value)) {
    if (!value.every((t) => t instanceof tf.Tensor)) throw new TypeError(`${field} must be ${expected}; got ${describe(value)}. Convert plain arrays with tf.tensor().`);
    if (value.length !== names.length) throw new RangeError(`${field}: ${value.length} tensors for ${names.length} (${names.join(', ')})`);
    return [...value];
  }
  if (value !== null && typeof value === 'object' && Object.values(value).every((t) => t instanceof tf.Tensor)) {
    const map = value as Readonly<Record<string, tf.Tensor>>;
    for (const key of Object.keys(map)) {
      if (!names.includes(key)) throw new RangeError(`${field}: no ${field.startsWith('y') ? 'output' : 'input'} named "${key}"${suggest(key, names)}; names: ${names.join(', ')}`);
    }
    return names.map((n) => {
      const t = map[n];
      if (t === undefined) throw new RangeError(`${field}: missing "${n}"`);
      return t;
    });
  }
  throw new TypeError(`${field} must be ${expected}; got ${describe(value)}`);
}

/** Checks a tensor against a symbolic shape (null dims are free), after the batch axis. */
function checkShape(field: string, t: tf.Tensor, shape: readonly (number | null)[]): void {
  const ok = t.rank === shape.length && shape.every((d, i) => i === 0 || d === null || d === t.shape[i]);
  if (!ok) throw new RangeError(`${field}: expected shape [${shape.map((d) => d ?? 'null').join(', ')}], got [${t.shape.join(', ')}]`);
}

/** Checks sparse class ids: shape [n] or [n, 1], integers in [0, classes). */
function checkSparse(field: string, t: tf.Tensor, classes: number | null): void {
  if (!(t.rank === 1 || (t.rank === 2 && t.shape[1] === 1))) throw new RangeError(`${field}: sparse class ids need shape [n] or [n, 1], got [${t.shape.join(', ')}]`);
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (!Number.isInteger(c) || c < 0 || (classes !== null && c >= classes)) {
      throw new RangeError(`${field}: sparse class id ${c} at row ${i} is not an integer in [0, ${classes ?? '∞'})`);
    }
  }
}

/**
 * Orders and checks a data set against the model: the shapes of inputs and targets, the class ids of sparse
 * targets, and one row count for all.
 *
 * @param losses - The loss of each output (sparse categorical cross-entropy takes class ids).
 */
export function modelData(model: LayersModel, field: [string, string], x: TensorsOrMap | undefined, y: TensorsOrMap | undefined, losses: readonly LossSpec[]): DataSet {
  const inputNames = inputNamesOf(model);
  const outputNames = outputNamesOf(model);
  if (inputNames.length === 0) throw new RangeError('rso.fit: the model has no inputs yet; give its first layer an inputShape, or build it');
  const xs = toTensorList(field[0], x, inputNames);
  const owned: tf.Tensor[] = [];
  // As model.fit does, a rank-1 target of a [null, 1] output gets its unit axis.
  const ys = toTensorList(field[1], y, outputNames).map((t, o) => {
    const shape = model.outputs[o]!.shape;
    if (t.rank !== 1 || shape.length !== 2 || shape[1] !== 1 || losses[o] === 'sparseCategoricalCrossentropy') return t;
    const r = tf.reshape(t, [-1, 1]);
    owned.push(r);
    return r;
  });
  const one = (f: string, names: readonly string[], i: number) => (names.length > 1 ? `${f}.${names[i]}` : f);
  xs.forEach((t, i) => checkShape(one(field[0], inputNames, i), t, model.inputs[i]!.shape));
  ys.forEach((t, o) => {
    const shape = model.outputs[o]!.shape;
    const f = one(field[1], outputNames, o);
    if (losses[o] === 'sparseCategoricalCrossentropy') checkSparse(f, t, shape[shape.length - 1] ?? null);
    else checkShape(f, t, shape);
  });
  const n = xs[0]!.shape[0]!;
  [...xs, ...ys].forEach((t, i) => {
    if (t.shape[0] !== n) {
      const f = i < xs.length ? one(field[0], inputNames, i) : one(field[1], outputNames, i - xs.length);
      throw new RangeError(`${f} has ${t.shape[0]} examples but ${one(field[0], inputNames, 0)} has ${n}`);
    }
  });
  return { xs, ys, owned };
}

/** Rows [start, start + count) of every tensor of a data set. */
export function sliceData(d: DataSet, start: number, count: number): DataSet {
  const xs = d.xs.map((t) => tf.slice(t, start, count));
  const ys = d.ys.map((t) => tf.slice(t, start, count));
  return { xs, ys, owned: [...xs, ...ys] };
}

/** Number of examples. */
export const rowsOf = (d: DataSet): number => d.xs[0]!.shape[0]!;

/**
 * Rows of `t` picked by `at`, gathered on the host (on wasm, a host copy is much faster than `tf.gather`).
 *
 * @param host - `t.dataSync()`, read once by the caller.
 */
export function gatherRows(t: tf.Tensor, host: tf.TypedArray, at: ArrayLike<number>): tf.Tensor {
  const width = t.size / t.shape[0]!;
  const Ctor = host.constructor as new (length: number) => tf.TypedArray;
  const out = new Ctor(at.length * width);
  for (let r = 0; r < at.length; r++) out.set(host.subarray(at[r]! * width, (at[r]! + 1) * width), r * width);
  return tf.tensor(out, [at.length, ...t.shape.slice(1)], t.dtype);
}

/**
 * A seeded random sample of `count` rows of the inputs, for re-estimating BN statistics.
 *
 * @remarks Drawn without replacement from `(seed, 'bn')`, so it does not depend on the order of the training
 * set (its first rows may all be one class).
 */
export function sampleInputs(xs: readonly tf.Tensor[], count: number, seed: number): tf.Tensor[] {
  const n = xs[0]!.shape[0]!;
  const k = Math.min(count, n);
  const at = sampleIndices(createRng(`${seed}/bn`), n, k);
  return xs.map((x) => gatherRows(x, x.dataSync(), at));
}
