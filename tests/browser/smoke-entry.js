// Trains a small model with rso.fit on the cpu backend, in whatever global scope loads it (a page or a Web
// Worker), through the built package's browser-safe main entry.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from 'tfjs-rso';

export async function train() {
  await tf.setBackend('cpu');
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
    ],
  });
  const rso = new RSOOptimizer({ seed: 1, cycles: 3 });
  model.compile({ optimizer: rso, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomNormal([96, 4], 0, 1, 'float32', 3);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.argMax(tf.slice(x, [0, 0], [-1, 3]), 1), 3), 'float32'));
  // verbose is left at its default (1): one console line per cycle, which must work without `process`.
  const history = await rso.fit(model, x, y, { batchSize: 32, cycles: 3, validationData: [x, y] });
  const result = { steps: rso.step, loss: history.history.loss, valAcc: history.history.val_acc, engine: history.params.engine, tensors: 0 };
  model.dispose();
  tf.dispose([x, y]);
  result.tensors = tf.memory().numTensors;
  return result;
}
