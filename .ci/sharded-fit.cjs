// A 2-thread rso.fit through the built package, shared by check-esm.mjs and check-cjs.cjs. The caller passes
// its own tfjs, RSOOptimizer and nodeWorkers (from tfjs-rso/node), since the ESM and CJS builds are separate
// module instances.
module.exports = async function shardedFit(tf, tfl, RSOOptimizer, nodeWorkers, label) {
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
  const history = await new RSOOptimizer({ seed: 1 }).fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 8, maxSteps: 4, verbose: 0, workers: nodeWorkers(2) });
  if (history.params.workers !== 2) throw new Error(`${label}: the sharded fit did not use 2 threads`);
  console.log(`${label} sharded fit ok: ${history.history.loss.length} cycle log(s), 2 threads`);
};
