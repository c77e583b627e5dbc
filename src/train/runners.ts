import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Trainee } from './trainee.js';
import { createClosureEvaluator } from '../engine/closure-evaluator.js';
import { createModelEvaluator } from '../engine/model-evaluator.js';
import type { ModelEvaluator } from '../engine/model-evaluator.js';
import { shardLossScale, shardRange } from '../engine/shard-pool.js';
import type { ShardPool } from '../engine/shard-pool.js';
import type { Batch, Batcher } from './batcher.js';
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
      const rows = batcher.rows(chunk);
      // Signal the workers first, so that every thread gathers its own shard at once.
      pool?.nextBatch();
      const [start, count] = shardRange(rows, 0, workers);
      shard.lossScale = shardLossScale(rows, 0, workers, options.lossReduction);
      const batch = batcher.next(cycle, chunk, start, count);
      try {
        evaluator.setBatch(batcher.key(cycle, chunk), batch.xs[0]!, batch.ys[0]!);
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
      };
    },
    close: async (failed) => (await pool?.close(failed)) ?? [],
    dispose: () => evaluator.dispose(),
  };
}

/** Whether the model engine can take this model; `'auto'` falls back to the closure path elsewhere. */
function engineSupports(model: LayersModel): boolean {
  const penalties = tf.tidy(() => model.calculateLosses().length);
  return model.inputs.length === 1 && model.outputs.length === 1 && penalties === 0;
}

/**
 * Picks the evaluator for `rso.fit`: the model engine (with worker threads when asked) or the closure path.
 *
 * @throws RangeError when `engine: 'model'` or `workers` > 1 is asked for a model the engine does not take.
 */
export async function chooseRunner(ctx: RunnerContext): Promise<BatchRunner> {
  const { options, model, optimizer, objective } = ctx;
  const supported = engineSupports(model);
  if (options.engine === 'closure' || (options.engine === 'auto' && !supported && options.workers === null)) return closureRunner(ctx);
  if (!supported) {
    throw new RangeError(`rso.fit: the model engine needs one input, one output and no regularizers (engine '${options.engine}'${options.workers === null ? '' : ', with workers'}); use engine 'closure'`);
  }
  const pool =
    options.workers === null
      ? null
      : await options.workers.start({ model, optimizer, data: ctx.train, batchSize: options.batchSize, shuffle: options.shuffle, losses: objective.names, lossWeights: ctx.lossWeights, lossReduction: options.lossReduction, engine: options.engineOptions });
  const shard = { reducer: pool?.reducer, lossScale: 1 };
  try {
    const evaluator = createModelEvaluator(model, ctx.variables, optimizer.weightGroups, (yt, yp) => objective.loss([yt], [yp]), {
      ...options.engineOptions,
      ...(objective.name === undefined ? {} : { loss: { name: objective.name, reduction: objective.reduction } }),
      // The shard's share of the loss changes with the batch (the last batch of a pass is smaller): run() sets it.
      ...(pool === null ? {} : { shard: shard as { reducer: ShardPool['reducer']; lossScale: number } }),
    });
    return modelRunner(ctx, evaluator, pool, shard);
  } catch (e) {
    // The workers are already waiting for their first batch.
    await pool?.close(true);
    throw e;
  }
}
