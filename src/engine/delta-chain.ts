import * as tf from '@tensorflow/tfjs-core';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { GraphCut, GraphLayer, GraphNode, ModelGraph } from './graph.js';

/** A per-channel layer between the searched layer and the next one. */
export type ChannelStep =
  | { readonly kind: 'avgPool'; readonly poolSize: [number, number]; readonly strides: [number, number]; readonly padding: 'valid' | 'same' }
  | { readonly kind: 'batchNorm'; readonly gamma: tf.Variable | null; readonly beta: tf.Variable | null; readonly epsilon: number }
  | { readonly kind: 'activation'; readonly apply: (x: tf.Tensor) => tf.Tensor };

/**
 * The shape the delta path needs: the searched layer → per-channel layers → the next layer → rest of the graph,
 * where both layers are Conv2D (`kind: 'conv'`) or both are Dense on a rank-2 input (`kind: 'dense'`).
 *
 * @remarks A scalar of the searched layer's kernel feeds one output channel (a conv's channel, a Dense layer's
 * unit), so a change of it moves one channel of every per-channel layer's output, and the next layer's output
 * by a single-input-channel term: a conv of that channel, or for Dense a rank-1 product.
 */
export interface DeltaChain {
  readonly kind: 'conv' | 'dense';
  /** The searched layer's node and its kernel variable. */
  readonly searched: GraphNode;
  readonly kernel: tf.Variable;
  /** The searched layer's bias, if it has one. */
  readonly bias: tf.Variable | null;
  /** Nodes from the searched layer to the next one, both included. */
  readonly head: readonly GraphNode[];
  /** The per-channel path, starting with the searched Dense layer's own activation if it has one. */
  readonly steps: readonly ChannelStep[];
  /** The output of the last per-channel layer (the next layer's input). */
  readonly pathOut: SymbolicTensor;
  /** The next layer's node, its kernel, and for a conv its strides and padding. */
  readonly next: GraphNode;
  readonly nextKernel: tf.Variable;
  readonly nextStrides: [number, number];
  readonly nextPadding: 'valid' | 'same';
  /** The next Dense layer's bias and activation (applied to its whole output); null for a conv, or none. */
  readonly nextBias: tf.Variable | null;
  readonly nextActivation: ((x: tf.Tensor) => tf.Tensor) | null;
  /** Everything after the next layer, in topological order. */
  readonly rest: readonly GraphNode[];
  /** Tensors from the cut that `rest` reads (skip connections from below the searched layer). */
  readonly restInputs: readonly number[];
  /** The model's outputs: those the chain reaches are computed by `next` and `rest`, the others come from the cut. */
  readonly outputs: readonly SymbolicTensor[];
}

interface LayerInternals {
  readonly strides?: number[];
  readonly padding?: string;
  readonly dilationRate?: number[];
  readonly activation?: { getClassName(): string; apply(x: tf.Tensor): tf.Tensor } | null;
  readonly poolSize?: number[];
  readonly axis?: number;
  readonly epsilon?: number;
  readonly gamma?: { read(): tf.Variable } | null;
  readonly beta?: { read(): tf.Variable } | null;
  readonly kernel?: { read(): tf.Variable };
  readonly bias?: { read(): tf.Variable } | null;
  readonly dataFormat?: string;
}

