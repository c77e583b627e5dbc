/**
 * Output-layer benchmark: milliseconds per RSO step on a softmax Dense output layer, with the model engine's
 * output-layer path (logits once per step, then each candidate's cross-entropy from an updated log-sum-exp)
 * against re-running the layer for each candidate, on MLPs 32 → F (ReLU) → C (softmax) at batch 1000.
 *
 *   npx tsx examples/bench-output-layer.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../src/index.js';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import { resolveLoss } from '../src/train/losses.js';
import { useWasmOrCpu } from './lib/backend.js';

const backend = await useWasmOrCpu();
const batch = 1000;
const steps = 20;
console.log(`Output-layer benchmark, backend ${backend}, batch ${batch}, ${steps} steps each, ${new Date().toISOString()}`);
console.log('hidden F  classes C  suffix re-run ms/step  output-layer path ms/step  speed-up');
for (const [features, classes] of [[16, 10], [64, 100], [256, 1000]] as const) {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [32], units: features, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
    ],
  });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new RSOOptimizer({ seed: 1 });
  opt.bind(variables);
  const lossFn = resolveLoss('categoricalCrossentropy', 'mean');
  const x = tf.randomNormal([batch, 32], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 4), classes);
  const output = opt.weightGroups.find((g) => g.name.includes(model.layers[1]!.name))!;
  const t = output.tensors[0]!;
  const msPerStep = (loss: boolean): number => {
    const ev = createModelEvaluator(model, variables, opt.weightGroups, lossFn, loss ? { loss: { name: 'categoricalCrossentropy', reduction: 'mean' } } : {});
    ev.setBatch('bench', x, y);
    const step = (k: number) => {
      const w = ev.read(t, k);
      ev.evaluate(t, k, Float32Array.from([w, w + 0.05, w - 0.05]));
      ev.write(t, k, w + 0.001);
    };
    step(0); // the cached input
    const t0 = performance.now();
    for (let k = 1; k <= steps; k++) step(k);
    const ms = (performance.now() - t0) / steps;
    ev.dispose();
    return ms;
  };
  const suffix = msPerStep(false);
  const path = msPerStep(true);
  console.log(`${String(features).padStart(8)}  ${String(classes).padStart(9)}  ${suffix.toFixed(2).padStart(21)}  ${path.toFixed(2).padStart(25)}  ${(suffix / path).toFixed(2).padStart(7)}x`);
  model.dispose();
  tf.dispose([x, y]);
}
