import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { WeightGroup } from '../base/weight-groups.js';
import { readLoss } from './closure-evaluator.js';
import type { BlockEvaluator, StagedEvaluator } from './evaluator.js';
import { stageSums } from '../base/stage-sums.js';
import { createChannelNorm } from './channel-norm.js';
import type { ChannelNorm } from './channel-norm.js';
import { buildGraph, localStats, nestedBatchNorm, runNodes } from './graph.js';
import type { BatchStats, GraphCut, ModelGraph } from './graph.js';
import { reducerStats } from './reducer.js';
import { chainLosses, channelChanges } from './chain-losses.js';
import type { ChannelChanges } from './chain-losses.js';
import type { DeltaChain } from './delta-chain.js';
import { outputChange, outputLosses } from './output-layer.js';
import type { OutputChange, OutputLayer } from './output-layer.js';
import { createPenalties } from './penalties.js';
import type { Penalties } from './penalties.js';
import { createPlans } from './plans.js';
import type { Plans } from './plans.js';
import { createCutCache } from './cut-cache.js';
import type { Batch, Cut, CutCache } from './cut-cache.js';
import { createHeadCache } from './head-cache.js';
import type { HeadCache } from './head-cache.js';
import { createHostBudget } from './host-budget.js';
import type { HostBudget } from './host-budget.js';
import { shardAgree, shardCombine, shardSum } from './shard-vote.js';
import type { ShardOption } from './shard-vote.js';
import { createWeightWriter, freezeVariables, otherVariables } from './weight-writer.js';
import type { Frozen, WeightWriter } from './weight-writer.js';

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
  readonly shard?: ShardOption;
  /**
   * One loss per example (targets and predictions in the model's output order), for early rejection: the stages
   * of a step need each candidate's per-example losses. Without it, `evaluateStage` throws.
   */
  readonly perExample?: PerExampleLoss;
  /** Whether the data loss is the mean or the sum of the per-example losses (default mean). */
  readonly reduction?: 'mean' | 'sum';
}