const internals = (l: GraphLayer) => l as unknown as LayerInternals;
const activationOf = (l: GraphLayer): string => internals(l).activation?.getClassName() ?? 'linear';
const isLinear = (l: GraphLayer) => activationOf(l).toLowerCase() === 'linear';
/** Activations that act on each element alone, so that they map one channel's change to one channel's change. */
const ELEMENTWISE = new Set(['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'softplus', 'softsign', 'tanh', 'swish', 'mish', 'gelu', 'gelu_new']);
const pair = (v: number[] | undefined, d: number): [number, number] => [v?.[0] ?? d, v?.[1] ?? d];

function plainConv(l: GraphLayer): boolean {
  const i = internals(l);
  return (
    l.getClassName() === 'Conv2D' &&
    isLinear(l) &&
    (i.dataFormat ?? 'channelsLast') === 'channelsLast' &&
    pair(i.dilationRate, 1).every((d) => d === 1)
  );
}

/** A Dense layer on a rank-2 input (on higher ranks it maps the last axis, which the rank-1 product does not model). */
const plainDense = (n: GraphNode): boolean => n.layer.getClassName() === 'Dense' && n.inputs.length === 1 && n.inputs[0]!.shape.length === 2;

/**
 * A custom layer that declares `elementwise = true` (each output element depends only on the input element at
 * the same position, as a hard threshold or a quantiser does), with one input and an output of its input's shape.
 */
function declaredElementwise(n: GraphNode): boolean {
  const [input, output] = [n.inputs[0]!.shape, n.outputs[0]!.shape];
  return (
    (n.layer as unknown as { elementwise?: unknown }).elementwise === true &&
    n.outputs.length === 1 &&
    input.length === output.length &&
    input.every((d, k) => d === output[k])
  );
}

/** The activation of a layer as a per-channel step, if it is an elementwise one other than linear. */
function activationStep(l: GraphLayer): ChannelStep | null | 'unsupported' {
  const name = activationOf(l);
  if (!ELEMENTWISE.has(name)) return 'unsupported';
  if (name === 'linear') return null;
  const act = internals(l).activation!;
  return { kind: 'activation', apply: (x) => act.apply(x) };
}

/**
 * Recognises `conv → (avg pool | BN | activation)* → conv → …` or `dense → (BN | activation)* → dense → …`
 * (an activation: an Activation or ReLU layer, or a custom layer that declares `elementwise = true`)
 * starting at the searched layer, where every tensor on the path has one consumer and every layer on it is
 * called once (see {@link ModelGraph.shared}). Returns null when the group does not have that shape (the caller
 * falls back to re-running the suffix, which is exact for any graph).
 */
export function matchDeltaChain(graph: ModelGraph, cut: GraphCut, groupLayers: ReadonlySet<string>): DeltaChain | null {
  const first = cut.suffix[0];
  if (first === undefined || graph.shared.has(first.layer)) return null;
  const i0 = internals(first.layer);
  const steps: ChannelStep[] = [];
  let kind: DeltaChain['kind'];
  if (plainConv(first.layer)) {
    if (pair(i0.strides, 1).some((s) => s !== 1) || i0.padding !== 'same') return null;
    kind = 'conv';
  } else if (plainDense(first)) {
    const own = activationStep(first.layer);
    if (own === 'unsupported') return null;
    if (own !== null) steps.push(own);
    kind = 'dense';
  } else {
    return null;
  }
  const consumers = new Map<number, GraphNode[]>();
  for (const n of graph.nodes) for (const s of n.inputs) consumers.set(s.id, [...(consumers.get(s.id) ?? []), n]);
  const outputIds = new Set(graph.outputs.map((o) => o.id));
  const head: GraphNode[] = [first];
  let t = first.outputs[0]!;
  for (;;) {
    const cs = consumers.get(t.id) ?? [];
    if (cs.length !== 1 || outputIds.has(t.id)) return null;
    const n = cs[0]!;
    if (n.inputs.length !== 1 || graph.shared.has(n.layer)) return null;
    head.push(n);
    const cls = n.layer.getClassName();
    const li = internals(n.layer);
    if (kind === 'conv' ? plainConv(n.layer) : plainDense(n)) {
      const idx = graph.nodes.indexOf(n);
      const rest = graph.nodes.slice(idx + 1).filter((r) => cut.suffix.includes(r));
      const made = new Set([n, ...rest].flatMap((r) => r.outputs.map((o) => o.id)));
      const restInputs = [...new Set(rest.flatMap((r) => r.inputs.map((i) => i.id)).filter((id) => !made.has(id)))];
      // Every searched layer must sit on the path, before the next layer.
      if (![...groupLayers].every((name) => head.slice(0, -1).some((hn) => hn.layer.name === name))) return null;
      const nextAct = li.activation;
      return {
        kind,
        searched: first,
        kernel: i0.kernel!.read(),
        bias: i0.bias?.read() ?? null,
        head,
        steps,
        pathOut: t,
        next: n,
        nextKernel: li.kernel!.read(),
        nextStrides: pair(li.strides, 1),
        nextPadding: li.padding === 'valid' ? 'valid' : 'same',
        nextBias: kind === 'dense' ? (li.bias?.read() ?? null) : null,
        nextActivation: kind === 'dense' && !isLinear(n.layer) && nextAct ? (x) => nextAct.apply(x) : null,
        rest,
        restInputs,
        outputs: graph.outputs,
      };
    }
    const rank = t.shape.length;
    if (kind === 'conv' && cls === 'AveragePooling2D' && (li.dataFormat ?? 'channelsLast') === 'channelsLast') {
      const padding = li.padding === 'same' ? 'same' : 'valid';
      steps.push({ kind: 'avgPool', poolSize: pair(li.poolSize, 2), strides: pair(li.strides, 2), padding });
    } else if (cls === 'BatchNormalization' && (li.axis === -1 || li.axis === rank - 1)) {
      steps.push({ kind: 'batchNorm', gamma: li.gamma?.read() ?? null, beta: li.beta?.read() ?? null, epsilon: li.epsilon ?? 1e-3 });
    } else if (cls === 'ReLU' && (n.layer as unknown as { maxValue?: number | null }).maxValue == null) {
      steps.push({ kind: 'activation', apply: (x) => tf.relu(x) });
    } else if (cls === 'Activation') {
      const step = activationStep(n.layer);
      if (step === 'unsupported') return null;
      if (step !== null) steps.push(step);
    } else if (declaredElementwise(n)) {
      steps.push({ kind: 'activation', apply: (x) => [n.layer.apply(x, { ...n.kwargs, training: true })].flat()[0]! });
    } else {
      return null;
    }
    t = n.outputs[0]!;
  }
}
