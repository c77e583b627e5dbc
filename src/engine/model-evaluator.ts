import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { WeightGroup } from '../search/weight-groups.js';
import { readLoss } from './closure-evaluator.js';
import type { CandidateEvaluator } from './evaluator.js';
import { createChannelNorm } from './channel-norm.js';
import { buildGraph, canStack, cutGraph, localStats, nestedBatchNorm, runNodes } from './graph.js';
import type { BatchStats } from './graph.js';
import { reducerStats } from './reducer.js';
import type { ShardReducer } from './reducer.js';
import { chainLosses, computeHead, matchDeltaChain, refreshHead } from './delta-chain.js';
import { matchOutputLayer, outputLosses } from './output-layer.js';
import type { OutputLayer } from './output-layer.js';
import type { ChainHead, DeltaChain } from './delta-chain.js';
import type { GraphCut, ModelGraph } from './graph.js';
import { createPenalties } from './penalties.js';
import { createWeightWriter, otherVariables, restoreVariables, snapshotVariables } from './weight-writer.js';

/** Default backend memory for cached layer inputs: 1 GiB, well inside the 4 GiB wasm heap. */
export const DEFAULT_CACHE_BYTES = 1024 ** 3;
/** Default host (JS) memory for cached layer inputs beyond the backend budget: 8 GiB of a 24 GiB machine. */
export const DEFAULT_HOST_CACHE_BYTES = 8 * 1024 ** 3;

/** Options of the model evaluator. */
export interface ModelEvaluatorOptions {
  /** Backend bytes of cached layer inputs per searched group (default 1 GiB). */
  readonly cacheBytes?: number;
  /**
   * Host bytes for further cached layer inputs, copied to the backend when used (default 8 GiB). Chunks beyond
   * both budgets are recomputed from the model input.
   */
  readonly hostCacheBytes?: number;
  /**
   * Use the delta paths where the graph allows them (default true): conv and hidden Dense chains, and a softmax
   * output layer. False always re-runs the suffix.
   */
  readonly deltas?: boolean;
  /**
   * On the conv and Dense delta paths, stack the step's candidates along the batch axis and run the layers after
   * the next conv or Dense layer once for all of them (default false: one pass per candidate, or side by side
   * with shards). BN layers normalise each candidate with its own statistics, so the losses are the same up to
   * float rounding.
   */
  readonly batchCandidates?: boolean;
  /**
   * The loss by name and its reduction, as `fit` resolved `lossFn` from them, for a model with one output. With
   * `'categoricalCrossentropy'`, a softmax Dense output layer takes its own delta path (O(batch) per candidate);
   * otherwise, and for a model with several outputs, it re-runs the suffix.
   */
  readonly loss?: { readonly name: string; readonly reduction: 'mean' | 'sum' };
  /**
   * Set when the batch is split across threads: this evaluator sees one shard, BN layers normalise with
   * whole-batch statistics through `reducer`, and a candidate's loss is the sum over shards of `lossScale`
   * times the shard's loss (`lossScale` = shard size / batch size for a mean loss, 1 for a sum).
   */
  readonly shard?: { readonly reducer: ShardReducer; readonly lossScale: number };
}

/** Counters of the model evaluator's cache. */
export interface ModelEvaluatorStats {
  /** Batches whose cut was served from the cache. */
  readonly hits: number;
  /** Batches whose cut was computed (then cached if it fitted). */
  readonly misses: number;
  /** Backend bytes held by the cache now. */
  readonly cachedBytes: number;
  /** Host bytes held by the cache now. */
  readonly hostBytes: number;
  /** Steps evaluated through the conv or Dense delta path (the rest re-ran the suffix or took the output path). */
  readonly deltaSteps: number;
  /** Steps of the softmax output layer evaluated by its own delta path. */
  readonly outputSteps: number;
  /** Delta-path steps whose candidates ran stacked in one pass (`batchCandidates`). */
  readonly batchedSteps: number;
  /** Delta-path steps whose head (searched conv → next conv) came from host memory, brought up to date. */
  readonly headHits: number;
  /** Delta-path steps that computed their head in full. */
  readonly headMisses: number;
}

/** A kept head is recomputed in full after this many channel updates, so rounding cannot drift far. */
const HEAD_REFRESH = 64;

/** A model-aware evaluator: the step's batch is set from outside, per batch. */
export interface ModelEvaluator extends CandidateEvaluator {
  /**
   * Sets the mini-batch of the next steps: its inputs and targets in the model's input and output order. `key`
   * identifies its data (same key ⇒ same examples).
   */
  setBatch(key: string, xs: readonly tf.Tensor[], ys: readonly tf.Tensor[]): void;
  /** Cache counters. */
  stats(): ModelEvaluatorStats;
  /** Frees the cache. */
  dispose(): void;
}

