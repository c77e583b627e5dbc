import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Trainee } from './trainee.js';
import { createClosureEvaluator } from '../engine/closure-evaluator.js';
import { stageCounts, stageParams } from './stage-counts.js';
import type { EarlyRejection } from '../policies/early-rejection/index.js';
import { stageBatches } from './stage-batches.js';
import { createModelEvaluator } from '../engine/model-evaluator.js';
import type { ModelEvaluator } from '../engine/model-evaluator.js';
import { shardLossScale, shardRange } from '../engine/shard-pool.js';
import type { ShardPool } from '../engine/shard-pool.js';
import type { Batch, Batcher } from './batcher.js';
import { scheduleForWorkers } from './fit-args.js';
import { forward } from './evaluate.js';
import type { FitOptions } from './fit-args.js';
import type { DataSet } from './fit-data.js';
import { LOSS_FUNCTION_REASON, perExampleReason } from './objective.js';
import type { LossSpec } from './losses.js';
import { serializeConfig } from '../config/config.js';
import type { Objective } from './objective.js';

/** Runs the steps of one mini-batch with one of the two evaluators. */
export interface BatchRunner {
  readonly engine: 'model' | 'closure';
  /** Runs the steps of batch `chunk` of `cycle`; `keepGoing` can end it early. Returns the kept loss of the last step. */
  run(cycle: number, chunk: number, keepGoing: () => boolean): number;
  /** Counters for `history.params`. */
  params(): Record<string, string | number>;
  /** Ends worker threads (cleanly, or aborting after an error); returns their errors. */
  close(failed: boolean): Promise<string[]>;
  /** Frees the evaluator's caches. */
  dispose(): void;
}

/** What the runners need from the trainer. */
export interface RunnerContext {
  readonly optimizer: Trainee;
  readonly model: LayersModel;
  readonly variables: readonly tf.Variable[];
  readonly objective: Objective;
  readonly batcher: Batcher;
  readonly options: FitOptions;
  readonly train: DataSet;
  readonly lossWeights: readonly number[];
}

const disposeBatch = (b: Batch) => tf.dispose([...b.xs, ...b.ys]);

/**
 * The closure path: the whole model per candidate, on the compiled objective plus the regularizer penalties,
 * as `model.fit` computes it.
 */
function closureRunner(ctx: RunnerContext): BatchRunner {
  const { optimizer, model, variables, objective, batcher } = ctx;
  const rule = earlyRejectionOf(ctx);
  const counts = rule === null ? undefined : stageCounts(rule.stages.length);
  return {
    engine: 'closure',
    run(cycle, chunk, keepGoing) {
      const batch = batcher.next(cycle, chunk);
      const f = () => {
        let loss = objective.loss(batch.ys, forward(model, batch.xs, true));
        for (const penalty of model.calculateLosses()) loss = tf.add(loss, penalty);
        return loss;
      };
      const prefixes = counts === undefined ? null : prefixBatches(batch);
      const evaluator = prefixes === null
        ? createClosureEvaluator(variables, f)
        : createClosureEvaluator(variables, f, {
          rows: batcher.rows(cycle, chunk), reduction: objective.reduction,
          loss: (rows) => { const p = prefixes.get(rows); return objective.perExample(p.ys, forward(model, p.xs, true)); },
        });
      try {
        const last = optimizer.runSteps(evaluator, keepGoing, counts);
        return last.losses[last.accepted]!;
      } catch (e) {
        evaluator.rollback();
        throw e;
      } finally {
        evaluator.dispose();
        prefixes?.dispose();
        disposeBatch(batch);
      }
    },
    params: () => ({ engine: 'closure', ...stageParams(counts) }),
    close: async () => [],
    dispose: () => {},
  };
}

