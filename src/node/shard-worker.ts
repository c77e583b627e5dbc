/**
 * Worker thread of the sharded model engine (see `startShardWorkers`): rebuilds the model and the search core,
 * then runs the same RSO steps as the main thread, on its own shard of every batch, until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { runBatch } from '../train/run-batch.js';
import { searchFromSnapshot } from '../search/snapshot.js';
import { describeTensor } from '../base/weight-groups.js';
import { batchSizes, makeBatcher } from '../train/batcher.js';
import { stageBatches } from '../train/stage-batches.js';
import { createPolicy } from '../policies/registry.js';
import { constantSchedule } from '../policies/schedules/index.js';
import type { Schedule } from '../policies/schedules/index.js';
import { modelObjective } from '../train/objective.js';
import { createModelEvaluator } from '../engine/model-evaluator.js';
import { attachReducer } from '../engine/reducer.js';
import { shardLossScale, shardRange } from '../engine/shard-pool.js';
import type { ShardWorkerData } from './worker-pool.js';

const d = workerData as ShardWorkerData;
const reducer = attachReducer(d.buffer, d.rank, d.size);

async function main(): Promise<void> {
  await import(d.backendPackage);
  if (!(await tf.setBackend(d.backend))) throw new Error(`cannot start the ${d.backend} backend`);
  // The user's modules register custom layer classes and policies in this thread.
  for (const m of d.modules) await import(m);
  const model = await tfl.models.modelFromJSON({ modelTopology: d.modelTopology } as Parameters<typeof tfl.models.modelFromJSON>[0]);
  const weightOf = (layer: string, index: number) => {
    const w = model.getLayer(layer).weights[index];
    if (w === undefined) throw new Error(`layer ${layer} has no weight ${index}`);
    return w;
  };
  for (const h of d.weights) {
    const w = weightOf(h.layer, h.index);
    if (w.shape.join('x') !== h.shape.join('x')) throw new Error(`weight ${w.name} has shape [${w.shape.join(', ')}], expected [${h.shape.join(', ')}]`);
    w.write(tf.tensor(h.data, h.shape, h.dtype));
  }
  const variables = d.trainable.map(([layer, index]) => weightOf(layer, index).read() as tf.Variable);
  const search = searchFromSnapshot(d.search, variables.map((v) => describeTensor(v.name, v.shape)), (i) => Float32Array.from(variables[i]!.dataSync() as Float32Array));
  // Compiling gives the model its loss functions; the optimizer is never used here.
  model.compile({ optimizer: 'sgd', loss: d.losses.length === 1 ? d.losses[0]! : [...d.losses] });
  const objective = modelObjective(model, d.lossWeights, d.lossReduction);
  const toTensor = (h: ShardWorkerData['xs'][number]) => tf.tensor(h.data, h.shape, h.dtype);
  const xs = d.xs.map(toTensor);
  const ys = d.ys.map(toTensor);
  const sizes = typeof d.batchSize === 'number' ? constantSchedule({ value: d.batchSize }) : createPolicy<Schedule>('schedule', d.batchSize, 'batchSize');
  const batcher = makeBatcher(xs, ys, batchSizes(sizes, search.config.cycles, xs[0]!.shape[0]!), d.shuffle, search.config.seed);
  // The shard's share of the loss changes with the batch (the last batch of a pass is smaller).
  const shard = { reducer, lossScale: 1 };
  const rule = search.config.earlyRejection;
  const evaluator = createModelEvaluator(model, variables, search.weightGroups, objective.loss, {
    ...d.engine,
    ...(objective.name === undefined ? {} : { loss: { name: objective.name, reduction: d.lossReduction } }),
    shard,
    ...(rule === null ? {} : { perExample: objective.perExample, reduction: d.lossReduction }),
  });
  parentPort!.postMessage({ type: 'ready' });
  const keepGoing = () => reducer.allReduce([0])[0]! > 0;
  while (reducer.allReduce([0])[0]! > 0) {
    const cycle = search.cycle;
    const chunk = search.batch % batcher.batchesPerPass(cycle);
    const rows = batcher.rows(cycle, chunk);
    const [start, count] = shardRange(rows, d.rank, d.size);
    shard.lossScale = shardLossScale(rows, d.rank, d.size, d.lossReduction);
    const batch = batcher.next(cycle, chunk, start, count);
    // With early rejection, each stage's rows are the batch's first ones, this thread taking its part of them.
    const stages = rule === null ? undefined : stageBatches(batcher, cycle, chunk, d.rank, d.size);
    try {
      evaluator.setBatch(batcher.key(cycle, chunk), batch.xs, batch.ys, rows, stages);
      // No counters here: the main thread's count the same steps and are the ones reported.
      runBatch(search, evaluator, keepGoing);
    } finally {
      stages?.dispose();
      tf.dispose([...batch.xs, ...batch.ys]);
    }
  }
  evaluator.dispose();
}

main().catch((e: unknown) => {
  // A main-thread abort is not this worker's error.
  if (reducer.aborted() === 'main') return;
  reducer.abort('worker');
  parentPort!.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
});
