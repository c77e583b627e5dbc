import * as tf from '@tensorflow/tfjs-core';

/** Reads and writes single scalars of tfjs variables. */
export interface WeightWriter {
  /** Current value of one scalar. */
  read(tensor: number, flat: number): number;
  /** Sets one scalar (no-op when the value is already there, bit for bit). */
  write(tensor: number, flat: number, value: number): void;
  /** Sets the scalars `flats` to `values` in one assignment (no-op when every value is already there). */
  writeMany(tensor: number, flats: Int32Array, values: Float32Array): void;
}

/**
 * Single-scalar access to variables through a host copy of the tensor being searched.
 *
 * @remarks Weights change only by `assign` of a fresh tensor: on wasm, editing memory in place is invisible to
 * XNNPACK's cached packed weights, and on cpu `tf.tensor` aliases its array (docs/internals.md, tfjs traps). The host copy is
 * valid while nobody else writes the variables; create a new writer after outside changes.
 */
export function createWeightWriter(variables: readonly tf.Variable[]): WeightWriter {
  let cachedTensor = -1;
  let cached = new Float32Array(0);
  const host = (t: number): Float32Array => {
    if (cachedTensor !== t) {
      cached = Float32Array.from(variables[t]!.dataSync() as Float32Array);
      cachedTensor = t;
    }
    return cached;
  };
  const assign = (t: number, base: Float32Array) => {
    const v = variables[t]!;
    const fresh = tf.tensor(base.slice(), v.shape, 'float32');
    v.assign(fresh);
    fresh.dispose();
  };
  return {
    read: (t, flat) => host(t)[flat]!,
    write(t, flat, value) {
      const base = host(t);
      if (Object.is(base[flat], Math.fround(value))) return;
      base[flat] = value;
      assign(t, base);
    },
    writeMany(t, flats, values) {
      const base = host(t);
      let changed = false;
      for (let i = 0; i < flats.length; i++) {
        if (Object.is(base[flats[i]!], values[i])) continue;
        base[flats[i]!] = values[i]!;
        changed = true;
      }
      if (changed) assign(t, base);
    },
  };
}

/** A saved value of a variable. */
export interface VariableSnapshot {
  readonly variable: tf.Variable;
  readonly saved: tf.Tensor;
}

/** Keeps (by reference) the current values of `variables`; `assign` swaps data, so this is cheap. */
export function snapshotVariables(variables: readonly tf.Variable[]): VariableSnapshot[] {
  return variables.map((variable) => ({ variable, saved: tf.keep(tf.clone(variable)) }));
}

/** Puts back every snapshotted variable whose data changed since the snapshot. */
export function restoreVariables(snapshots: readonly VariableSnapshot[]): void {
  for (const s of snapshots) {
    if (s.variable.dataId !== s.saved.dataId) s.variable.assign(s.saved);
  }
}

/** Every registered variable that is not in `trainable` (BN moving statistics among them). */
export function otherVariables(trainable: readonly tf.Variable[]): tf.Variable[] {
  const ids = new Set(trainable.map((v) => v.id));
  return Object.values(tf.engine().state.registeredVariables).filter((v) => !ids.has(v.id));
}

/** Runs a function, then puts back every one of the given variables it changed. */
export type Frozen = <T>(fn: () => T) => T;

/**
 * Runs functions with `variables` frozen: each run snapshots them first and restores them after, even when it
 * throws. The model engine freezes every non-trainable variable (BN moving statistics), which training-mode
 * passes would otherwise move.
 */
export function freezeVariables(variables: readonly tf.Variable[]): Frozen {
  return <T>(fn: () => T): T => {
    const snap = snapshotVariables(variables);
    try {
      return fn();
    } finally {
      restoreVariables(snap);
      for (const s of snap) s.saved.dispose();
    }
  };
}