/** The first rows of a batch, sliced when first asked and kept until `dispose`. */
function prefixBatches(batch: Batch): { get(rows: number): Batch; dispose(): void } {
  const made = new Map<number, Batch>();
  // Kept: the first use is inside a stage call's tidy.
  const prefix = (t: tf.Tensor, rows: number) => tf.keep(tf.slice(t, t.shape.map(() => 0), t.shape.map((_, i) => (i === 0 ? rows : -1))));
  return {
    get(rows) {
      let b = made.get(rows);
      if (b === undefined) {
        b = { xs: batch.xs.map((x) => prefix(x, rows)), ys: batch.ys.map((y) => prefix(y, rows)) };
        made.set(rows, b);
      }
      return b;
    },
    dispose: () => made.forEach(disposeBatch),
  };
}

/**
 * The early rejection rule of the run, or null, checked against the objective and the model.
 *
 * @throws RangeError when the loss does not give per-example values, or the model has regularizer penalties.
 */
function earlyRejectionOf(ctx: RunnerContext): EarlyRejection | null {
  const rule = ctx.optimizer.config.earlyRejection;
  if (rule === null) return null;
  checkEarlyRejection(rule, perExampleReason(ctx.objective), ctx.model, ctx.options);
  return rule;
}

function checkEarlyRejection(rule: EarlyRejection, reason: string | null, model: LayersModel, options: FitOptions): void {
  if (reason !== null) throw new RangeError(`rso.fit: earlyRejection needs one loss per example, but ${reason}. Compile the model with a loss by name, or leave earlyRejection out`);
  const penalties = tf.tidy(() => model.calculateLosses().length);
  if (penalties > 0) {
    throw new RangeError(`rso.fit: earlyRejection needs a loss that is a mean or a sum over examples, but the model has ${penalties} regularizer penalties, which are not; remove the regularizers or leave earlyRejection out`);
  }
  const workers = options.workers?.size ?? 1;
  if (rule.minExamples < workers) {
    throw new RangeError(`rso.fit: earlyRejection.minExamples (${rule.minExamples}) must be at least the number of threads (${workers}), so that every thread has a row of every stage`);
  }
}

/**
 * The runner checks that need neither a compiled model nor a bound optimizer, run before either happens, so that
 * a refused call leaves the model as it was and a corrected call can follow: with workers, losses by name, an
 * optimizer config a thread can rebuild and the pool's own check; with early rejection, its loss, penalty and
 * thread rules.
 *
 * @param optimizer - The optimizer.
 * @param model - The model, compiled or not.
 * @param losses - The loss of each output, as the model will train on it.
 * @param options - The parsed arguments.
 * @throws RangeError saying what to change.
 */
export function checkBeforeCompile(optimizer: Trainee, model: LayersModel, losses: readonly LossSpec[], options: FitOptions): void {
  const functions = losses.some((l) => typeof l === 'function');
  if (options.workers !== null) {
    if (functions) {
      throw new RangeError('rso.fit: worker threads need the loss by name (e.g. "categoricalCrossentropy"); a loss function cannot be sent to a worker thread');
    }
    try {
      serializeConfig(optimizer.config);
    } catch (e) {
      throw new RangeError(`rso.fit: worker threads need an optimizer config they can rebuild: ${(e as Error).message}`, { cause: e });
    }
    options.workers.check?.();
  }
  const rule = optimizer.config.earlyRejection;
  if (rule !== null) checkEarlyRejection(rule, functions ? LOSS_FUNCTION_REASON : null, model, options);
}

