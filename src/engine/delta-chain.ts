import * as tf from '@tensorflow/tfjs-core';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { runNodes, runNodesStacked, runNodesTogether } from './graph.js';
import type { BatchStats, GraphCut, GraphLayer, GraphNode, ModelGraph } from './graph.js';

/** A per-channel layer between the searched layer and the next one. */
type ChannelStep =
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
    } else {
      return null;
    }
    t = n.outputs[0]!;
  }
}

/** A shape with its last (channel) dimension set to 1. */
const oneChannel = (shape: readonly number[]): number[] => [...shape.slice(0, -1), 1];

/**
 * Applies the per-channel path to versions of channel `co` of the searched layer's output, shaped with a last
 * dimension of 1, side by side: with shards, each BN layer exchanges the statistics of all of them at once.
 * With `co` null the versions hold every channel (the full pass of a Dense head).
 */
function channelPaths(chain: DeltaChain, xs: readonly tf.Tensor[], co: number | null, stats: BatchStats): tf.Tensor[] {
  let hs = xs.slice();
  if (hs.length === 0) return hs;
  for (const s of chain.steps) {
    if (s.kind === 'avgPool') hs = hs.map((h) => tf.avgPool(h as tf.Tensor4D, s.poolSize, s.strides, s.padding));
    else if (s.kind === 'activation') hs = hs.map((h) => s.apply(h));
    else {
      const moments = stats.moments(hs);
      const gamma = s.gamma === null || co === null ? s.gamma : tf.slice(s.gamma, [co], [1]);
      const beta = s.beta === null || co === null ? s.beta : tf.slice(s.beta, [co], [1]);
      hs = hs.map((h, i) => stats.normalize(h, moments[i]!.mean, moments[i]!.variance, beta, gamma, s.epsilon));
    }
  }
  return hs;
}

/** Output channel `c` of the searched layer, before its activation, shaped with a last dimension of 1. */
function layerChannel(chain: DeltaChain, input: tf.Tensor, c: number, stats: BatchStats): tf.Tensor {
  const z =
    chain.kind === 'conv'
      ? stats.convChannel(input as tf.Tensor4D, chain.kernel as tf.Tensor4D, c)
      : tf.matMul(input as tf.Tensor2D, tf.slice(chain.kernel, [0, c], [-1, 1]) as tf.Tensor2D);
  return chain.bias === null ? z : tf.add(z, tf.slice(chain.bias, [c], [1]));
}

/** The change of the next layer's output (before its activation) for a change `d` of its input channel `c`. */
function nextDelta(chain: DeltaChain, d: tf.Tensor, c: number): tf.Tensor {
  if (chain.kind === 'dense') return tf.matMul(d as tf.Tensor2D, tf.slice(chain.nextKernel, [c, 0], [1, -1]) as tf.Tensor2D);
  const wNext = tf.slice(chain.nextKernel, [0, 0, c, 0], [-1, -1, 1, -1]) as tf.Tensor4D;
  return tf.conv2d(d as tf.Tensor4D, wNext, chain.nextStrides, chain.nextPadding);
}

/**
 * The head of a chain on one batch chunk, kept in host memory between visits: the searched layer's output
 * (before its activation) and the per-channel path's output, channel by channel, and the next layer's output
 * (before its activation).
 *
 * @remarks Inside a layer the search visits all scalars of one output channel (a conv's channel, a Dense unit)
 * before the next, so between two visits of a chunk only a channel or two change. {@link refreshHead}
 * recomputes those channels and adds their change to the next layer's output, instead of re-running the head.
 */
export interface ChainHead {
  /** Searched layer output, per channel: [batch · h · w] for a conv, [batch] for Dense. */
  readonly z: Float32Array[];
  /** Per-channel path output (the next layer's input), per channel. */
  readonly path: Float32Array[];
  /** The next layer's output, channels last. */
  readonly zNext: Float32Array;
  readonly zShape: number[];
  readonly pathShape: number[];
  readonly zNextShape: number[];
  /** Channel updates since the head was last computed in full. */
  updates: number;
  readonly bytes: number;
}

/** What {@link readInto} reads of the wasm backend: its heap, and where each tensor's data starts in it. */
interface WasmHeap {
  readonly wasm?: { readonly HEAPU8?: Uint8Array };
  readonly dataIdMap?: { get(id: object): { readonly memoryOffset?: unknown } | undefined };
}

/**
 * Copies the values of a float32 tensor into `target`, of the same size.
 *
 * @remarks On wasm, `dataSync` copies the data into a new array each time; for the head's 12–50 MB arrays that
 * means fresh pages to fault in and garbage to collect at every refresh. Here the values are copied straight
 * out of the wasm heap instead, when the backend exposes where they are; otherwise (other backends, or a wasm
 * backend laid out differently) through `dataSync`.
 */
