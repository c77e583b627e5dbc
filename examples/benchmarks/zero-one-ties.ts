/**
 * How often the three candidates of an RSO step tie under the 0-1 loss, by batch size: the same seeded
 * 3-class task and 8 → 8 (tanh) → 3 network as `tests/any-objective.test.ts`, 297 steps (three cycles) of
 * `rso.fit` at each batch size, on the cpu backend.
 *
 *   npx tsx examples/benchmarks/zero-one-ties.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../../src/index.js';

const STEPS = 297; // three cycles of the 99 scalars
const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');

/** 1,000 seeded examples, 8 features, labels from a fixed random map with a tanh hidden layer (seed 11). */
function data() {
  return tf.tidy(() => {
    const x = tf.randomNormal([1000, 8], 0, 1, 'float32', 11);
    const h = tf.tanh(tf.matMul(x, tf.randomNormal([8, 6], 0, 1, 'float32', 12)));
    const y = tf.cast(tf.oneHot(tf.argMax(tf.matMul(h, tf.randomNormal([6, 3], 0, 1, 'float32', 13)), 1), 3), 'float32');
    return { x, y };
  });
}

/** Trains a fresh network at one batch size; returns the steps with three equal losses and the training error. */
async function ties(batchSize: number, x: tf.Tensor, y: tf.Tensor) {
  const init = (k: number) => tfl.initializers.glorotNormal({ seed: 10 + k });
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [8], units: 8, activation: 'tanh', kernelInitializer: init(1) }), tfl.layers.dense({ units: 3, kernelInitializer: init(2) })],
  });
  const opt = new RSOOptimizer({ seed: 5, cycles: 3 });
  model.compile({ optimizer: opt, loss: errorRate });
  let tied = 0;
  const onBatchEnd = async () => {
    const l = opt.lastStepResult!.losses;
    if (l[0] === l[1] && l[0] === l[2]) tied++;
  };
  await opt.fit(model, x, y, { batchSize, maxSteps: STEPS, cycles: 100, verbose: 0, batchNormSamples: 0, callbacks: { onBatchEnd } });
  const error = tf.tidy(() => tf.mean(errorRate(y, model.predict(x) as tf.Tensor)).dataSync()[0]!);
  model.dispose();
  return { tied, error };
}

if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
const { x, y } = data();
for (const batchSize of [16, 64, 500]) {
  const r = await ties(batchSize, x, y);
  console.log(`batch ${batchSize}: ${r.tied} of ${STEPS} steps with three equal losses (w kept); training error after ${STEPS} steps ${r.error.toFixed(3)}`);
}
