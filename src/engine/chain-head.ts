import * as tf from '@tensorflow/tfjs-core';
import { runNodes } from './graph.js';
import type { BatchStats } from './graph.js';
import type { DeltaChain } from './delta-chain.js';

/** A shape with its last (channel) dimension set to 1. */
export const oneChannel = (shape: readonly number[]): number[] => [...shape.slice(0, -1), 1];

/**
 * Applies the per-channel path to versions of channel `co` of the searched layer's output, shaped with a last
 * dimension of 1, side by side: with shards, each BN layer exchanges the statistics of all of them at once.
 * With `co` null the versions hold every channel (the full pass of a Dense head).
 */
export function channelPaths(chain: DeltaChain, xs: readonly tf.Tensor[], co: number | null, stats: BatchStats): tf.Tensor[] {
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
export function nextDelta(chain: DeltaChain, d: tf.Tensor, c: number): tf.Tensor {
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
