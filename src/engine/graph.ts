import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { ChannelMoments, ChannelNorm } from './channel-norm.js';

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
  /**
   * Layers called more than once, counting the calls made inside nested models (a nested model called twice
   * calls each of its layers twice). A change of their weights moves every call, so the delta paths skip them.
   */
  readonly shared: ReadonlySet<GraphLayer>;
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
  return { inputs: model.inputs, outputs: model.outputs, nodes, shared: sharedLayers(nodes) };
}

/**
 * The model a layer is, when a model is nested in another as one of its layers.
 *
 * @param layer - A layer of a graph node.
 * @returns The layer as a model, or null for a plain layer.
 */
export function nestedModel(layer: GraphLayer): LayersModel | null {
  const m = layer as unknown as Partial<LayersModel>;
  return Array.isArray(m.layers) && Array.isArray(m.inputs) && Array.isArray(m.outputs) ? (m as LayersModel) : null;
}

/** Layers with more than one call among `nodes` and the calls inside the nested models they call. */
function sharedLayers(nodes: readonly GraphNode[]): Set<GraphLayer> {
  const calls = new Map<GraphLayer, number>();
  const count = (ns: readonly GraphNode[]): void => {
    for (const n of ns) {
      calls.set(n.layer, (calls.get(n.layer) ?? 0) + 1);
      const inner = nestedModel(n.layer);
      if (inner !== null) count(buildGraph(inner).nodes);
    }
  };
  count(nodes);
  return new Set([...calls].filter(([, c]) => c > 1).map(([l]) => l));
}

/**
 * The first nested model of the graph that holds a BatchNormalization layer (at any depth), or null. Such a
 * layer normalises with the statistics of what it sees, which under sharding is one thread's part of the batch.
 *
 * @param graph - The model's graph.
 * @returns The nested model's layer name, or null.
 */
export function nestedBatchNorm(graph: ModelGraph): string | null {
  const hasBatchNorm = (m: LayersModel): boolean =>
    m.layers.some((l) => l.getClassName() === 'BatchNormalization' || (nestedModel(l as unknown as GraphLayer) !== null && hasBatchNorm(l as unknown as LayersModel)));
  for (const n of graph.nodes) {
    const inner = nestedModel(n.layer);
    if (inner !== null && hasBatchNorm(inner)) return n.layer.name;
  }
  return null;
}

/**
 * How the model engine normalises training-mode BatchNormalization layers on the last (channel) axis: with
 * statistics over the whole batch, computed with the fast kernels of {@link ChannelNorm}. Layers normalising
 * another axis run their own code when the batch is not sharded.
 */
export interface BatchStats {
  /**
   * Per-channel mean and variance of each tensor over every axis but the last, as `tf.moments` computes them on
   * the whole batch. With shards, the tensors of one call share one exchange between threads.
   */
  moments(xs: readonly tf.Tensor[]): ChannelMoments[];
  /** Normalisation with given statistics (see {@link ChannelNorm.normalize}). */
  readonly normalize: ChannelNorm['normalize'];
  /** One channel of an activation (see {@link ChannelNorm.channel}); the conv delta path uses it. */
  readonly channel: ChannelNorm['channel'];
  /** One output channel of a convolution (see {@link ChannelNorm.convChannel}); the conv delta path uses it. */
  readonly convChannel: ChannelNorm['convChannel'];
  /** True when the batch is split across threads, so every BN layer must use {@link BatchStats.moments}. */
  readonly sharded: boolean;
}

/** Statistics of an unsharded batch: each tensor's own. */
export function localStats(norm: ChannelNorm): BatchStats {
  return { moments: (xs) => xs.map((x) => norm.moments(x)), normalize: norm.normalize, channel: norm.channel, convChannel: norm.convChannel, sharded: false };
}

/**
 * Runs `nodes` (a topologically ordered subset of a graph) on concrete tensors.
 *
 * @param values - Concrete values of symbolic tensors by id; extended with every output computed.
 * @param stats - When given, training-mode BatchNormalization layers on the channel axis normalise with these
 * statistics (whole-batch ones for shards), and their moving statistics are left alone.
 */
export function runNodes(nodes: readonly GraphNode[], values: Map<number, tf.Tensor>, training: boolean, stats?: BatchStats): void {
  for (const node of nodes) {
    const ins = node.inputs.map((s) => {
      const v = values.get(s.id);
      if (v === undefined) throw new Error(`runNodes: no value for ${s.name} (input of ${node.layer.name})`);
      return v;
    });
    if (training && stats !== undefined && usesStats(node.layer, ins[0]!, stats)) {
      const { mean, variance } = stats.moments([ins[0]!])[0]!;
      values.set(node.outputs[0]!.id, applyBatchNorm(node.layer, ins[0]!, mean, variance, stats));
      continue;
    }
    const out = node.layer.apply(ins.length === 1 ? ins[0]! : ins, { ...node.kwargs, training });
    const outs = Array.isArray(out) ? out : [out];
    node.outputs.forEach((s, i) => values.set(s.id, outs[i]!));
  }
}

