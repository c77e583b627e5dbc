import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { DataSet } from './fit-data.js';
import type { Objective } from './objective.js';

type MetricFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/**
 * Hits of `pred` against `y`, summed over the examples, with the accuracy that fits the target: binary (a
 * one-unit output, threshold 0.5), sparse (class ids against a several-unit output) or categorical (one-hot).
 */
export function accuracyHits(y: tf.Tensor, pred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const units = pred.shape[pred.rank - 1]!;
    let hits: tf.Tensor;
    if (units === 1) hits = tf.equal(tf.greater(pred, 0.5), tf.greater(y, 0.5));
    else if (y.rank === pred.rank - 1 || (y.shape[y.rank - 1] === 1 && units > 1)) {
      hits = tf.equal(tf.argMax(pred, -1), tf.cast(tf.reshape(y, pred.shape.slice(0, -1)), 'int32'));
    } else hits = tf.equal(tf.argMax(pred, -1), tf.argMax(y, -1));
    return tf.sum(tf.cast(hits, 'float32'));
  });
}

/**
 * Means over the examples of per-batch values: `values(start, size)` gives each value's mean over rows
 * [start, start + size) as a 1-D tensor, which is weighted by `size`.
 */
function batchedMeans(n: number, batchSize: number, values: (start: number, size: number) => tf.Tensor1D): Float64Array {
  let sums: Float64Array | null = null;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const t = tf.tidy(() => values(start, size));
    const v = t.dataSync();
    t.dispose();
    sums ??= new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) sums[i] = sums[i]! + v[i]! * size;
  }
  return (sums ?? new Float64Array(0)).map((s) => s / n);
}

/** Result of {@link evaluateModel}. */
export interface Evaluation {
  /** Mean loss over the examples. */
  readonly loss: number;
  /** Share of examples predicted right: one-hot and sparse targets by arg-max, a one-unit output at 0.5. */
  readonly acc: number;
}

/**
 * Loss and accuracy of a single-output `model` on (x, y), in inference mode, in batches.
 *
 * @param model - The model.
 * @param x - Inputs.
 * @param y - Targets: one-hot, class ids, or 0/1 for a one-unit output.
 * @param lossFn - Mean loss of a batch, e.g. `(yt, yp) => tf.mean(tfl.metrics.categoricalCrossentropy(yt, yp))`.
 * @param batchSize - Examples per forward pass.
 * @returns The mean loss and the accuracy.
 * @example
 * ```ts
 * const { acc } = evaluateModel(model, xTest, yTest, (yt, yp) => tf.mean(metrics.categoricalCrossentropy(yt, yp)), 1000);
 * ```
 */
export function evaluateModel(
  model: LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  lossFn: (yt: tf.Tensor, yp: tf.Tensor) => tf.Scalar,
  batchSize: number,
): Evaluation {
  const [loss, acc] = batchedMeans(x.shape[0]!, batchSize, (start, size) => {
    const yb = tf.slice(y, start, size);
    const pred = model.predict(tf.slice(x, start, size), { batchSize: size }) as tf.Tensor;
    return tf.stack([lossFn(yb, pred), tf.div(accuracyHits(yb, pred), size)]) as tf.Tensor1D;
  });
  return { loss: loss!, acc: acc! };
}

/** The compiled metrics of a model, as `model.fit` computes them: names after `loss`, and one mean value each. */
export function compiledMetrics(model: LayersModel): { readonly names: readonly string[]; values(ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]): tf.Scalar[] } {
  const entries = (model.metricsTensors ?? []) as unknown as [MetricFn, number][];
  return {
    names: (model.metricsNames ?? ['loss']).slice(1),
    values: (ys, preds) => entries.map(([fn, o]) => tf.mean(fn(ys[o]!, preds[o]!)) as tf.Scalar),
  };
}

/** Forward pass of a batch given in the model's input order. */
export function forward(model: LayersModel, xs: readonly tf.Tensor[], training: boolean): tf.Tensor[] {
  const out = model.apply(xs.length === 1 ? xs[0]! : [...xs], { training });
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/**
 * The loss and compiled metrics of `model` on a data set, in inference mode, as `model.evaluate` computes them,
 * keyed with `prefix` (e.g. `val_`).
 */
export function evaluateLogs(model: LayersModel, objective: Objective, data: DataSet, batchSize: number, prefix: string): Record<string, number> {
  const metrics = compiledMetrics(model);
  const means = batchedMeans(data.xs[0]!.shape[0]!, batchSize, (start, size) => {
    const ys = data.ys.map((t) => tf.slice(t, start, size));
    const preds = forward(model, data.xs.map((t) => tf.slice(t, start, size)), false);
    return tf.stack([objective.meanLoss(ys, preds), ...metrics.values(ys, preds)]) as tf.Tensor1D;
  });
  const logs: Record<string, number> = { [`${prefix}loss`]: means[0]! };
  metrics.names.forEach((name, i) => (logs[`${prefix}${name}`] = means[i + 1]!));
  return logs;
}
