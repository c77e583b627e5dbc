import * as tf from '@tensorflow/tfjs-core';
import type { ChannelNorm } from './channel-norm.js';
import type { BatchStats } from './graph.js';

/**
 * A blocking all-reduce between threads over a SharedArrayBuffer, for the sharded model engine.
 *
 * Every party calls {@link ShardReducer.allReduce} with vectors of the same length, in the same order. Each call
 * returns the element-wise sum over the parties, added in party order, so every party gets bit-identical sums.
 */
export interface ShardReducer {
  /** This party's index, 0 for the main thread. */
  readonly rank: number;
  /** Number of parties. */
  readonly size: number;
  /** Sums `values` over all parties (blocking); throws if any party aborted. */
  allReduce(values: ArrayLike<number>): Float64Array;
  /** Tells every party to stop: their pending and later `allReduce` calls throw. */
  abort(reason: 'main' | 'worker'): void;
  /** Who aborted, if anyone. */
  aborted(): 'main' | 'worker' | null;
}

/** Doubles a single all-reduce may carry (BN channel sums, candidate losses). */
export const REDUCER_CAPACITY = 1 << 14;

const ABORT = 0;
const WAIT_SLICE_MS = 250;

/** Allocates the shared memory of a reducer for `size` parties. */
export function allocateReducer(size: number): SharedArrayBuffer {
  const header = 8 * Math.ceil(((1 + size) * 4) / 8);
  return new SharedArrayBuffer(header + 2 * size * REDUCER_CAPACITY * 8);
}

/**
 * Attaches party `rank` to shared memory made by {@link allocateReducer}.
 *
 * @remarks Two buffers alternate between calls. A party cannot start call g + 2 before every other party has
 * posted call g + 1, which it does only after reading call g, so a buffer is never overwritten while read.
 */
export function attachReducer(buffer: SharedArrayBuffer, rank: number, size: number): ShardReducer {
  const header = 8 * Math.ceil(((1 + size) * 4) / 8);
  const ctrl = new Int32Array(buffer, 0, 1 + size);
  const data = new Float64Array(buffer, header, 2 * size * REDUCER_CAPACITY);
  let generation = Atomics.load(ctrl, 1 + rank);
  const reasonOf = (v: number) => (v === 1 ? 'main' : v === 2 ? 'worker' : null);
  const check = () => {
    const a = reasonOf(Atomics.load(ctrl, ABORT));
    if (a !== null) throw new Error(`sharded engine: stopped because ${a === 'main' ? 'the main thread' : 'a worker thread'} failed`);
  };
  return {
    rank,
    size,
    allReduce(values) {
      const n = values.length;
      if (n > REDUCER_CAPACITY) throw new RangeError(`sharded engine: ${n} values exceed the all-reduce capacity ${REDUCER_CAPACITY}`);
      check();
      generation = (generation + 1) | 0;
      const parity = generation & 1;
      const slot = (r: number) => (parity * size + r) * REDUCER_CAPACITY;
      const mine = slot(rank);
      for (let i = 0; i < n; i++) data[mine + i] = values[i]!;
      Atomics.store(ctrl, 1 + rank, generation);
      Atomics.notify(ctrl, 1 + rank);
      for (let r = 0; r < size; r++) {
        if (r === rank) continue;
        for (;;) {
          const seen = Atomics.load(ctrl, 1 + r);
          if (((seen - generation) | 0) >= 0) break;
          check();
          Atomics.wait(ctrl, 1 + r, seen, WAIT_SLICE_MS);
        }
      }
      const out = new Float64Array(n);
      for (let r = 0; r < size; r++) {
        const s = slot(r);
        for (let i = 0; i < n; i++) out[i]! += data[s + i]!;
      }
      return out;
    },
    abort(reason) {
      Atomics.compareExchange(ctrl, ABORT, 0, reason === 'main' ? 1 : 2);
      for (let r = 0; r < size; r++) Atomics.notify(ctrl, 1 + r);
    },
    aborted: () => reasonOf(Atomics.load(ctrl, ABORT)),
  };
}

/**
 * Whole-batch mean and variance from each shard's own mean and variance, through one all-reduce per call (for
 * all the tensors of the call).
 *
 * @remarks Each shard computes its two-pass moments locally (with `norm`) and posts (count, mean,
 * count · variance) in its own slot of the exchanged vector. Every thread then combines them in float64, in shard order, with the parallel
 * formula M2 = Σ M2ₖ + Σ nₖ (meanₖ − mean)², so all threads get bit-identical statistics and the float32
 * cancellation of E[x²] − mean² is avoided.
 */
export function reducerStats(reducer: ShardReducer, norm: ChannelNorm): BatchStats {
  const moments = (xs: readonly tf.Tensor[]) => {
    const locals = xs.map((x) => {
      const m = norm.moments(x);
      const count = x.size / x.shape[x.rank - 1]!;
      const local = { count, means: m.mean.dataSync(), variances: m.variance.dataSync() };
      m.mean.dispose();
      m.variance.dispose();
      return local;
    });
    // Per shard: for each tensor, [count, means (c), count · variances (c)].
    const widths = locals.map((l) => 1 + 2 * l.means.length);
    const width = widths.reduce((a, w) => a + w, 0);
    const packed = new Float64Array(reducer.size * width);
    let at = reducer.rank * width;
    for (const l of locals) {
      const c = l.means.length;
      packed[at] = l.count;
      for (let i = 0; i < c; i++) {
        packed[at + 1 + i] = l.means[i]!;
        packed[at + 1 + c + i] = l.variances[i]! * l.count;
      }
      at += 1 + 2 * c;
    }
    const all = reducer.allReduce(packed);
    let offset = 0;
    return locals.map((l) => {
      const c = l.means.length;
      let total = 0;
      const sum = new Float64Array(c);
      for (let r = 0; r < reducer.size; r++) {
        const o = r * width + offset;
        const n = all[o]!;
        total += n;
        for (let i = 0; i < c; i++) sum[i]! += n * all[o + 1 + i]!;
      }
      const mean = sum.map((v) => v / total);
      const m2 = new Float64Array(c);
      for (let r = 0; r < reducer.size; r++) {
        const o = r * width + offset;
        const n = all[o]!;
        for (let i = 0; i < c; i++) {
          const d = all[o + 1 + i]! - mean[i]!;
          m2[i]! += all[o + 1 + c + i]! + n * d * d;
        }
      }
      offset += 1 + 2 * c;
      return {
        mean: tf.tensor1d(Float32Array.from(mean)),
        variance: tf.tensor1d(Float32Array.from(m2, (v) => v / total)),
      };
    });
  };
  return { moments, normalize: norm.normalize, channel: norm.channel, convChannel: norm.convChannel, sharded: true };
}
