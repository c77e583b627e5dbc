/**
 * Worker thread of the sharded model engine (see `startShardWorkers`): rebuilds the model and the optimizer,
 * then runs the same RSO steps as the main thread, on its own shard of every batch, until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../optimizer/rso-optimizer.js';
import { makeBatcher } from '../train/batcher.js';
import { resolveLoss } from '../train/losses.js';
import { createModelEvaluator } from './model-evaluator.js';
import { attachReducer } from './reducer.js';
import { shardLossScale, shardRange } from './shards.js';
import type { ShardWorkerData } from './shards.js';

const d = workerData as ShardWorkerData;
const reducer = attachReducer(d.buffer, d.rank, d.size);

async function main(): Promise<void> {
  await import(d.backendPackage);
  if (!(await tf.setBackend(d.backend))) throw new Error(`cannot start the ${d.backend} backend`);
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
  const optimizer = RSOOptimizer.fromConfig(RSOOptimizer, d.optimizerConfig as tf.serialization.ConfigDict) as RSOOptimizer;
  await optimizer.setWeights(d.optimizerState.map((s) => ({ name: s.name, tensor: tf.tensor(s.data, s.shape, s.dtype) })));
  const variables = d.trainable.map(([layer, index]) => weightOf(layer, index).read() as tf.Variable);
  optimizer.bind(variables);
  const x = tf.tensor(d.x.data, d.x.shape, d.x.dtype);
  const y = tf.tensor(d.y.data, d.y.shape, d.y.dtype);
  const batcher = makeBatcher(x, y, d.batchSize, d.shuffle, optimizer.config.seed);
  const lossFn = resolveLoss(d.loss as Parameters<typeof resolveLoss>[0], d.lossReduction);
  const full = Math.min(d.batchSize, x.shape[0]!);
  const [start, count] = shardRange(full, d.rank, d.size);
  const evaluator = createModelEvaluator(model, variables, optimizer.weightGroups, (ys, ps) => lossFn(ys[0]!, ps[0]!), {
    ...(d.cacheBytes === undefined ? {} : { cacheBytes: d.cacheBytes }),
    ...(d.hostCacheBytes === undefined ? {} : { hostCacheBytes: d.hostCacheBytes }),
    ...(d.batchCandidates === undefined ? {} : { batchCandidates: d.batchCandidates }),
    loss: { name: d.loss, reduction: d.lossReduction },
    shard: { reducer, lossScale: shardLossScale(full, d.rank, d.size, d.lossReduction) },
  });
  parentPort!.postMessage({ type: 'ready' });
  while (reducer.allReduce([0])[0]! > 0) {
    const cycle = optimizer.cycle;
    const chunk = optimizer.searchState().batch % batcher.batchesPerPass;
    const [xs, ys] = batcher.next(cycle, chunk, start, count);
    try {
      evaluator.setBatch(batcher.key(cycle, chunk), [xs], [ys]);
      optimizer.runSteps(evaluator);
    } finally {
      xs.dispose();
      ys.dispose();
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
