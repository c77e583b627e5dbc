// Requires the built package by its name as CommonJS.
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const { RSOOptimizer, normalDistribution } = require('tfjs-rso');

(async () => {
  await tf.setBackend('cpu');
  const opt = new RSOOptimizer({ seed: 1, distribution: normalDistribution() });
  if (!(opt instanceof tf.Optimizer)) throw new Error('CJS: RSOOptimizer is not a tf.Optimizer');
  const v = tf.variable(tf.tensor1d([2]));
  const loss = opt.minimize(() => tf.sum(tf.square(v)), true, [v]);
  console.log(`CJS require ok: ${RSOOptimizer.className}, loss ${loss.dataSync()[0].toFixed(4)}`);

  // Two threads from CommonJS: the worker script is found next to node.cjs.
  const { nodeWorkers, progressBar } = require('tfjs-rso/node');
  const { createMnistNet } = require('tfjs-rso/paper');
  if (typeof progressBar !== 'function' || typeof createMnistNet !== 'function') throw new Error('CJS: the node and paper entries are incomplete');
  await require('./sharded-fit.cjs')(tf, require('@tensorflow/tfjs-layers'), RSOOptimizer, nodeWorkers, 'CJS');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
