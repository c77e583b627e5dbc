/**
 * A LayersModel's trainable weights as one flat `Float32Array` (the order of `model.trainableWeights`, each
 * variable row-major), read and written without leaking tensors.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Where each trainable variable sits in the flat vector. */
export interface FlatLayout {
  /** The variables, in `model.trainableWeights` order. */
  readonly variables: readonly tf.Variable[];
  /** Offset of each variable in the flat vector. */
  readonly offsets: readonly number[];
  /** Length of the flat vector. */
  readonly size: number;
}

/** The layout of `model`'s trainable weights (BN moving statistics are not trainable and not included). */
export function flatLayout(model: tfl.LayersModel): FlatLayout {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const offsets: number[] = [];
  let size = 0;
  for (const v of variables) {
    offsets.push(size);
    size += v.size;
  }
  return { variables, offsets, size };
}

/** A copy of the trainable weights as one flat vector. */
export function readFlat(layout: FlatLayout): Float32Array {
  const out = new Float32Array(layout.size);
  layout.variables.forEach((v, i) => out.set(v.dataSync() as Float32Array, layout.offsets[i]));
  return out;
}

/**
 * Writes `flat` into the variables: one new tensor per variable, assigned and disposed.
 *
 * @remarks Each part is copied first: on the cpu backend `tf.tensor` aliases its array, and the caller's buffer
 * changes between candidates. On wasm, editing a weight's memory in place is not seen by cached kernels, so a new
 * tensor is assigned every time.
 */
export function writeFlat(layout: FlatLayout, flat: Float32Array): void {
  if (flat.length !== layout.size) throw new RangeError(`writeFlat: expected ${layout.size} values, got ${flat.length}`);
  layout.variables.forEach((v, i) => {
    const o = layout.offsets[i]!;
    const t = tf.tensor(flat.slice(o, o + v.size), v.shape, 'float32');
    v.assign(t);
    t.dispose();
  });
}
