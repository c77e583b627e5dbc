import * as tf from '@tensorflow/tfjs-core';
import type { GraphCut, GraphNode, ModelGraph } from './graph.js';

/** The model's output layer when it is a softmax Dense layer trained under categorical cross-entropy. */
export interface OutputLayer {
  readonly node: GraphNode;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
}

interface DenseInternals {
  readonly activation?: { getClassName(): string };
  readonly kernel?: { read(): tf.Variable };
  readonly bias?: { read(): tf.Variable } | null;
}

/**
 * Recognises a searched group that is the output layer alone: a Dense layer called once, with a softmax
 * activation on a rank-2 input, whose output is the model's only one, with `categoricalCrossentropy` as the
 * loss. Returns null otherwise (the caller re-runs the suffix, which is exact for any graph).
 */
export function matchOutputLayer(graph: ModelGraph, cut: GraphCut, loss: string | undefined): OutputLayer | null {
  if (loss !== 'categoricalCrossentropy' || cut.suffix.length !== 1) return null;
  const node = cut.suffix[0]!;
  const layer = node.layer as unknown as DenseInternals;
  if (node.layer.getClassName() !== 'Dense' || layer.activation?.getClassName().toLowerCase() !== 'softmax') return null;
  if (node.inputs.length !== 1 || node.inputs[0]!.shape.length !== 2) return null;
  if (graph.outputs.length !== 1 || node.outputs[0]!.id !== graph.outputs[0]!.id || layer.kernel === undefined) return null;
  if (graph.shared.has(node.layer)) return null;
  return { node, kernel: layer.kernel.read(), bias: layer.bias?.read() ?? null };
}

/** How each candidate moves column `column` of the logits: `shifts(h, features)(c, e)` for candidate c, example e. */
export interface OutputChange {
  readonly column: number;
  readonly count: number;
  shifts(h: Float32Array, features: number): (c: number, e: number) => number;
}

/**
 * The change of a move within output column `j`: for the kernel, the weights at `rows` (input features), by
 * Σᵢ (candidate − current)[i] · h[e, rows[i]]; for the bias (`rows` null, a move of b[j] alone), by δ.
 */
export function outputChange(j: number, rows: Int32Array | null, current: Float32Array, candidates: readonly Float32Array[]): OutputChange {
  if (rows === null || rows.length === 1) {
    // One weight: δ · h[e, i] for kernel scalar W[i, j], δ for the bias b[j], computed where asked.
    const i = rows === null ? -1 : rows[0]!;
    const c0 = current[0]!;
    return { column: j, count: candidates.length, shifts: (h, features) => (c, e) => (candidates[c]![0]! - c0) * (i >= 0 ? h[e * features + i]! : 1) };
  }
  return {
    column: j,
    count: candidates.length,
    shifts(h, features) {
      const n = h.length / features;
      const dots = candidates.map((values) => {
        const d = new Float64Array(n);
        for (let e = 0; e < n; e++) {
          let s = 0;
          for (let i = 0; i < rows.length; i++) s += (values[i]! - current[i]!) * h[e * features + rows[i]!]!;
          d[e] = s;
        }
        return d;
      });
      return (c, e) => dots[c]![e]!;
    },
  };
}

/**
 * Losses of the candidates of one step on the output layer (a scalar, or a block of one column's kernel), in
 * O(batch) each.
 *
 * @remarks The logits z = h·W + b are computed once, as the layer computes them. A change δ of W[i, j] adds
 * δ · h[:, i] to column j only (δ for the bias b[j]), so each example's log-sum-exp is updated from the sum
 * over the other columns, kept once per step. The loss then follows tfjs's categorical cross-entropy on the
 * softmax output: each probability clipped to [ε, 1 − ε], −Σₖ yₖ log pₖ per example, then the mean (or the sum).
 * The arithmetic is float64, so the losses differ from a float32 forward pass by rounding only. With `record`,
 * each candidate's per-example losses are pushed to it.
 */
export function outputLosses(out: OutputLayer, h: tf.Tensor, y: tf.Tensor, change: OutputChange, reduction: 'mean' | 'sum', record: Float64Array[] | null = null): Float64Array {
  const n = h.shape[0]!;
  const classes = out.kernel.shape[1]!;
  // The host array is read outside tidy, which would walk every element of a returned array.
  const logits = tf.fused.matMul({ a: h as tf.Tensor2D, b: out.kernel as tf.Tensor2D, ...(out.bias === null ? {} : { bias: out.bias }) });
  const z = logits.dataSync();
  logits.dispose();
  const yv = y.dataSync();
  const j = change.column;
  const shift = change.shifts(h.dataSync() as Float32Array, h.shape[1]!);
  const eps = tf.backend().epsilon();
  // Per example: the largest logit and the sum of exp(z - max) over every column but j.
  const top = new Float64Array(n);
  const others = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, z[e * classes + k]!);
    let s = 0;
    for (let k = 0; k < classes; k++) if (k !== j) s += Math.exp(z[e * classes + k]! - m);
    top[e] = m;
    others[e] = s;
  }
  const clip = (p: number) => Math.min(Math.max(p, eps), 1 - eps);
  const losses = new Float64Array(change.count);
  for (let c = 0; c < change.count; c++) {
    // Each example's loss, when asked for (early rejection); the total is summed as without.
    const perExample = record === null ? null : new Float64Array(n);
    let total = 0;
    for (let e = 0; e < n; e++) {
      const zj = z[e * classes + j]! + shift(c, e);
      const m = Math.max(top[e]!, zj);
      const lse = m + Math.log(others[e]! * Math.exp(top[e]! - m) + Math.exp(zj - m));
      let example = 0;
      for (let k = 0; k < classes; k++) {
        const yk = yv[e * classes + k]!;
        if (yk === 0) continue;
        const term = yk * Math.log(clip(Math.exp((k === j ? zj : z[e * classes + k]!) - lse)));
        total -= term;
        example -= term;
      }
      if (perExample !== null) perExample[e] = example;
    }
    if (perExample !== null) record!.push(perExample);
    losses[c] = reduction === 'sum' ? total : total / n;
  }
  return losses;
}
