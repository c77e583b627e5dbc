import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';

/** The part of a tfjs layer the executor calls. */
export interface GraphLayer {
  readonly name: string;
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  getClassName(): string;
}

/** One call of a layer in the model graph. */
export interface GraphNode {
  readonly layer: GraphLayer;
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  readonly kwargs: Record<string, unknown>;
}

/** A model as a list of layer calls in topological order. */
export interface ModelGraph {
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  readonly nodes: readonly GraphNode[];
}

interface InboundNode {
  readonly inputTensors: SymbolicTensor[];
  readonly outputTensors: SymbolicTensor[];
  readonly callArgs?: Record<string, unknown>;
}

/**
 * Walks the symbolic graph of a Sequential or functional model from its outputs back to its inputs.
 * Each layer call appears once, after every call it depends on.
 */
export function buildGraph(model: LayersModel): ModelGraph {
  const inputIds = new Set(model.inputs.map((t) => t.id));
  const nodes: GraphNode[] = [];
  const seen = new Set<InboundNode>();
  const visit = (t: SymbolicTensor): void => {
    if (inputIds.has(t.id)) return;
    const inbound = (t.sourceLayer as unknown as { inboundNodes: InboundNode[] }).inboundNodes[t.nodeIndex];
    if (inbound === undefined) throw new Error(`buildGraph: tensor ${t.name} has no producing node`);
    if (seen.has(inbound)) return;
    seen.add(inbound);
    for (const i of inbound.inputTensors) visit(i);
    // `training` is decided per run, not by the symbolic call.
    const kwargs: Record<string, unknown> = { ...(inbound.callArgs ?? {}) };
    delete kwargs['training'];
    nodes.push({ layer: t.sourceLayer as unknown as GraphLayer, inputs: inbound.inputTensors, outputs: inbound.outputTensors, kwargs });
  };
  for (const o of model.outputs) visit(o);
  return { inputs: model.inputs, outputs: model.outputs, nodes };
}

/**
 * Batch statistics over the whole batch when it is split across threads: for each tensor, the mean and
 * (biased) variance over `axes`, as `tf.moments` computes them on the full batch. Several tensors share one
 * exchange between threads.
 */
export type BatchMoments = (xs: readonly tf.Tensor[], axes: number[]) => { mean: tf.Tensor; variance: tf.Tensor }[];

/**
 * Runs `nodes` (a topologically ordered subset of a graph) on concrete tensors.
 *
 * @param values - Concrete values of symbolic tensors by id; extended with every output computed.
 * @param moments - When given (sharded batches), training-mode BatchNormalization layers normalise with these
 * whole-batch statistics instead of their shard's; their moving statistics are left alone.
 */
export function runNodes(nodes: readonly GraphNode[], values: Map<number, tf.Tensor>, training: boolean, moments?: BatchMoments): void {
  for (const node of nodes) {
    const ins = node.inputs.map((s) => {
      const v = values.get(s.id);
      if (v === undefined) throw new Error(`runNodes: no value for ${s.name} (input of ${node.layer.name})`);
      return v;
    });
    if (training && moments !== undefined && node.layer.getClassName() === 'BatchNormalization') {
      values.set(node.outputs[0]!.id, shardedBatchNorm(node.layer, ins[0]!, moments));
      continue;
    }
    const out = node.layer.apply(ins.length === 1 ? ins[0]! : ins, { ...node.kwargs, training });
    const outs = Array.isArray(out) ? out : [out];
    node.outputs.forEach((s, i) => values.set(s.id, outs[i]!));
  }
}

/**
 * Runs `nodes` on several value maps side by side (the candidates of one step), node by node, so that every
 * training-mode BatchNormalization gets the whole-batch statistics of all maps from one call of `moments`.
 */
export function runNodesTogether(nodes: readonly GraphNode[], maps: readonly Map<number, tf.Tensor>[], moments: BatchMoments): void {
  for (const node of nodes) {
    if (node.layer.getClassName() !== 'BatchNormalization') {
      for (const values of maps) runNodes([node], values, true);
      continue;
    }
    const xs = maps.map((values) => {
      const v = values.get(node.inputs[0]!.id);
      if (v === undefined) throw new Error(`runNodes: no value for ${node.inputs[0]!.name} (input of ${node.layer.name})`);
      return v;
    });
    const stats = moments(xs, bnAxes(node.layer, xs[0]!));
    maps.forEach((values, i) => values.set(node.outputs[0]!.id, applyBatchNorm(node.layer, xs[i]!, stats[i]!.mean, stats[i]!.variance)));
  }
}

interface BatchNormInternals {
  readonly axis: number;
  readonly epsilon: number;
  readonly gamma: { read(): tf.Tensor } | null;
  readonly beta: { read(): tf.Tensor } | null;
}

/** The reduction axes of a BatchNormalization on the last (channel) axis; other axes are not supported. */
function bnAxes(layer: GraphLayer, x: tf.Tensor): number[] {
  const bn = layer as unknown as BatchNormInternals;
  if (bn.axis !== -1 && bn.axis !== x.rank - 1) {
    throw new RangeError(`sharded engine: ${layer.name} normalises axis ${bn.axis}; only the last (channel) axis is supported with workers`);
  }
  return Array.from({ length: x.rank - 1 }, (_, i) => i);
}

function applyBatchNorm(layer: GraphLayer, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor): tf.Tensor {
  const bn = layer as unknown as BatchNormInternals;
  return tf.batchNorm(x, mean, variance, bn.beta?.read(), bn.gamma?.read(), bn.epsilon);
}

/** A training-mode BatchNormalization on the last axis, with the given whole-batch statistics. */
function shardedBatchNorm(layer: GraphLayer, x: tf.Tensor, moments: BatchMoments): tf.Tensor {
  const { mean, variance } = moments([x], bnAxes(layer, x))[0]!;
  return applyBatchNorm(layer, x, mean, variance);
}

/** The nodes to re-run when the weights of `layers` change, and the tensors crossing into them. */
export interface GraphCut {
  /** Nodes that depend on the changed layers, in topological order. */
  readonly suffix: readonly GraphNode[];
  /** Nodes needed to compute the cut from the model inputs, in topological order. */
  readonly prefix: readonly GraphNode[];
  /** Tensors produced outside the suffix (or model inputs) and consumed by it: every tensor crossing the cut. */
  readonly cut: readonly SymbolicTensor[];
}

/** Splits a graph at the layers whose weights are searched. */
export function cutGraph(graph: ModelGraph, layers: ReadonlySet<string>): GraphCut {
  const inSuffix = new Set<number>();
  const suffix: GraphNode[] = [];
  for (const node of graph.nodes) {
    if (layers.has(node.layer.name) || node.inputs.some((s) => inSuffix.has(s.id))) {
      suffix.push(node);
      for (const o of node.outputs) inSuffix.add(o.id);
    }
  }
  const cutMap = new Map<number, SymbolicTensor>();
  for (const node of suffix) for (const s of node.inputs) if (!inSuffix.has(s.id)) cutMap.set(s.id, s);
  const cut = [...cutMap.values()];
  // Ancestors of the cut, outside the suffix.
  const needed = new Set(cut.map((s) => s.id));
  const prefixRev: GraphNode[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    if (node.outputs.some((o) => needed.has(o.id)) && !suffix.includes(node)) {
      prefixRev.push(node);
      for (const s of node.inputs) needed.add(s.id);
    }
  }
  return { suffix, prefix: prefixRev.reverse(), cut };
}