type Cut = Map<number, tf.Tensor>;

/**
 * The data loss of a batch: targets and predictions in the model's output order, e.g. the weighted sum over
 * outputs of each output's mean loss. The model engine adds the regularization penalties to it.
 */
export type DataLoss = (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Scalar;

/**
 * For each variable, the names of the model's layers whose weights hold it: a nested model holds the weights of
 * its layers, and a layer called both inside a nested model and directly has two owners.
 *
 * @throws RangeError for a variable that no layer of the model holds.
 */
function layerOwners(model: LayersModel, variables: readonly tf.Variable[]): string[][] {
  const owners = new Map<number, string[]>();
  for (const layer of model.layers) {
    for (const w of layer.weights) owners.set(w.read().id, [...(owners.get(w.read().id) ?? []), layer.name]);
  }
  return variables.map((v) => {
    const names = owners.get(v.id);
    if (names === undefined) throw new RangeError(`model evaluator: variable ${v.name} is not a weight of any layer of the model`);
    return names;
  });
}

/**
 * Evaluates candidates by running only the part of the model above the searched group, from cached inputs.
 *
 * @remarks While a group is searched nothing below it changes, so the tensors crossing the cut (skip
 * connections included) are computed once per batch, in training mode as in `model.fit`, and reused by every
 * later step on the same batch data. BN moving statistics do not move while searching (the trainer
 * re-estimates them before validation and at the end); training-mode losses do not depend on them.
 *
 * A candidate's loss is `lossFn(ys, outputs)` + Σ penalties, where the penalties are those of
 * `model.calculateLosses()` (kernel, bias and other weight regularizers), as `model.fit` adds them. Every
 * model input is fed to the cut; outputs the searched group does not reach are taken from it.
 *
 * @param model - A Sequential or functional model, with any number of inputs and outputs.
 * @param variables - The searched variables, in the order the search indexes them.
 * @param groups - The search's weight groups over `variables`.
 * @param lossFn - The data loss of a batch (targets and predictions in the model's output order).
 * @param options - Cache budgets, delta paths, the loss by name for a single-output model, and sharding.
 * @returns An evaluator to drive with `RSOOptimizer.runSteps` after each `setBatch`.
 * @throws RangeError for a variable no layer holds, penalties that cannot be tied to a weight, or (sharded) a
 * nested model holding a BatchNormalization layer.
 * @example
 * ```ts
 * const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
 * rso.bind(variables);
 * const ce = resolveLoss('categoricalCrossentropy', 'mean');
 * const evaluator = createModelEvaluator(model, variables, rso.weightGroups, (ys, ps) => ce(ys[0]!, ps[0]!));
 * evaluator.setBatch('batch-0', [x], [y]);
 * rso.runSteps(evaluator);
 * ```
 */
export function createModelEvaluator(
  model: LayersModel,
  variables: readonly tf.Variable[],
  groups: readonly WeightGroup[],
  lossFn: DataLoss,
  options: ModelEvaluatorOptions = {},
): ModelEvaluator {
  const budget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const hostBudget = options.hostCacheBytes ?? DEFAULT_HOST_CACHE_BYTES;
  const graph: ModelGraph = buildGraph(model);
  const weights = createWeightWriter(variables);
  const shard = options.shard;
  const norm = createChannelNorm();
  const batchStats: BatchStats = shard === undefined ? localStats(norm) : reducerStats(shard.reducer, norm);
  const others = otherVariables(variables);
  const penalties = createPenalties(model, variables);
  // Runs fn, then puts back every non-trainable variable (BN moving statistics) it changed.
  const frozen = <T>(fn: () => T): T => {
    const snap = snapshotVariables(others);
    try {
      return fn();
    } finally {
      restoreVariables(snap);
      for (const s of snap) s.saved.dispose();
    }
  };

  if (shard !== undefined) {
    const nested = nestedBatchNorm(graph);
    if (nested !== null) throw new RangeError(`sharded engine: the nested model ${nested} holds a BatchNormalization layer, which would normalise each thread's part of the batch alone; use one thread`);
  }
  // Which layers own each variable (a layer of a nested model is owned by it too), and which group each tensor belongs to.
  const ownerOf = layerOwners(model, variables);
  const groupOfTensor = new Int32Array(variables.length).fill(-1);
  groups.forEach((g, gi) => g.tensors.forEach((t) => (groupOfTensor[t] = gi)));
  const cuts = new Map<number, { cut: GraphCut; chain: DeltaChain | null; stacked: boolean; output: OutputLayer | null }>();
  const planFor = (gi: number) => {
    let c = cuts.get(gi);
    if (c === undefined) {
      const layers = new Set(groups[gi]!.tensors.flatMap((t) => ownerOf[t]!));
      const cut = cutGraph(graph, layers);
      const chain = options.deltas === false ? null : matchDeltaChain(graph, cut, layers);
      const output = options.deltas === false ? null : matchOutputLayer(graph, cut, options.loss?.name);
      c = { cut, chain, stacked: options.batchCandidates === true && chain !== null && canStack(chain.rest), output };
      cuts.set(gi, c);
    }
    return c;
  };
  const cutFor = (gi: number): GraphCut => planFor(gi).cut;

  let group = -1;
  type HostCut = Map<number, { readonly data: Float32Array; readonly shape: number[] }>;
  let cache = new Map<string, Cut>();
  let hostCache = new Map<string, HostCut>();
  let cachedBytes = 0;
  let hostBytes = 0;
  let hits = 0;
  let misses = 0;
  let deltaSteps = 0;
  let batchedSteps = 0;
  let outputSteps = 0;
  let headHits = 0;
  let headMisses = 0;
  // Heads of the delta path per chunk, and the output channels changed since the group's search began
  // (-1: a change that touches every channel).
  let heads = new Map<string, { head: ChainHead; version: number }>();
  let changes: number[] = [];
  let pending: { t: number; flat: number; before: number } | null = null;
  let batch: { key: string; xs: readonly tf.Tensor[]; ys: readonly tf.Tensor[] } | null = null;
  let current: Cut | null = null;
  let currentOwned = false;

  const dropCut = (c: Cut) => c.forEach((t) => t.dispose());
  const clearCurrent = () => {
    if (current !== null && currentOwned) dropCut(current);
    current = null;
  };
  const clearCache = () => {
    clearCurrent();
    cache.forEach(dropCut);
    cache = new Map();
    hostCache = new Map();
    heads = new Map();
    changes = [];
    cachedBytes = 0;
    hostBytes = 0;
  };

  const computeCut = (c: GraphCut, xs: readonly tf.Tensor[]): Cut => {
    const out = frozen(() =>
      tf.tidy(() => {
        const values = new Map<number, tf.Tensor>(graph.inputs.map((s, i) => [s.id, xs[i]!]));
        runNodes(c.prefix, values, true, batchStats);
        return c.cut.map((s) => tf.clone(values.get(s.id)!));
      }),
    );
    return new Map(c.cut.map((s, i) => [s.id, tf.keep(out[i]!)]));
  };

  // Every shard must take the same path (BN statistics are all-reduced inside what each path runs).
  const agree = (...fits: boolean[]): boolean[] => {
    if (shard === undefined) return fits;
    const votes = shard.reducer.allReduce(fits.map((f) => (f ? 1 : 0)));
    return Array.from(votes, (v) => v === shard.reducer.size);
  };

  const ensureCut = (gi: number): Cut => {
    if (gi !== group) {
      clearCache();
      group = gi;
    }
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
    misses++;
    const c = computeCut(cutFor(gi), batch.xs);
    const bytes = [...c.values()].reduce((s, t) => s + t.size * 4, 0);
    currentOwned = true;
    const [fitsBackend, fitsHost] = agree(cachedBytes + bytes <= budget, hostBytes + bytes <= hostBudget);
    if (fitsBackend) {
      cache.set(batch.key, c);
      cachedBytes += bytes;
      currentOwned = false;
    } else if (fitsHost) {
      hostCache.set(batch.key, new Map([...c].map(([id, t]) => [id, { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape }])));
      hostBytes += bytes;
    }
    current = c;
    return c;
  };

  // The data loss from the values of the model's outputs (those the searched group does not reach are cut values).
  const lossOf = (values: ReadonlyMap<number, tf.Tensor>): number => readLoss(lossFn(batch!.ys, graph.outputs.map((o) => values.get(o.id)!)));

  const suffixLoss = (c: GraphCut, cut: Cut): number =>
    frozen(() =>
      tf.tidy(() => {
        const values = new Map(cut);
        runNodes(c.suffix, values, true, batchStats);
        return lossOf(values);
      }),
    );

  const headFor = (chain: DeltaChain, cut: Cut): ChainHead => {
    const key = batch!.key;
    const kept = heads.get(key);
    if (kept !== undefined) {
      headHits++;
      if (kept.version < changes.length) {
        const channels = new Set(changes.slice(kept.version));
        if (channels.has(-1) || kept.head.updates + channels.size > HEAD_REFRESH) {
          const fresh = computeHead(chain, cut, batchStats);
          hostBytes += fresh.bytes - kept.head.bytes;
          kept.head = fresh;
        } else {
          refreshHead(chain, cut, kept.head, channels, batchStats);
        }
        kept.version = changes.length;
      }
      return kept.head;
    }
    headMisses++;
    const head = computeHead(chain, cut, batchStats);
    const [fits] = agree(hostBytes + head.bytes <= hostBudget);
    if (fits) {
      heads.set(key, { head, version: changes.length });
      hostBytes += head.bytes;
    }
    return head;
  };

  // Output channel of the searched group that a change of (t, flat) touches, or -1 for all of them.
  const channelOf = (t: number, flat: number): number => {
    const chain = planFor(group).chain;
    if (chain === null) return -1;
    const cout = chain.kernel.shape[chain.kernel.rank - 1]!;
    if (variables[t] === chain.kernel) return flat % cout;
    return variables[t]!.rank === 1 && variables[t]!.size === cout ? flat : -1;
  };

  // One shard's losses → the whole batch's, identical on every shard.
  const combine = (local: Float64Array): Float64Array =>
    shard === undefined ? local : shard.reducer.allReduce(local.map((l) => l * shard.lossScale));

  // The data loss of each candidate on the whole batch, by the output layer's path, a delta chain or the suffix.
  const dataLosses = (t: number, flat: number, candidates: Float32Array): Float64Array => {
    const gi = groupOfTensor[t]!;
    const cut = ensureCut(gi);
    const { chain, stacked, output } = planFor(gi);
    if (output !== null && (variables[t] === output.kernel || variables[t] === output.bias)) {
      outputSteps++;
      const h = cut.get(output.node.inputs[0]!.id)!;
      return combine(outputLosses(output, h, batch!.ys[0]!, variables[t]!, flat, weights.read(t, flat), candidates, options.loss!.reduction));
    }
    if (chain !== null && variables[t] === chain.kernel) {
      deltaSteps++;
      if (stacked) batchedSteps++;
      const local = frozen(() => {
        const head = headFor(chain, cut);
        return chainLosses(chain, cut, flat, weights.read(t, flat), candidates, lossOf, batchStats, head, stacked);
      });
      return combine(local);
    }
    const c = cutFor(gi);
    const losses = new Float64Array(candidates.length);
    for (let k = 0; k < candidates.length; k++) {
      weights.write(t, flat, candidates[k]!);
      losses[k] = suffixLoss(c, cut);
    }
    return combine(losses);
  };

  return {
    read: weights.read,
    write(t, flat, value) {
      const step = pending;
      pending = null;
      if (penalties === null) weights.write(t, flat, value);
      else {
        // `evaluate` may have left a candidate in the weight: the value before the step is the one it recorded.
        const before = step !== null && step.t === t && step.flat === flat ? step.before : weights.read(t, flat);
        weights.write(t, flat, value);
        penalties.update(t, flat, before, weights.read(t, flat));
      }
      if (group < 0 || groupOfTensor[t] !== group) return;
      if (step !== null && step.t === t && step.flat === flat && Object.is(Math.fround(value), step.before)) return;
      if (heads.size > 0) changes.push(channelOf(t, flat));
    },
    setBatch(key, xs, ys) {
      if (xs.length !== graph.inputs.length || ys.length !== graph.outputs.length) {
        throw new RangeError(`model evaluator: the model has ${graph.inputs.length} inputs and ${graph.outputs.length} outputs, the batch ${xs.length} and ${ys.length}`);
      }
      clearCurrent();
      batch = { key, xs, ys };
    },
    evaluate(t, flat, candidates) {
      const before = weights.read(t, flat);
      pending = { t, flat, before };
      // Penalties first, while the variables hold their current values; added once to the whole batch's losses.
      const penalty = penalties === null ? null : penalties.at(t, flat, before, candidates);
      const losses = dataLosses(t, flat, candidates);
      if (penalty !== null) for (let k = 0; k < losses.length; k++) losses[k]! += penalty[k]!;
      return losses;
    },
    stats: () => ({ hits, misses, cachedBytes, hostBytes, deltaSteps, outputSteps, batchedSteps, headHits, headMisses }),
    dispose() {
      clearCache();
      norm.dispose();
    },
  };
}
