/**
 * Dense-layer benchmark: milliseconds per RSO step on the Dense layers of MLPs at batch 1000, with the model
 * engine's delta paths against re-running the layers above the cut for each candidate (`deltas: false`).
 *
 * 1. Output layer: a softmax Dense output, its logits once per step, then each candidate's cross-entropy from an
 *    updated log-sum-exp; on MLPs 32 → F (ReLU) → C (softmax).
 * 2. Hidden layers: a rank-1 change of one unit, through BN and the activation, then a rank-1 change of the
 *    next layer's output; on the MNIST-shaped MLP 784 → 256 (ReLU) → BN → 256 (ReLU) → 10 (softmax). The steps
 *    walk the kernel in search order (one unit's inputs after another), with an accepted change at every step,
 *    so each step also brings the kept head up to date.
 *
 *   npx tsx examples/bench-dense.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../src/index.js';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import type { ModelEvaluatorOptions } from '../src/engine/model-evaluator.js';
import { resolveLoss } from '../src/train/losses.js';
import { useWasmOrCpu } from './lib/backend.js';

const backend = await useWasmOrCpu();
const batch = 1000;
const steps = 20;
const lossFn = resolveLoss('categoricalCrossentropy', 'mean');
const loss = { name: 'categoricalCrossentropy', reduction: 'mean' } as const;

/**
 * Milliseconds per step on the kernel of `layer`, after a first step that fills the cache. Step k visits the
 * k-th scalar in search order: input k mod IN of unit ⌊k / IN⌋.
 */
function msPerStep(model: tfl.LayersModel, layer: number, x: tf.Tensor, y: tf.Tensor, options: ModelEvaluatorOptions): number {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new RSOOptimizer({ seed: 1 });
  opt.bind(variables);
  const kernel = (model.layers[layer] as unknown as { kernel: { read(): tf.Variable } }).kernel.read();
  const t = variables.indexOf(kernel);
  const [inputs, units] = kernel.shape as [number, number];
  const flatOf = (k: number) => (k % inputs) * units + Math.floor(k / inputs);
  const ev = createModelEvaluator(model, variables, opt.weightGroups, (ys, ps) => lossFn(ys[0]!, ps[0]!), options);
  ev.setBatch('bench', [x], [y]);
  const step = (k: number) => {
    const flat = flatOf(k);
    const w = ev.read(t, flat);
    ev.evaluate(t, flat, Float32Array.from([w, w + 0.05, w - 0.05]));
    ev.write(t, flat, w + 0.001);
  };
  step(0);
  const t0 = performance.now();
  for (let k = 1; k <= steps; k++) step(k);
  const ms = (performance.now() - t0) / steps;
  ev.dispose();
  return ms;
}

const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padStart(widths[i]!)).join('  ');

console.log(`Dense-layer benchmark, backend ${backend}, batch ${batch}, ${steps} steps each, ${new Date().toISOString()}`);
console.log('\n1. Output layer (32 → F → C)');
const w1 = [8, 9, 21, 25, 8];
console.log(row(['hidden F', 'classes C', 'suffix re-run ms/step', 'output-layer path ms/step', 'speed-up'], w1));
for (const [features, classes] of [[16, 10], [64, 100], [256, 1000]] as const) {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [32], units: features, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
    ],
  });
  const x = tf.randomNormal([batch, 32], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 4), classes);
  const suffix = msPerStep(model, 1, x, y, { deltas: false });
  const path = msPerStep(model, 1, x, y, { loss });
  console.log(row([features, classes, suffix.toFixed(2), path.toFixed(2), `${(suffix / path).toFixed(2)}x`], w1));
  model.dispose();
  tf.dispose([x, y]);
}

console.log('\n2. Hidden layers (784 → 256 → BN → 256 → 10)');
const mlp = tfl.sequential({
  layers: [
    tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 5 }) }),
    tfl.layers.batchNormalization(),
    tfl.layers.dense({ units: 256, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 6 }) }),
    tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 7 }) }),
  ],
});
const x = tf.randomNormal([batch, 784], 0, 1, 'float32', 8);
const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 9), 10);
const w2 = [12, 21, 19, 8, 28];
console.log(row(['layer', 'suffix re-run ms/step', 'delta path ms/step', 'speed-up', 'kernel per cycle, delta path'], w2));
for (const [name, layer] of [['dense 1', 0], ['dense 2', 2]] as const) {
  const suffix = msPerStep(mlp, layer, x, y, { deltas: false, loss });
  const path = msPerStep(mlp, layer, x, y, { loss });
  const scalars = (mlp.layers[layer] as unknown as { kernel: { read(): tf.Tensor } }).kernel.read().size;
  console.log(row([name, suffix.toFixed(2), path.toFixed(2), `${(suffix / path).toFixed(2)}x`, `${((path * scalars) / 60000).toFixed(1)} min`], w2));
}
mlp.dispose();
tf.dispose([x, y]);
