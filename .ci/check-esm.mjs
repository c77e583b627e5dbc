// Imports the built package by its name (self-reference through package.json "exports") as ESM.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { RSOOptimizer, linearSchedule } from 'tfjs-rso';

await tf.setBackend('cpu');
const opt = new RSOOptimizer({ seed: 1, sigma: linearSchedule({ from: 1, to: 0.1 }) });
if (!(opt instanceof tf.Optimizer)) throw new Error('ESM: RSOOptimizer is not a tf.Optimizer');
const v = tf.variable(tf.tensor1d([2]));
const loss = opt.minimize(() => tf.sum(tf.square(v)), true, [v]);
console.log(`ESM import ok: ${RSOOptimizer.className}, loss ${loss.dataSync()[0].toFixed(4)}`);

// Two threads: the worker script must be found next to the built bundle.
const tfl = await import('@tensorflow/tfjs-layers');
const model = tfl.sequential({
  layers: [
    tfl.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, padding: 'same', useBias: false }),
    tfl.layers.batchNormalization(),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 2, activation: 'softmax' }),
  ],
});
const x = tf.randomNormal([16, 4, 4, 1], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0], 'int32'), 2);
const history = await new RSOOptimizer({ seed: 1 }).fit(model, x, y, { batchSize: 8, maxSteps: 4, verbose: 0, workers: 2 });
if (history.params.workers !== 2) throw new Error('ESM: the sharded fit did not use 2 threads');
console.log(`ESM sharded fit ok: ${history.history.loss.length} cycle log(s), 2 threads`);
