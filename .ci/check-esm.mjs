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
const { nodeWorkers } = await import('tfjs-rso/node');
const { default: shardedFit } = await import('./sharded-fit.cjs');
await shardedFit(tf, tfl, RSOOptimizer, nodeWorkers, 'ESM');
