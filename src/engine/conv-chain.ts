import * as tf from '@tensorflow/tfjs-core';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { runNodes, runNodesStacked, runNodesTogether } from './graph.js';
import type { BatchStats, GraphCut, GraphLayer, GraphNode, ModelGraph } from './graph.js';

/** A per-channel layer between the searched conv and the next conv. */
type ChannelStep =
  | { readonly kind: 'avgPool'; readonly poolSize: [number, number]; readonly strides: [number, number]; readonly padding: 'valid' | 'same' }
  | { readonly kind: 'batchNorm'; readonly gamma: tf.Variable | null; readonly beta: tf.Variable | null; readonly epsilon: number }
  | { readonly kind: 'relu' };

/**
 * The shape the conv delta path needs: searched Conv2D → per-channel layers → next Conv2D → rest of the graph.
 */
export interface ConvChain {
  /** The searched conv node and its kernel variable. */
  readonly conv: GraphNode;
  readonly kernel: tf.Variable;
  /** The searched conv's bias, if it has one. */
  readonly bias: tf.Variable | null;
  /** Nodes from the searched conv to the next conv, both included. */
  readonly head: readonly GraphNode[];
  readonly steps: readonly ChannelStep[];
  /** The output of the last per-channel layer (the next conv's input). */
  readonly pathOut: SymbolicTensor;
  /** The next conv node, its kernel, strides and padding. */
  readonly next: GraphNode;
  readonly nextKernel: tf.Variable;
  readonly nextStrides: [number, number];
  readonly nextPadding: 'valid' | 'same';
  /** Everything after the next conv, in topological order. */
  readonly rest: readonly GraphNode[];
  /** Tensors from the cut that `rest` reads (skip connections from below the searched conv). */
  readonly restInputs: readonly number[];
  /** The model's output. */
  readonly output: SymbolicTensor;
}