/**
 * Runs `nodes` on several value maps side by side (the candidates of one step), node by node, so that every
 * training-mode BatchNormalization gets the whole-batch statistics of all maps from one call of `stats.moments`.
 */
export function runNodesTogether(nodes: readonly GraphNode[], maps: readonly Map<number, tf.Tensor>[], stats: BatchStats): void {
  for (const node of nodes) {
    const xs = maps.map((values) => {
      const v = values.get(node.inputs[0]!.id);
      if (v === undefined) throw new Error(`runNodes: no value for ${node.inputs[0]!.name} (input of ${node.layer.name})`);
      return v;
    });
    if (!usesStats(node.layer, xs[0]!, stats)) {
      for (const values of maps) runNodes([node], values, true, stats);
      continue;
    }
    const m = stats.moments(xs);
    maps.forEach((values, i) => values.set(node.outputs[0]!.id, applyBatchNorm(node.layer, xs[i]!, m[i]!.mean, m[i]!.variance, stats)));
  }
}

/**
 * Whether {@link runNodesStacked} can run `nodes`: every layer treats examples independently in training mode,
 * except BatchNormalization layers on the last (channel) axis, which it normalises per version.
 */
export function canStack(nodes: readonly GraphNode[]): boolean {
  return nodes.every((node) => {
    if (node.layer.getClassName() !== 'BatchNormalization') return true;
    const axis = (node.layer as unknown as BatchNormInternals).axis;
    return axis === -1 || axis === (node.inputs[0]?.shape.length ?? 0) - 1;
  });
}

/**
 * Runs `nodes` in training mode on `groups` versions of a batch stacked along the batch axis (the candidates of
 * one step), in one pass: every layer runs once on the stacked tensors, and every BatchNormalization normalises
 * each version with that version's own statistics, from one call of `stats.moments` for all of them.
 *
 * @throws RangeError for nodes {@link canStack} rejects.
 */
export function runNodesStacked(nodes: readonly GraphNode[], values: Map<number, tf.Tensor>, groups: number, stats: BatchStats): void {
  for (const node of nodes) {
    if (node.layer.getClassName() !== 'BatchNormalization') {
      runNodes([node], values, true, stats);
      continue;
    }
    const x = values.get(node.inputs[0]!.id);
    if (x === undefined) throw new Error(`runNodes: no value for ${node.inputs[0]!.name} (input of ${node.layer.name})`);
    if (!usesStats(node.layer, x, stats)) throw new RangeError(`runNodesStacked: ${node.layer.name} normalises another axis than the last, which mixes the stacked versions`);
    const parts = tf.split(x, groups, 0);
    const m = stats.moments(parts);
    values.set(node.outputs[0]!.id, tf.concat(parts.map((p, i) => applyBatchNorm(node.layer, p, m[i]!.mean, m[i]!.variance, stats)), 0));
  }
}

interface BatchNormInternals {
  readonly axis: number;
  readonly epsilon: number;
  readonly gamma: { read(): tf.Tensor } | null;
  readonly beta: { read(): tf.Tensor } | null;
}

/**
 * Whether a layer is a BatchNormalization that {@link BatchStats} normalises: one on the last (channel) axis.
 * With shards, a BatchNormalization on another axis cannot run at all.
 */
function usesStats(layer: GraphLayer, x: tf.Tensor, stats: BatchStats): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const bn = layer as unknown as BatchNormInternals;
  if (bn.axis === -1 || bn.axis === x.rank - 1) return true;
  if (stats.sharded) throw new RangeError(`sharded engine: ${layer.name} normalises axis ${bn.axis}; only the last (channel) axis is supported with workers`);
  return false;
}

function applyBatchNorm(layer: GraphLayer, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, stats: BatchStats): tf.Tensor {
  const bn = layer as unknown as BatchNormInternals;
  return stats.normalize(x, mean, variance, bn.beta?.read() ?? null, bn.gamma?.read() ?? null, bn.epsilon);
}

/** The nodes to re-run when the weights of `layers` change, and the tensors crossing into them. */
export interface GraphCut {
  /** Nodes that depend on the changed layers, in topological order. */
  readonly suffix: readonly GraphNode[];
  /** Nodes needed to compute the cut from the model inputs, in topological order. */
  readonly prefix: readonly GraphNode[];
  /**
   * Tensors produced outside the suffix (or model inputs) and consumed by it, every tensor crossing the cut, and
   * the model outputs the suffix does not produce.
   */
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
  // Outputs the changed layers do not reach are computed once with the cut.
  for (const o of graph.outputs) if (!inSuffix.has(o.id)) cutMap.set(o.id, o);
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
