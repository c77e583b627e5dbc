import * as tf from '@tensorflow/tfjs-core';
import { RSOOptimizer, randomSubset } from '../../src/index.js';
import { nodeWorkers } from '../../src/node/index.js';
import { createMnistNet } from '../../src/paper/index.js';

/** Milliseconds and steps of one `rso.fit` per searched group, and the time before training began. */
export interface ThreadRun {
  readonly perGroup: Map<string, { ms: number; steps: number }>;
  readonly setupMs: number;
}

/**
 * `fit` callbacks that time each step and sum the milliseconds and steps per searched group of `optimizer`
 * into `perGroup`.
 */
export function groupTimer(optimizer: RSOOptimizer) {
  const perGroup = new Map<string, { ms: number; steps: number }>();
  let group = '';
  let t = 0;
  const callbacks = {
    onBatchBegin: async () => {
      group = optimizer.currentGroup();
      t = performance.now();
    },
    onBatchEnd: async () => {
      const g = perGroup.get(group) ?? { ms: 0, steps: 0 };
      perGroup.set(group, { ms: g.ms + performance.now() - t, steps: g.steps + 1 });
    },
  };
  return { perGroup, callbacks };
}

/** What {@link threadFit} runs: one cycle over `fraction` of each group's scalars, on `chunks` batches of random data. */
export interface ThreadFitArgs {
  readonly threads: number;
  readonly fraction: number;
  readonly chunks: number;
  readonly batch: number;
}

/**
 * One `rso.fit` cycle of the paper's MNIST network (seeded), visiting `fraction` of every group's scalars
 * (randomSubset), with `threads` threads, timed per step and summed per group. The times include everything
 * `fit` does per step, cache misses of the chunks included.
 */
export async function threadFit({ threads, fraction, chunks, batch }: ThreadFitArgs): Promise<ThreadRun> {
  const m = createMnistNet({ seed: 1 });
  const o = new RSOOptimizer({ seed: 1, coordinates: randomSubset({ fraction }) });
  const xs = tf.randomNormal([batch * chunks, 28, 28, 1], 0, 1, 'float32', 5);
  const ys = tf.oneHot(tf.randomUniform([batch * chunks], 0, 10, 'int32', 6), 10);
  const timer = groupTimer(o);
  let trainBegin = 0;
  const t0 = performance.now();
  try {
    await o.fit(m, xs, ys, {
      batchSize: batch,
      cycles: 1,
      verbose: 0,
      batchNormSamples: 0,
      loss: 'categoricalCrossentropy',
      workers: nodeWorkers(threads),
      callbacks: { ...timer.callbacks, onTrainBegin: async () => void (trainBegin = performance.now()) },
    });
  } finally {
    m.dispose();
    xs.dispose();
    ys.dispose();
  }
  return { perGroup: timer.perGroup, setupMs: trainBegin - t0 };
}