function readInto(t: tf.Tensor, target: Float32Array): void {
  if (t.dtype !== 'float32' || t.size !== target.length) {
    throw new Error(`readInto: a float32 tensor of ${target.length} values expected, got ${t.dtype} [${t.shape.join(', ')}]`);
  }
  if (tf.getBackend() === 'wasm') {
    const backend = tf.backend() as unknown as WasmHeap;
    const heap = backend.wasm?.HEAPU8;
    const offset = backend.dataIdMap?.get(t.dataId)?.memoryOffset;
    if (heap !== undefined && typeof offset === 'number' && offset % 4 === 0 && offset + 4 * t.size <= heap.length) {
      target.set(new Float32Array(heap.buffer, heap.byteOffset + offset, t.size));
      return;
    }
  }
  target.set(t.dataSync() as Float32Array);
}

const channelsOf = (data: Float32Array, channels: number): Float32Array[] => {
  const n = data.length / channels;
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0, j = 0; j < n; j++) for (let c = 0; c < channels; c++) out[c]![j] = data[i++]!;
  return out;
};

/** Runs the head (searched layer → per-channel layers → next layer) on a chunk's cut and keeps it on the host. */
export function computeHead(chain: DeltaChain, cut: ReadonlyMap<number, tf.Tensor>, stats: BatchStats): ChainHead {
  // Host arrays are built inside the scope but not returned from it: tidy would walk every element.
  let head: ChainHead | null = null;
  tf.tidy(() => {
    let z: tf.Tensor;
    let path: tf.Tensor;
    let zNext: tf.Tensor;
    if (chain.kind === 'conv') {
      const values = new Map(cut);
      runNodes(chain.head, values, true, stats);
      z = values.get(chain.searched.outputs[0]!.id)!;
      path = values.get(chain.pathOut.id)!;
      zNext = values.get(chain.next.outputs[0]!.id)!;
    } else {
      // Dense layers fuse their activation, so the values before it are computed here: x·W + b, the path, and
      // the next layer's h·W' + b'.
      const x = cut.get(chain.searched.inputs[0]!.id)! as tf.Tensor2D;
      z = tf.matMul(x, chain.kernel as tf.Tensor2D);
      if (chain.bias !== null) z = tf.add(z, chain.bias);
      path = channelPaths(chain, [z], null, stats)[0]!;
      zNext = tf.matMul(path as tf.Tensor2D, chain.nextKernel as tf.Tensor2D);
      if (chain.nextBias !== null) zNext = tf.add(zNext, chain.nextBias);
    }
    const channels = z.shape[z.rank - 1]!;
    const zNextHost = new Float32Array(zNext.size);
    readInto(zNext, zNextHost);
    head = {
      z: channelsOf(z.dataSync() as Float32Array, channels),
      path: channelsOf(path.dataSync() as Float32Array, channels),
      zNext: zNextHost,
      zShape: z.shape.slice(),
      pathShape: path.shape.slice(),
      zNextShape: zNext.shape.slice(),
      updates: 0,
      bytes: 4 * (z.size + path.size + zNext.size),
    };
  });
  return head!;
}

/** Brings `head` up to date after the weights of output channels `channels` (kernel, bias or BN) changed. */
export function refreshHead(
  chain: DeltaChain,
  cut: ReadonlyMap<number, tf.Tensor>,
  head: ChainHead,
  channels: Iterable<number>,
  stats: BatchStats,
): void {
  const input = cut.get(chain.searched.inputs[0]!.id)!;
  for (const c of channels) {
    tf.tidy(() => {
      const zc = layerChannel(chain, input, c, stats);
      const newPath = channelPaths(chain, [zc], c, stats)[0]!;
      const oldPath = tf.tensor(head.path[c]!, oneChannel(head.pathShape), 'float32');
      const dNext = nextDelta(chain, tf.sub(newPath, oldPath), c);
      // Adds in float32 on the backend, as the host loop it replaces did. The arrays are rewritten in place: the
      // tensors made from them above (which the cpu backend may share) are not read again.
      readInto(tf.add(tf.tensor(head.zNext, head.zNextShape, 'float32'), dNext), head.zNext);
      readInto(zc, head.z[c]!);
      readInto(newPath, head.path[c]!);
    });
    head.updates++;
  }
}

