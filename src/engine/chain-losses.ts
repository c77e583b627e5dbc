import * as tf from '@tensorflow/tfjs-core';
import { runNodes, runNodesStacked, runNodesTogether } from './graph.js';
import type { BatchStats } from './graph.js';
import { channelPaths, nextDelta, oneChannel } from './chain-head.js';
import type { ChainHead } from './chain-head.js';
import type { DeltaChain } from './delta-chain.js';

/**
 * What one unit of the searched kernel's scalar at row `r` (its flat index without the output channel) adds to
 * its output channel: input feature r for Dense; for a conv, input channel ci shifted by (kh, kw).
 */
function unitBasis(chain: DeltaChain, input: tf.Tensor, r: number, stats: BatchStats): tf.Tensor {
  if (chain.kind === 'dense') {
    // A column of [batch, features]: a short strided copy, so no one-hot product (which would keep a one-hot
    // column per input feature).
    return tf.slice(input, [0, r], [-1, 1]);
  }
  const [kh, kw, cin] = chain.kernel.shape as [number, number, number, number];
  const ci = r % cin;
  const rw = (r - ci) / cin;
  const w = rw % kw;
  const oneHot = tf.buffer([kh, kw, 1, 1]);
  oneHot.set(1, (rw - w) / kw, w, 0, 0);
  return tf.conv2d(stats.channel(input, ci) as tf.Tensor4D, oneHot.toTensor() as tf.Tensor4D, 1, 'same');
}

/**
 * How each candidate changes output channel `co` of the searched layer (before its activation), given the layer's
 * input: a tensor shaped like one channel, or null for a candidate that leaves the weights as they are.
 */
export interface ChannelChanges {
  readonly co: number;
  readonly count: number;
  of(input: tf.Tensor, stats: BatchStats): (tf.Tensor | null)[];
}

/**
 * The changes of a move within output channel `co`: the kernel weights at `rows` (flat index without the output
 * channel) from `current` to each candidate's values. A move of one weight adds δ times its unit basis (a strided
 * copy, or a one-hot conv, times δ); a larger one applies the layer to the input with the difference as its only
 * filter (zero at the rows the move leaves out).
 */
export function channelChanges(chain: DeltaChain, co: number, rows: Int32Array, current: Float32Array, candidates: readonly Float32Array[]): ChannelChanges {
  if (rows.length === 1) return unitChanges(chain, co, rows[0]!, current[0]!, candidates);
  const shape = [...chain.kernel.shape.slice(0, -1), 1];
  const size = chain.kernel.size / chain.kernel.shape[chain.kernel.rank - 1]!;
  return {
    co,
    count: candidates.length,
    of(input) {
      return candidates.map((values) => {
        if (values.every((v, i) => v === current[i])) return null;
        const diff = new Float32Array(size);
        for (let i = 0; i < rows.length; i++) diff[rows[i]!] = values[i]! - current[i]!;
        const filter = tf.tensor(diff, shape, 'float32');
        return chain.kind === 'dense' ? tf.matMul(input as tf.Tensor2D, filter as tf.Tensor2D) : tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same');
      });
    },
  };
}

/** {@link channelChanges} for a move of one weight, at row `r` of channel `co`: δ times the unit basis. */
function unitChanges(chain: DeltaChain, co: number, r: number, current: number, candidates: readonly Float32Array[]): ChannelChanges {
  return {
    co,
    count: candidates.length,
    of(input, stats) {
      const basis = unitBasis(chain, input, r, stats);
      return candidates.map((values) => (values[0] === current ? null : tf.mul(basis, values[0]! - current)));
    },
  };
}

/**
 * Losses of the candidates of a step on the searched layer's kernel (one scalar, or a block feeding one output
 * channel), computed as deltas.
 *
 * @remarks
 * The base pass (current weights) comes from the chunk's {@link ChainHead}. For a change δ of a conv's
 * W[kh, kw, ci, co], the searched conv's output changes only in channel co, by δ times input channel ci shifted
 * by (kh, kw); for a Dense layer's W[ci, co], unit co changes by δ times input feature ci (a rank-1 change).
 * That channel goes through pooling, BN (batch statistics recomputed for the channel) and activations, and the
 * next layer's output changes by a single-input-channel term: conv(Δchannel, Wnext[:, :, co, :]) for a conv,
 * the outer product Δchannel · Wnext[co, :] for Dense. Only the layers after the next one run in full, once per
 * candidate. A block move within one output channel changes that channel alone, by the layer applied with the
 * block's difference as its one filter ({@link channelChanges}).
 */
export function chainLosses(
  chain: DeltaChain,
  cut: ReadonlyMap<number, tf.Tensor>,
  changes: ChannelChanges,
  loss: (values: ReadonlyMap<number, tf.Tensor>) => number,
  stats: BatchStats,
  head: ChainHead,
  stacked = false,
): Float64Array {
  const co = changes.co;
  const out = new Float64Array(changes.count);
  tf.tidy(() => {
    const zc = tf.tensor(head.z[co]!, oneChannel(head.zShape), 'float32');
    const oldPath = tf.tensor(head.path[co]!, oneChannel(head.pathShape), 'float32');
    const zNext = tf.tensor(head.zNext, head.zNextShape, 'float32');
    const input = cut.get(chain.searched.inputs[0]!.id)!;
    const deltas = changes.of(input, stats);
    // The candidates that move the weights, and their channel paths side by side (one exchange per BN layer).
    const moved = Array.from(deltas.keys()).filter((k) => deltas[k] !== null);
    const paths = channelPaths(chain, moved.map((k) => tf.add(zc, deltas[k]!)), co, stats);
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
      const k = changes.count;
      const values = new Map<number, tf.Tensor>();
      for (const id of chain.restInputs) values.set(id, tf.concat(Array.from({ length: k }, () => cut.get(id)!), 0));
      values.set(nextId, tf.concat(Array.from({ length: k }, (_, j) => nextFor(j)), 0));
      runNodesStacked(chain.rest, values, k, stats);
      // Each candidate's outputs: its part of the stacked ones, and from the cut those the chain does not reach.
      const parts = chain.outputs.filter((o) => values.has(o.id)).map((o) => [o.id, tf.split(values.get(o.id)!, k, 0)] as const);
      for (let j = 0; j < k; j++) out[j] = loss(new Map([...cut, ...parts.map(([id, p]) => [id, p[j]!] as const)]));
    } else if (stats.sharded) {
      // Sharded: the candidates go through the rest side by side, one exchange per BN layer for all of them.
      const rests = Array.from({ length: changes.count }, (_, k) => startRest(k));
      runNodesTogether(chain.rest, rests, stats);
      rests.forEach((rest, k) => (out[k] = loss(rest)));
    } else {
      for (let k = 0; k < changes.count; k++) {
        const rest = startRest(k);
        runNodes(chain.rest, rest, true, stats);
        out[k] = loss(rest);
      }
    }
  });
  return out;
}
