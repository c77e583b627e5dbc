import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Trainee } from './trainee.js';
import { createClosureEvaluator } from '../engine/closure-evaluator.js';
import { createModelEvaluator } from '../engine/model-evaluator.js';
import type { ModelEvaluator } from '../engine/model-evaluator.js';
import { shardLossScale, shardRange } from '../engine/shard-pool.js';
import type { ShardPool } from '../engine/shard-pool.js';
import type { Batch, Batcher } from './batcher.js';
import { scheduleForWorkers } from './fit-args.js';
import { forward } from './evaluate.js';
import type { FitOptions } from './fit-args.js';
import type { DataSet } from './fit-data.js';
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
  return {
    engine: 'closure',
    run(cycle, chunk, keepGoing) {
      const batch = batcher.next(cycle, chunk);
      const f = () => {
        let loss = objective.loss(batch.ys, forward(model, batch.xs, true));
        for (const penalty of model.calculateLosses()) loss = tf.add(loss, penalty);
        return loss;
      };
      const evaluator = createClosureEvaluator(variables, f);
      try {
        const last = optimizer.runSteps(evaluator, keepGoing);
        return last.losses[last.accepted]!;
      } catch (e) {
        evaluator.rollback();
        throw e;
      } finally {
        evaluator.dispose();
        disposeBatch(batch);
      }
    },
    params: () => ({ engine: 'closure' }),
    close: async () => [],
    dispose: () => {},
  };
}

/** The model engine, on this thread alone or on shard 0 of a pool of worker threads. */
function modelRunner(ctx: RunnerContext, evaluator: ModelEvaluator, pool: ShardPool | null, shard: { lossScale: number }): BatchRunner {
  const { optimizer, batcher, options } = ctx;
  const workers = options.workers?.size ?? 1;
  return {
    engine: 'model',
    run(cycle, chunk, keepGoing) {
      const rows = batcher.rows(cycle, chunk);
      // Signal the workers first, so that every thread gathers its own shard at once.
      pool?.nextBatch();
      const [start, count] = shardRange(rows, 0, workers);
      shard.lossScale = shardLossScale(rows, 0, workers, options.lossReduction);
      const batch = batcher.next(cycle, chunk, start, count);
      try {
        evaluator.setBatch(batcher.key(cycle, chunk), batch.xs, batch.ys, rows);
        const last = optimizer.runSteps(evaluator, pool === null ? keepGoing : () => pool.proceed(keepGoing()));
        return last.losses[last.accepted]!;
      } finally {
        disposeBatch(batch);
      }
    },
    params() {
      const s = evaluator.stats();
      return {
        engine: 'model', workers, engineCacheHits: s.hits, engineCacheMisses: s.misses, engineDeltaSteps: s.deltaSteps,
        engineOutputSteps: s.outputSteps, engineBatchedSteps: s.batchedSteps, engineHeadHits: s.headHits, engineHeadMisses: s.headMisses,
        engineForwardWork: s.forwardWork,
      };
    },
    close: async (failed) => (await pool?.close(failed)) ?? [],
    dispose: () => evaluator.dispose(),
  };
}

/** The model engine for this model, or the error that says why it does not take it. */
function tryModelEvaluator(ctx: RunnerContext, shard: ShardOption | null): ModelEvaluator | Error {
  const { model, optimizer, objective, options } = ctx;
  try {
    return createModelEvaluator(model, ctx.variables, optimizer.weightGroups, objective.loss, {
      ...options.engineOptions,
      ...(objective.name === undefined ? {} : { loss: { name: objective.name, reduction: objective.reduction } }),
      ...(shard === null ? {} : { shard }),
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