/** One loss per example of a batch: targets and predictions in the model's output order. */
export type PerExampleLoss = (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Tensor1D;

/** A stage of the current batch, for early rejection: the inputs and targets of its rows on this shard. */
export interface StageSource {
  /** Examples in the whole batch, every shard's together. */
  readonly rows: number;
  /** This shard's part of the batch's first `rows` examples (the caller owns and disposes the tensors). */
  gather(rows: number): { readonly xs: readonly tf.Tensor[]; readonly ys: readonly tf.Tensor[] };
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
  /** Forward work so far: examples × layers evaluated, summed over candidates and cut computations (see {@link CandidateEvaluator.work}). */
  readonly forwardWork: number;
  /** Steps of the softmax output layer evaluated by its own delta path. */
  readonly outputSteps: number;
  /** Delta-path steps whose candidates ran stacked in one pass (`batchCandidates`). */
  readonly batchedSteps: number;
  /** Delta-path steps whose head (searched conv → next conv) came from host memory, brought up to date. */
  readonly headHits: number;
  /** Delta-path steps that computed their head in full. */
  readonly headMisses: number;
}

/** A model-aware evaluator: the step's batch is set from outside, per batch. */
export interface ModelEvaluator extends StagedEvaluator {
  /** Losses of a block move (any block of one tensor; see {@link BlockEvaluator}). */
  evaluateBlock: BlockEvaluator['evaluateBlock'];
  /** Sets the scalars of a block move. */
  writeBlock: BlockEvaluator['writeBlock'];
  /** Forward work so far (see {@link CandidateEvaluator.work}): the model engine always counts it. */
  work(): number;
  /**
   * Sets the mini-batch of the next steps: its inputs and targets in the model's input and output order. `key`
   * identifies its data (same key ⇒ same examples). `rows` is the whole batch's size when this evaluator sees
   * one shard of it (default: the rows of `xs`); forward work is counted in whole-batch examples. `stages` gives
   * the stages' rows, for early rejection; stage i of the batch is cached under the key `${key}/stage${i}`.
   */
  setBatch(key: string, xs: readonly tf.Tensor[], ys: readonly tf.Tensor[], rows?: number, stages?: StageSource): void;
  /** Cache counters. */
  stats(): ModelEvaluatorStats;
  /** Frees the cache. */
  dispose(): void;
}

/**
 * The data loss of a batch: targets and predictions in the model's output order, e.g. the weighted sum over
 * outputs of each output's mean loss. The model engine adds the regularization penalties to it.
 */
export type DataLoss = (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Scalar;

/** What the path dispatch reads: the evaluator's parts. */
interface Parts {
  readonly graph: ModelGraph;
  readonly variables: readonly tf.Variable[];
  readonly weights: WeightWriter;
  readonly plans: Plans;
  readonly cuts: CutCache;
  readonly heads: HeadCache;
  readonly batchStats: BatchStats;
  readonly frozen: Frozen;
  readonly combine: (local: Float64Array) => Float64Array;
  readonly sum: (local: Float64Array) => Float64Array;
  readonly lossFn: DataLoss;
  readonly perExample: PerExampleLoss | undefined;
  readonly reduction: 'mean' | 'sum' | undefined;
}

/** Counters of the paths taken, and the layers they evaluated per example. */
interface PathCounts {
  deltaSteps: number;
  outputSteps: number;
  batchedSteps: number;
  /** Layers evaluated, summed over candidates; times the batch's examples, the forward work. */
  layers: number;
}

/** The data loss of each candidate on the whole batch, by the path the group's plan allows. */
interface Paths {
  readonly counts: PathCounts;
  /**
   * Candidates of a move of group `gi` (a scalar step is a move of one scalar), with `cut` the group's cut on the
   * current batch. A move within one output channel takes that channel's delta path where there is one (a move of
   * one weight as δ times its unit; the output layer's bias too), any other move re-runs the layers above.
   */
  losses(gi: number, cut: Cut, move: EngineMove): Float64Array;
  /**
   * While set (early rejection), each candidate's per-example losses go to `record` in candidate order, and the
   * losses returned are this shard's, not combined.
   */
  recordInto(record: Float64Array[] | null): void;
}

/**
 * The data loss of each candidate of a step of group `gi` on the whole batch: by the output layer's path, a delta
 * chain, or re-running the suffix.
 */
function createPaths(p: Parts): Paths {
  const { graph, variables, weights, plans, cuts, heads, batchStats, frozen, combine } = p;
  const counts: PathCounts = { deltaSteps: 0, outputSteps: 0, batchedSteps: 0, layers: 0 };
  let record: Float64Array[] | null = null;
  const outputsOf = (values: ReadonlyMap<number, tf.Tensor>) => graph.outputs.map((o) => values.get(o.id)!);
  // The data loss from the values of the model's outputs (those the searched group does not reach are cut values);
  // while recording, per example, with the candidate's loss their sum (only stage sums are used then).
  const lossOf = (values: ReadonlyMap<number, tf.Tensor>): number => {
    if (record === null) return readLoss(p.lossFn(cuts.batch!.ys, outputsOf(values)));
    const v = Float64Array.from(p.perExample!(cuts.batch!.ys, outputsOf(values)).dataSync());
    record.push(v);
    return v.reduce((a, b) => a + b, 0);
  };
  // Shards combine a step's losses; a recorded stage is combined by the caller, as sums.
  const finish = (local: Float64Array): Float64Array => (record === null ? combine(local) : local);
  const suffixLoss = (c: GraphCut, cut: Cut): number =>
    frozen(() =>
      tf.tidy(() => {
        const values = new Map(cut);
        runNodes(c.suffix, values, true, batchStats);
        return lossOf(values);
      }),
    );
  // The suffix re-run once per candidate, `set(k)` putting candidate k into the weights.
  const bySuffix = (gi: number, cut: Cut, n: number, set: (k: number) => void): Float64Array => {
    const c = plans.get(gi).cut;
    counts.layers += n * c.suffix.length;
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      set(k);
      out[k] = suffixLoss(c, cut);
    }
    return finish(out);
  };
  const byChain = (gi: number, cut: Cut, changes: (chain: DeltaChain) => ChannelChanges): Float64Array => {
    const { chain, stacked } = plans.get(gi);
    counts.deltaSteps++;
    if (stacked) counts.batchedSteps++;
    const c = changes(chain!);
    counts.layers += c.count * (chain!.head.length + chain!.rest.length);
    const local = frozen(() => {
      const head = heads.head(cuts.batch!.key, chain!, cut);
      return chainLosses(chain!, cut, c, lossOf, batchStats, head, stacked);
    });
    return finish(local);
  };
  const byOutput = (output: OutputLayer, cut: Cut, change: OutputChange): Float64Array => {
    counts.outputSteps++;
    counts.layers += change.count;
    const h = cut.get(output.node.inputs[0]!.id)!;
    return finish(outputLosses(output, h, cuts.batch!.ys[0]!, change, p.reduction!, record));
  };
  const onChain = (gi: number, t: number) => plans.get(gi).chain?.kernel === variables[t];
  return {
    counts,
    recordInto(r) {
      record = r;
    },
    losses(gi, cut, { t, flats, current, candidates }) {
      const output = plans.get(gi).output;
      const v = variables[t]!;
      if (output !== null && v === output.bias && flats.length === 1) return byOutput(output, cut, outputChange(flats[0]!, null, current, candidates));
      const lane = channelLane(flats, v.shape[v.rank - 1]!);
      if (lane !== null && output !== null && v === output.kernel) return byOutput(output, cut, outputChange(lane.channel, lane.rows, current, candidates));
      if (lane !== null && onChain(gi, t)) return byChain(gi, cut, (chain) => channelChanges(chain, lane.channel, lane.rows, current, candidates));
      return bySuffix(gi, cut, candidates.length, (k) => weights.writeMany(t, flats, candidates[k]!));
    },
  };
}

/** A step's move as the engine evaluates it: scalars `flats` of tensor `t`, now at `current`, set to each candidate's values. */
interface EngineMove {
  readonly t: number;
  readonly flats: Int32Array;
  readonly current: Float32Array;
  readonly candidates: readonly Float32Array[];
}

/** A scalar step as a move of one scalar: scalar `flat` of tensor `t`, now at `current`. */
function oneScalar(t: number, flat: number, current: number, candidates: Float32Array): EngineMove {
  return { t, flats: Int32Array.of(flat), current: Float32Array.of(current), candidates: Array.from(candidates, (c) => Float32Array.of(c)) };
}

/**
 * The output channel (last axis, of size `channels`) every index of `flats` lies in, with each index's row (its
 * index without the channel); null when the block spans several channels.
 */
function channelLane(flats: Int32Array, channels: number): { readonly channel: number; readonly rows: Int32Array } | null {
  const channel = flats[0]! % channels;
  const rows = new Int32Array(flats.length);
  for (let i = 0; i < flats.length; i++) {
    const f = flats[i]!;
    if (f % channels !== channel) return null;
    rows[i] = (f - channel) / channels;
  }
  return { channel, rows };
}

/** The output channels (`channelOf`, -1 for all of them) of the block's weights whose value changed, each once. */
function changedChannels(flats: Int32Array, before: Float32Array, values: Float32Array, channelOf: (flat: number) => number): Set<number> {
  const channels = new Set<number>();
  for (let i = 0; i < flats.length; i++) if (!Object.is(values[i], before[i])) channels.add(channelOf(flats[i]!));
  return channels;
}

/** The evaluator's parts, and what only the evaluator itself uses. */
interface Assembly extends Parts {
  readonly host: HostBudget;
  readonly norm: ChannelNorm;
  readonly penalties: Penalties | null;
}

/**
 * Builds the model evaluator's parts, in the order that decides which error a bad model meets first: penalties,
 * then (sharded) a nested BN model, then a variable no layer holds.
 */
function assemble(model: LayersModel, variables: readonly tf.Variable[], groups: readonly WeightGroup[], lossFn: DataLoss, options: ModelEvaluatorOptions): Assembly {
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const host = createHostBudget(options.hostCacheBytes ?? DEFAULT_HOST_CACHE_BYTES);
  const graph: ModelGraph = buildGraph(model);
  const weights = createWeightWriter(variables);
  const shard = options.shard;
  const norm = createChannelNorm();
  const batchStats: BatchStats = shard === undefined ? localStats(norm) : reducerStats(shard.reducer, norm);
  // Runs a function, then puts back every non-trainable variable (BN moving statistics) it changed.
  const frozen = freezeVariables(otherVariables(variables));
  const penalties = createPenalties(model, variables);
  if (shard !== undefined) {
    const nested = nestedBatchNorm(graph);
    if (nested !== null) throw new RangeError(`sharded engine: the nested model ${nested} holds a BatchNormalization layer, which would normalise each thread's part of the batch alone; use one thread`);
  }
  const plans = createPlans(model, graph, variables, groups, options);
  // Every shard must take the same path, so the caches vote on where their entries go.
  const agree = shardAgree(shard);
  const cuts = createCutCache(graph, cacheBytes, host, agree, frozen, batchStats);
  const heads = createHeadCache(host, agree, batchStats);
  const combine = shardCombine(shard);
  const sum = shardSum(shard);
  return {
    graph, variables, weights, plans, cuts, heads, batchStats, frozen, combine, sum, lossFn, perExample: options.perExample,
    reduction: options.loss?.reduction, host, norm, penalties,
  };
}

/** The batch of the steps and its early-rejection stages, each made the cut cache's current batch when used. */
interface StagedBatches {
  /** Sets the steps' batch, with the source of its stages (null without early rejection), and makes it current. */
  set(full: Batch, source: StageSource | null): void;
  /** Makes the full batch current again after a stage. */
  useFull(): void;
  /** Makes stage `stage` (the batch's first `rows` rows, gathered when first used) current. */
  useStage(stage: number, rows: number): void;
  /** The full batch's rows across threads. */
  rows(): number;
}

function createStagedBatches(cuts: CutCache, perExample: boolean): StagedBatches {
  let full: Batch | null = null;
  let stages: StageSource | null = null;
  // Each stage under its own key, so that the cut cache keeps its layer inputs apart from the full batch's.
  let made = new Map<number, Batch>();
  return {
    set(batch, source) {
      full = batch;
      stages = source;
      made = new Map();
      cuts.setBatch(batch);
    },
    useFull() {
      if (stages !== null && cuts.batch !== full) cuts.setBatch(full!);
    },
    useStage(stage, rows) {
      if (stages === null || full === null || !perExample) {
        throw new Error('model evaluator: evaluateStage needs a batch set with its stages and a per-example loss (options.perExample)');
      }
      let b = made.get(stage);
      if (b === undefined) {
        const { xs, ys } = stages.gather(rows);
        b = { key: `${full.key}/stage${stage}`, xs, ys };
        made.set(stage, b);
      }
      if (cuts.batch !== b) cuts.setBatch(b);
    },
    rows() {
      if (stages === null) throw new Error('model evaluator: no batch with stages set');
      return stages.rows;
    },
  };
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
  const parts = assemble(model, variables, groups, lossFn, options);
  const { graph, weights, plans, cuts, heads, host, penalties } = parts;
  const paths = createPaths(parts);
  let group = -1;
  // The move evaluated last and not yet written, with its values before the step (a scalar step's is a move of one).
  let pending: EngineMove | null = null;
  // Forward work: whole-batch examples × layers, added when a step's candidates or a batch's cut are computed.
  let examples = 0;
  let forwardWork = 0;
  const batches = createStagedBatches(cuts, parts.perExample !== undefined);
  const clear = () => {
    cuts.clear();
    heads.clear();
    host.reset();
  };
  // The losses `run` computes for a step of tensor t on the group's cut of the current batch, with their forward work.
  const onBatch = (t: number, run: (gi: number, cut: Cut) => Float64Array, rows = examples): Float64Array => {
    const gi = plans.groupOf(t);
    if (gi !== group) {
      clear();
      group = gi;
    }
    const plan = plans.get(gi);
    const misses = cuts.stats().misses;
    const cut = cuts.current(plan.cut);
    const layersBefore = paths.counts.layers;
    const losses = run(gi, cut);
    const cutLayers = cuts.stats().misses > misses ? plan.cut.prefix.length : 0;
    forwardWork += rows * (paths.counts.layers - layersBefore + cutLayers);
    return losses;
  };
  return {
    read: weights.read,
    work: () => forwardWork,
    write(t, flat, value) {
      const move = pending;
      pending = null;
      const step = move !== null && move.t === t && move.flats.length === 1 && move.flats[0] === flat ? move.current[0]! : null;
      if (penalties === null) weights.write(t, flat, value);
      else {
        // `evaluate` may have left a candidate in the weight: the value before the step is the one it recorded.
        const before = step ?? weights.read(t, flat);
        weights.write(t, flat, value);
        penalties.update(t, flat, before, weights.read(t, flat));
      }
      if (group < 0 || plans.groupOf(t) !== group) return;
      if (step !== null && Object.is(Math.fround(value), step)) return;
      if (heads.keeping()) heads.change(plans.channelOf(group, t, flat));
    },
    setBatch(key, xs, ys, rows, stageSource) {
      if (xs.length !== graph.inputs.length || ys.length !== graph.outputs.length) {
        throw new RangeError(`model evaluator: the model has ${graph.inputs.length} inputs and ${graph.outputs.length} outputs, the batch ${xs.length} and ${ys.length}`);
      }
      batches.set({ key, xs, ys }, stageSource ?? null);
      examples = rows ?? (xs[0]?.shape[0] ?? 0);
    },
    evaluate(t, flat, candidates) {
      batches.useFull();
      const before = weights.read(t, flat);
      const move = oneScalar(t, flat, before, candidates);
      pending = move;
      // Penalties first, while the variables hold their current values; added once to the whole batch's losses.
      const penalty = penalties === null ? null : penalties.at(t, flat, before, candidates);
      const losses = onBatch(t, (gi, cut) => paths.losses(gi, cut, move));
      if (penalty !== null) for (let k = 0; k < losses.length; k++) losses[k]! += penalty[k]!;
      return losses;
    },
    evaluateBlock(t, flats, candidates) {
      if (penalties !== null) throw new RangeError('model evaluator: block moves (a moves policy) do not support weight regularizers yet; remove the regularizers or the move policy');
      batches.useFull();
      const move = { t, flats, current: Float32Array.from(flats, (f) => weights.read(t, f)), candidates };
      // The suffix path leaves a candidate in the weights: the write compares with the values recorded here.
      pending = move;
      return onBatch(t, (gi, cut) => paths.losses(gi, cut, move));
    },
    writeBlock(t, flats, values) {
      const step = pending;
      pending = null;
      const before = step !== null && step.t === t && step.flats === flats ? step.current : Float32Array.from(flats, (f) => weights.read(t, f));
      weights.writeMany(t, flats, values);
      if (group < 0 || plans.groupOf(t) !== group || !heads.keeping()) return;
      for (const c of changedChannels(flats, before, values, (f) => plans.channelOf(group, t, f))) heads.change(c);
    },
    reduction: options.reduction ?? 'mean',
    batchRows: () => batches.rows(),
    evaluateStage(t, flat, candidates, stage, rows) {
      if (penalties !== null) throw new RangeError('model evaluator: early rejection cannot split the regularizer penalties over examples');
      batches.useStage(stage, rows);
      const before = weights.read(t, flat);
      const move = oneScalar(t, flat, before, candidates);
      pending = move;
      const record: Float64Array[] = [];
      paths.recordInto(record);
      try {
        onBatch(t, (gi, cut) => paths.losses(gi, cut, move), rows);
      } finally {
        paths.recordInto(null);
      }
      // The suffix path leaves a candidate in the weight: the next stage must start from the step's value.
      if (!Object.is(weights.read(t, flat), before)) weights.write(t, flat, before);
      return parts.sum(stageSums(record));
    },
    stats: () => {
      const { hits, misses, cachedBytes } = cuts.stats();
      const { deltaSteps, outputSteps, batchedSteps } = paths.counts;
      const head = heads.stats();
      return { hits, misses, cachedBytes, hostBytes: host.used, deltaSteps, outputSteps, batchedSteps, headHits: head.hits, headMisses: head.misses, forwardWork };
    },
    dispose() {
      clear();
      parts.norm.dispose();
    },
  };
}
