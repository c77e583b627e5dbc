import * as tf from '@tensorflow/tfjs-core';
import { runNodes } from './graph.js';
import type { BatchStats, GraphCut, ModelGraph } from './graph.js';
import type { HostBudget } from './host-budget.js';
import type { Agree } from './shard-vote.js';
import type { Frozen } from './weight-writer.js';

/** The values of a cut's tensors on one batch, by symbolic tensor id. */
export type Cut = Map<number, tf.Tensor>;

/** A mini-batch: its key (same key ⇒ same examples), inputs and targets in the model's input and output order. */
export interface Batch {
  readonly key: string;
  readonly xs: readonly tf.Tensor[];
  readonly ys: readonly tf.Tensor[];
}

/** The cut of the current batch, cached per batch key for one group. */
export interface CutCache {
  /** The current batch, or null before the first `setBatch`. */
  readonly batch: Batch | null;
  /** Makes `batch` current; its cut is looked up on the next `current`. */
  setBatch(batch: Batch): void;
  /**
   * The values of `cut` on the current batch: from backend memory, else a host copy, else computed (and cached
   * if every shard agrees it fits).
   *
   * @throws Error when no batch was set.
   */
  current(cut: GraphCut): Cut;
  /** Drops every cached cut (the group changed); the caller resets the host budget. */
  clear(): void;
  /** Batches whose cut was served from the cache (`hits`) or computed (`misses`), and the backend bytes held now. */
  stats(): { readonly hits: number; readonly misses: number; readonly cachedBytes: number };
}

type HostCut = Map<number, { readonly data: Float32Array; readonly shape: number[] }>;

/** Runs the prefix of `c` on the model inputs `xs` (training mode, variables frozen) and keeps the cut's values. */
function computeCut(graph: ModelGraph, c: GraphCut, xs: readonly tf.Tensor[], frozen: Frozen, stats: BatchStats): Cut {
  const out = frozen(() =>
    tf.tidy(() => {
      const values = new Map<number, tf.Tensor>(graph.inputs.map((s, i) => [s.id, xs[i]!]));
      runNodes(c.prefix, values, true, stats);
      return c.cut.map((s) => tf.clone(values.get(s.id)!));
    }),
  );
  return new Map(c.cut.map((s, i) => [s.id, tf.keep(out[i]!)]));
}

/** A host copy of a cut. */
const toHost = (c: Cut): HostCut => new Map([...c].map(([id, t]) => [id, { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape }]));

/**
 * A cut cache in backend memory up to `backendBytes`, then in host memory within `host`; beyond both, cuts are
 * recomputed from the model input.
 *
 * @param graph - The model graph (its inputs feed the prefix).
 * @param backendBytes - Backend bytes of cached cuts.
 * @param host - The host budget, shared with the kept heads.
 * @param agree - The shard vote on where a computed cut goes (one all-reduce per miss).
 * @param frozen - Runs the prefix with the non-trainable variables restored after.
 * @param stats - The BN statistics of the prefix (local or all-reduced).
 */
export function createCutCache(graph: ModelGraph, backendBytes: number, host: HostBudget, agree: Agree, frozen: Frozen, stats: BatchStats): CutCache {
  let cache = new Map<string, Cut>();
  let hostCache = new Map<string, HostCut>();
  let cachedBytes = 0;
  let hits = 0;
  let misses = 0;
  let batch: Batch | null = null;
  let current: Cut | null = null;
  let currentOwned = false;

  const dropCut = (c: Cut) => c.forEach((t) => t.dispose());
  const clearCurrent = () => {
    if (current !== null && currentOwned) dropCut(current);
    current = null;
  };
  // Computes the cut of `b` and caches it where every shard agrees it fits: backend, else host, else nowhere.
  const miss = (gc: GraphCut, b: Batch): Cut => {
    misses++;
    const c = computeCut(graph, gc, b.xs, frozen, stats);
    const bytes = [...c.values()].reduce((s, t) => s + t.size * 4, 0);
    currentOwned = true;
    const [fitsBackend, fitsHost] = agree(cachedBytes + bytes <= backendBytes, host.fits(bytes));
    if (fitsBackend) {
      cache.set(b.key, c);
      cachedBytes += bytes;
      currentOwned = false;
    } else if (fitsHost) {
      hostCache.set(b.key, toHost(c));
      host.add(bytes);
    }
    current = c;
    return c;
  };

  return {
    get batch() {
      return batch;
    },
    setBatch(b) {
      clearCurrent();
      batch = b;
    },
    current(gc) {
      if (current !== null) return current;
      if (batch === null) throw new Error('model evaluator: no batch set');
      const hit = cache.get(batch.key);
      if (hit !== undefined) {
        hits++;
        current = hit;
        currentOwned = false;
        return hit;
      }
      const hostHit = hostCache.get(batch.key);
      if (hostHit !== undefined) {
        hits++;
        current = new Map([...hostHit].map(([id, h]) => [id, tf.tensor(h.data, h.shape, 'float32')]));
        currentOwned = true;
        return current;
      }
      return miss(gc, batch);
    },
    clear() {
      clearCurrent();
      cache.forEach(dropCut);
      cache = new Map();
      hostCache = new Map();
      cachedBytes = 0;
    },
    stats: () => ({ hits, misses, cachedBytes }),
  };
}
