import * as tf from '@tensorflow/tfjs-core';
import { restoreVariables, snapshotVariables } from './weight-writer.js';

/**
 * The trainable registered variables that a loss closure reads, in registration order.
 *
 * @remarks
 * Runs `f` once, inside a tidy, with tfjs's tape on (the engine's own record of every kernel and its input
 * tensors, which `tf.variableGrads` uses). A variable is read when it is an input of some kernel. The tape
 * records kernels whether or not they have a gradient, so a variable used only by an op without one
 * (argMax, a comparison, a cast) still counts; a variable read only through `dataSync()`/`data()` does not.
 * Afterwards:
 * - every registered variable `f` changed (BN moving statistics under `training: true`) is set back;
 * - the tensors saved for a backward pass and those `f` kept with `tf.keep` are disposed;
 * - an enclosing tape (a call inside `tf.grad`) is left as it was.
 * @param f - The loss closure.
 * @returns The trainable variables among `f`'s kernel inputs, in the order tfjs registered them.
 * @example
 * ```ts
 * const v = tf.variable(tf.scalar(2));
 * trainableVariablesReadBy(() => tf.square(v)); // [v]
 * ```
 */
export function trainableVariablesReadBy(f: () => unknown): tf.Variable[] {
  const engine = tf.engine();
  const state = engine.state;
  const all = Object.values(state.registeredVariables);
  const snapshots = snapshotVariables(all);
  const outerTape = state.gradientDepth > 0;
  const previousTape = state.activeTape;
  const from = outerTape ? previousTape.length : 0;
  if (!outerTape) state.activeTape = [];
  const keep = engine.keep;
  const kept: tf.Tensor[] = [];
  const read = new Set<object>();
  state.gradientDepth++;
  try {
    engine.keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(t);
      return t;
    };
    tf.tidy(() => {
      f();
    });
  } finally {
    engine.keep = keep;
    state.gradientDepth--;
    for (const node of state.activeTape.splice(from)) {
      for (const input of Object.values(node.inputs)) if (input != null) read.add(input);
      for (const t of node.saved ?? []) t.dispose();
    }
    if (!outerTape) state.activeTape = previousTape;
    for (const t of kept) t.dispose();
    restoreVariables(snapshots);
    for (const s of snapshots) s.saved.dispose();
  }
  return all.filter((v) => v.trainable && read.has(v));
}