interface LayerInternals {
  readonly strides?: number[];
  readonly padding?: string;
  readonly dilationRate?: number[];
  readonly activation?: { getClassName(): string };
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
const isLinear = (l: GraphLayer) => (internals(l).activation?.getClassName() ?? 'linear') === 'Linear' || internals(l).activation?.getClassName() === 'linear';
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

/**
 * Recognises `conv → (avg pool | BN | ReLU)* → conv → …` starting at the searched conv, where every tensor on
 * the path has one consumer. Returns null when the group does not have that shape (the caller falls back to
 * re-running the suffix, which is exact for any graph).
 */
export function matchConvChain(graph: ModelGraph, cut: GraphCut, groupLayers: ReadonlySet<string>): ConvChain | null {
  const first = cut.suffix[0];
  if (first === undefined || !plainConv(first.layer)) return null;
  const i0 = internals(first.layer);
  if (pair(i0.strides, 1).some((s) => s !== 1) || i0.padding !== 'same') return null;
  const consumers = new Map<number, GraphNode[]>();
  for (const n of graph.nodes) for (const s of n.inputs) consumers.set(s.id, [...(consumers.get(s.id) ?? []), n]);
  const outputIds = new Set(graph.outputs.map((o) => o.id));
  const head: GraphNode[] = [first];
  const steps: ChannelStep[] = [];
  let t = first.outputs[0]!;
  for (;;) {
    const cs = consumers.get(t.id) ?? [];
    if (cs.length !== 1 || outputIds.has(t.id)) return null;
    const n = cs[0]!;
    if (n.inputs.length !== 1) return null;
    head.push(n);
    const cls = n.layer.getClassName();
    const li = internals(n.layer);
    if (plainConv(n.layer)) {
      const idx = graph.nodes.indexOf(n);
      const rest = graph.nodes.slice(idx + 1).filter((r) => cut.suffix.includes(r));
      const made = new Set([n, ...rest].flatMap((r) => r.outputs.map((o) => o.id)));
      const restInputs = [...new Set(rest.flatMap((r) => r.inputs.map((i) => i.id)).filter((id) => !made.has(id)))];
      // Every searched layer must sit on the path, before the next conv.
      if (![...groupLayers].every((name) => head.slice(0, -1).some((hn) => hn.layer.name === name))) return null;
      return {
        conv: first,
        kernel: i0.kernel!.read(),
        bias: i0.bias?.read() ?? null,
        head,
        steps,
        pathOut: t,
        next: n,
        nextKernel: li.kernel!.read(),
        nextStrides: pair(li.strides, 1),
        nextPadding: li.padding === 'valid' ? 'valid' : 'same',
        rest,
        restInputs,
        output: graph.outputs[0]!,
      };
    }
    if (cls === 'AveragePooling2D' && (li.dataFormat ?? 'channelsLast') === 'channelsLast') {
      const padding = li.padding === 'same' ? 'same' : 'valid';
      steps.push({ kind: 'avgPool', poolSize: pair(li.poolSize, 2), strides: pair(li.strides, 2), padding });
    } else if (cls === 'BatchNormalization' && (li.axis === -1 || li.axis === 3)) {
      steps.push({ kind: 'batchNorm', gamma: li.gamma?.read() ?? null, beta: li.beta?.read() ?? null, epsilon: li.epsilon ?? 1e-3 });
    } else if (cls === 'ReLU' || (cls === 'Activation' && internals(n.layer).activation?.getClassName().toLowerCase() === 'relu')) {
      steps.push({ kind: 'relu' });
    } else {
      return null;
    }
    t = n.outputs[0]!;
  }
}

/**
 * Applies the per-channel path to versions of one channel [B, H, W, 1] of the searched conv's output, side by
 * side: with shards, each BN layer exchanges the statistics of all of them at once.
 */
function channelPaths(chain: ConvChain, xs: readonly tf.Tensor4D[], co: number, stats: BatchStats): tf.Tensor4D[] {
  let hs = xs.slice();
  if (hs.length === 0) return hs;
  for (const s of chain.steps) {
    if (s.kind === 'avgPool') hs = hs.map((h) => tf.avgPool(h, s.poolSize, s.strides, s.padding));
    else if (s.kind === 'relu') hs = hs.map((h) => tf.relu(h));
    else {
      const moments = stats.moments(hs);
      const gamma = s.gamma === null ? null : tf.slice(s.gamma, [co], [1]);
      const beta = s.beta === null ? null : tf.slice(s.beta, [co], [1]);
      hs = hs.map((h, i) => stats.normalize(h, moments[i]!.mean, moments[i]!.variance, beta, gamma, s.epsilon) as tf.Tensor4D);
    }
  }
  return hs;
}

/**
 * The head of a chain on one batch chunk, kept in host memory between visits: the searched conv's output and
 * the per-channel path's output channel by channel, and the next conv's output.
 *
 * @remarks Inside a conv layer the search visits all scalars of one output channel before the next, so between
 * two visits of a chunk only a channel or two change. {@link refreshHead} recomputes those channels and adds
 * their change to the next conv's output, instead of re-running the whole head.
 */
export interface ChainHead {
  /** Searched conv output, per channel: [batch · h · w]. */
  readonly z: Float32Array[];
  /** Per-channel path output (the next conv's input), per channel. */
  readonly path: Float32Array[];
  /** The next conv's output, NHWC. */
  readonly zNext: Float32Array;
  readonly zShape: [number, number, number, number];
  readonly pathShape: [number, number, number, number];
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

/** Runs the head (searched conv → per-channel layers → next conv) on a chunk's cut and keeps it on the host. */
export function computeHead(chain: ConvChain, cut: ReadonlyMap<number, tf.Tensor>, stats: BatchStats): ChainHead {
  // Host arrays are built inside the scope but not returned from it: tidy would walk every element.
  let head: ChainHead | null = null;
  tf.tidy(() => {
    const values = new Map(cut);
    runNodes(chain.head, values, true, stats);
    const z = values.get(chain.conv.outputs[0]!.id)! as tf.Tensor4D;
    const path = values.get(chain.pathOut.id)! as tf.Tensor4D;
    const zNext = values.get(chain.next.outputs[0]!.id)!;
    const channels = z.shape[3];
    const zNextHost = new Float32Array(zNext.size);
    readInto(zNext, zNextHost);
    head = {
      z: channelsOf(z.dataSync() as Float32Array, channels),
      path: channelsOf(path.dataSync() as Float32Array, channels),
      zNext: zNextHost,
      zShape: z.shape,
      pathShape: path.shape,
      zNextShape: zNext.shape.slice(),
      updates: 0,
      bytes: 4 * (z.size + path.size + zNext.size),
    };
  });
  return head!;
}

/** Brings `head` up to date after the weights of output channels `channels` (kernel, bias or BN) changed. */
export function refreshHead(
  chain: ConvChain,
  cut: ReadonlyMap<number, tf.Tensor>,
  head: ChainHead,
  channels: Iterable<number>,
  stats: BatchStats,
): void {
  const b = head.zShape[0];
  const [, ph, pw] = head.pathShape;
  const input = cut.get(chain.conv.inputs[0]!.id)! as tf.Tensor4D;
  for (const c of channels) {
    tf.tidy(() => {
      let zc = stats.convChannel(input, chain.kernel as tf.Tensor4D, c);
      if (chain.bias !== null) zc = tf.add(zc, tf.slice(chain.bias, [c], [1]));
      const newPath = channelPaths(chain, [zc], c, stats)[0]!;
      const oldPath = tf.tensor4d(head.path[c]!, [b, ph, pw, 1]);
      const wNext = tf.slice(chain.nextKernel, [0, 0, c, 0], [-1, -1, 1, -1]) as tf.Tensor4D;
      const dNext = tf.conv2d(tf.sub(newPath, oldPath) as tf.Tensor4D, wNext, chain.nextStrides, chain.nextPadding);
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
 * Losses of the candidates of one conv-kernel scalar, computed as deltas.
 *
 * @remarks
 * The base pass (current weights) runs the searched conv, the per-channel layers and the next conv once, or
 * comes from a kept {@link ChainHead}. For a
 * change δ of W[kh, kw, ci, co], the searched conv's output changes only in channel co, by δ times input channel
 * ci shifted by (kh, kw). That channel goes through pooling, BN (batch statistics recomputed for the channel) and
 * ReLU, and the next conv's output changes by conv(Δchannel, Wnext[:, :, co, :]), a single-input-channel conv.
 * Only the layers after the next conv run in full, once per candidate.
 */
export function chainLosses(
  chain: ConvChain,
  cut: ReadonlyMap<number, tf.Tensor>,
  flat: number,
  current: number,
  candidates: Float32Array,
  loss: (values: Map<number, tf.Tensor>) => number,
  stats: BatchStats,
  head?: ChainHead,
  stacked = false,
): Float64Array {
  const [kh, kw, cin, cout] = chain.kernel.shape as [number, number, number, number];
  const co = flat % cout;
  let r = (flat - co) / cout;
  const ci = r % cin;
  r = (r - ci) / cin;
  const w = r % kw;
  const h = (r - w) / kw;
  const out = new Float64Array(candidates.length);
  tf.tidy(() => {
    let zc: tf.Tensor4D;
    let oldPath: tf.Tensor4D;
    let zNext: tf.Tensor;
    if (head !== undefined) {
      const [b, hh, ww] = head.zShape;
      const [, ph, pw] = head.pathShape;
      zc = tf.tensor4d(head.z[co]!, [b, hh, ww, 1]);
      oldPath = tf.tensor4d(head.path[co]!, [b, ph, pw, 1]);
      zNext = tf.tensor(head.zNext, head.zNextShape, 'float32');
    } else {
      const values = new Map(cut);
      runNodes(chain.head, values, true, stats);
      zc = stats.channel(values.get(chain.conv.outputs[0]!.id)!, co) as tf.Tensor4D;
      oldPath = stats.channel(values.get(chain.pathOut.id)!, co) as tf.Tensor4D;
      zNext = values.get(chain.next.outputs[0]!.id)!;
    }
    const input = cut.get(chain.conv.inputs[0]!.id)! as tf.Tensor4D;
    const xci = stats.channel(input, ci) as tf.Tensor4D;
    const oneHot = tf.buffer([kh, kw, 1, 1]);
    oneHot.set(1, h, w, 0, 0);
    const shifted = tf.conv2d(xci, oneHot.toTensor() as tf.Tensor4D, 1, 'same');
    const wNext = tf.slice(chain.nextKernel, [0, 0, co, 0], [-1, -1, 1, -1]) as tf.Tensor4D;
    // The candidates that move the weight, and their channel paths side by side (one exchange per BN layer).
    const moved = Array.from(candidates.keys()).filter((k) => candidates[k]! !== current);
    const paths = channelPaths(chain, moved.map((k) => tf.add(zc, tf.mul(shifted, candidates[k]! - current)) as tf.Tensor4D), co, stats);
    const nextId = chain.next.outputs[0]!.id;
    // The next conv's output for candidate k: the kept one, plus the change of the moved channel.
    const nextFor = (k: number): tf.Tensor => {
      const i = moved.indexOf(k);
      if (i < 0) return zNext;
      return tf.add(zNext, tf.conv2d(tf.sub(paths[i]!, oldPath) as tf.Tensor4D, wNext, chain.nextStrides, chain.nextPadding));
    };
    const startRest = (k: number): Map<number, tf.Tensor> => new Map(cut).set(nextId, nextFor(k));
    if (stacked) {
      // Batched: the candidates stacked along the batch axis, through the rest in one pass.
      const k = candidates.length;
      const values = new Map<number, tf.Tensor>();
      for (const id of chain.restInputs) values.set(id, tf.concat(Array.from({ length: k }, () => cut.get(id)!), 0));
      values.set(nextId, tf.concat(Array.from({ length: k }, (_, j) => nextFor(j)), 0));
      runNodesStacked(chain.rest, values, k, stats);
      tf.split(values.get(chain.output.id)!, k, 0).forEach((part, j) => (out[j] = loss(new Map([[chain.output.id, part]]))));
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