/** The model engine, on this thread alone or on shard 0 of a pool of worker threads. */
function modelRunner(ctx: RunnerContext, evaluator: ModelEvaluator, pool: ShardPool | null, shard: { lossScale: number }): BatchRunner {
  const { optimizer, batcher, options } = ctx;
  const workers = options.workers?.size ?? 1;
  const rule = optimizer.config.earlyRejection;
  const counts = rule === null ? undefined : stageCounts(rule.stages.length);
  return {
    engine: 'model',
    run(cycle, chunk, keepGoing) {
      const rows = batcher.rows(cycle, chunk);
      // Signal the workers first, so that every thread gathers its own shard at once.
      pool?.nextBatch();
      const [start, count] = shardRange(rows, 0, workers);
      shard.lossScale = shardLossScale(rows, 0, workers, options.lossReduction);
      const batch = batcher.next(cycle, chunk, start, count);
      const stages = counts === undefined ? undefined : stageBatches(batcher, cycle, chunk, 0, workers);
      try {
        evaluator.setBatch(batcher.key(cycle, chunk), batch.xs, batch.ys, rows, stages);
        const last = optimizer.runSteps(evaluator, pool === null ? keepGoing : () => pool.proceed(keepGoing()), counts);
        return last.losses[last.accepted]!;
      } finally {
        stages?.dispose();
        disposeBatch(batch);
      }
    },
    params() {
      const s = evaluator.stats();
      return {
        engine: 'model', workers, engineCacheHits: s.hits, engineCacheMisses: s.misses, engineDeltaSteps: s.deltaSteps,
        engineOutputSteps: s.outputSteps, engineBatchedSteps: s.batchedSteps, engineHeadHits: s.headHits, engineHeadMisses: s.headMisses,
        engineForwardWork: s.forwardWork,
        ...stageParams(counts),
      };
    },
    close: async (failed) => (await pool?.close(failed)) ?? [],
    dispose: () => evaluator.dispose(),
  };
}

/** The model engine for this model, or the error that says why it does not take it. */
function tryModelEvaluator(ctx: RunnerContext, shard: ShardOption | null): ModelEvaluator | Error {
  const { model, optimizer, objective, options } = ctx;
  const rule = optimizer.config.earlyRejection;
  try {
    return createModelEvaluator(model, ctx.variables, optimizer.weightGroups, objective.loss, {
      ...options.engineOptions,
      ...(objective.name === undefined ? {} : { loss: { name: objective.name, reduction: objective.reduction } }),
      ...(shard === null ? {} : { shard }),
      ...(rule === null ? {} : { perExample: objective.perExample, reduction: objective.reduction }),
    });
  } catch (e) {
    if (e instanceof RangeError) return e;
    throw e;
  }
}

/** The all-reduce of a pool, and the shard's share of the loss, which run() sets per batch (the last batch of a pass is smaller). */
type ShardOption = { readonly reducer: ShardPool['reducer']; lossScale: number };

/**
 * Picks the evaluator for `rso.fit`: the model engine (with worker threads when asked) or the closure path.
 * `engine: 'auto'` takes the model engine wherever it accepts the model (it refuses, for example, penalties it
 * cannot tie to a weight) and the closure path elsewhere.
 *
 * @throws RangeError when `engine: 'model'` or `workers` is asked for a model the engine does not take.
 */
export async function chooseRunner(ctx: RunnerContext): Promise<BatchRunner> {
  const { options, model, optimizer, objective } = ctx;
  earlyRejectionOf(ctx);
  if (options.engine === 'closure') return closureRunner(ctx);
  if (options.workers === null) {
    const evaluator = tryModelEvaluator(ctx, null);
    if (!(evaluator instanceof Error)) return modelRunner(ctx, evaluator, null, { lossScale: 1 });
    if (options.engine === 'auto') return closureRunner(ctx);
    throw evaluator;
  }
  const pool = await options.workers.start({ model, optimizer, data: ctx.train, batchSize: scheduleForWorkers(options.batchSize), shuffle: options.shuffle, losses: objective.names, lossWeights: ctx.lossWeights, lossReduction: options.lossReduction, engine: options.engineOptions });
  const shard: ShardOption = { reducer: pool.reducer, lossScale: 1 };
  const evaluator = tryModelEvaluator(ctx, shard);
  if (!(evaluator instanceof Error)) return modelRunner(ctx, evaluator, pool, shard);
  // The workers are already waiting for their first batch.
  await pool.close(true);
  throw new RangeError(`rso.fit: worker threads need the model engine, which refuses this model: ${evaluator.message}`, { cause: evaluator });
}