/**
 * Losses of the candidates of one kernel scalar of the searched layer, computed as deltas.
 *
 * @remarks
 * The base pass (current weights) comes from the chunk's {@link ChainHead}. For a change δ of a conv's
 * W[kh, kw, ci, co], the searched conv's output changes only in channel co, by δ times input channel ci shifted
 * by (kh, kw); for a Dense layer's W[ci, co], unit co changes by δ times input feature ci (a rank-1 change).
 * That channel goes through pooling, BN (batch statistics recomputed for the channel) and activations, and the
 * next layer's output changes by a single-input-channel term: conv(Δchannel, Wnext[:, :, co, :]) for a conv,
 * the outer product Δchannel · Wnext[co, :] for Dense. Only the layers after the next one run in full, once per
 * candidate.
 */
export function chainLosses(
  chain: DeltaChain,
  cut: ReadonlyMap<number, tf.Tensor>,
  flat: number,
  current: number,
  candidates: Float32Array,
  loss: (values: ReadonlyMap<number, tf.Tensor>) => number,
  stats: BatchStats,
  head: ChainHead,
  stacked = false,
): Float64Array {
  const shape = chain.kernel.shape;
  const cout = shape[shape.length - 1]!;
  const co = flat % cout;
  const r = (flat - co) / cout;
  const out = new Float64Array(candidates.length);
  tf.tidy(() => {
    const zc = tf.tensor(head.z[co]!, oneChannel(head.zShape), 'float32');
    const oldPath = tf.tensor(head.path[co]!, oneChannel(head.pathShape), 'float32');
    const zNext = tf.tensor(head.zNext, head.zNextShape, 'float32');
    const input = cut.get(chain.searched.inputs[0]!.id)!;
    // What one unit of the weight adds to channel co: input channel ci, shifted by (kh, kw) for a conv.
    let basis: tf.Tensor;
    if (chain.kind === 'dense') {
      // A column of [batch, features]: a short strided copy, so no one-hot product (which would keep a one-hot
      // column per input feature).
      basis = tf.slice(input, [0, r], [-1, 1]);
    } else {
      const [kh, kw, cin] = shape as [number, number, number, number];
      const ci = r % cin;
      const rw = (r - ci) / cin;
      const w = rw % kw;
      const oneHot = tf.buffer([kh, kw, 1, 1]);
      oneHot.set(1, (rw - w) / kw, w, 0, 0);
      basis = tf.conv2d(stats.channel(input, ci) as tf.Tensor4D, oneHot.toTensor() as tf.Tensor4D, 1, 'same');
    }
    // The candidates that move the weight, and their channel paths side by side (one exchange per BN layer).
    const moved = Array.from(candidates.keys()).filter((k) => candidates[k]! !== current);
    const paths = channelPaths(chain, moved.map((k) => tf.add(zc, tf.mul(basis, candidates[k]! - current))), co, stats);
    const nextId = chain.next.outputs[0]!.id;
    // The next layer's output for candidate k: the kept one, plus the change of the moved channel.
    const nextFor = (k: number): tf.Tensor => {
      const i = moved.indexOf(k);
      const z = i < 0 ? zNext : tf.add(zNext, nextDelta(chain, tf.sub(paths[i]!, oldPath), co));
      return chain.nextActivation === null ? z : chain.nextActivation(z);
    };
    const startRest = (k: number): Map<number, tf.Tensor> => new Map(cut).set(nextId, nextFor(k));
    if (stacked) {
      // Batched: the candidates stacked along the batch axis, through the rest in one pass.
      const k = candidates.length;
      const values = new Map<number, tf.Tensor>();
      for (const id of chain.restInputs) values.set(id, tf.concat(Array.from({ length: k }, () => cut.get(id)!), 0));
      values.set(nextId, tf.concat(Array.from({ length: k }, (_, j) => nextFor(j)), 0));
      runNodesStacked(chain.rest, values, k, stats);
      // Each candidate's outputs: its part of the stacked ones, and from the cut those the chain does not reach.
      const parts = chain.outputs.filter((o) => values.has(o.id)).map((o) => [o.id, tf.split(values.get(o.id)!, k, 0)] as const);
      for (let j = 0; j < k; j++) out[j] = loss(new Map([...cut, ...parts.map(([id, p]) => [id, p[j]!] as const)]));
    } else if (stats.sharded) {
      // Sharded: the candidates go through the rest side by side, one exchange per BN layer for all of them.
      const rests = Array.from(candidates, (_, k) => startRest(k));
      runNodesTogether(chain.rest, rests, stats);
      rests.forEach((rest, k) => (out[k] = loss(rest)));
    } else {
      for (let k = 0; k < candidates.length; k++) {
        const rest = startRest(k);
        runNodes(chain.rest, rest, true, stats);
        out[k] = loss(rest);
      }
    }
  });
  return out;
}
