/**
 * A network trained directly on its error rate, on real MNIST: the 0-1 loss (the share of wrong arg-max
 * answers), which has no gradient, against cross-entropy with the same network, seed and batches.
 *
 *   npx tsx examples/benchmarks/zero-one-mnist.ts [--loss zero-one|crossentropy] [--train-limit 10000]
 *     [--batch-size 1000] [--hidden 16] [--cycles 3] [--time-budget 600] [--seed 42] [--out out/zero-one-mnist]
 *
 * The network: 2×2 average pooling (28×28 → 14×14), then 196 → hidden (tanh) → 10, trained with `rso.fit` on
 * the first `--train-limit` training images (model engine, wasm). The 0-1 loss reads only the arg-max, so its
 * output layer is linear; the cross-entropy run ends in a softmax. Test accuracy on all 10,000 test images
 * after every cycle. Writes <out>-<loss>.json.
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../../src/index.js';
import type { LossSpec } from '../../src/index.js';
import { mnistMean, mnistToTensors } from '../../src/node/index.js';
import { loadMnist } from '../lib/smoke.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';

/** The 0-1 loss per example: 1 where the arg-max of the output is not the true class. */
const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');

/** Parses the command line; errors name the flag. */
function parseFlags() {
  const { values } = parseArgs({
    options: {
      loss: { type: 'string', default: 'zero-one' },
      'train-limit': { type: 'string', default: '10000' },
      'batch-size': { type: 'string', default: '1000' },
      hidden: { type: 'string', default: '16' },
      cycles: { type: 'string', default: '3' },
      'time-budget': { type: 'string', default: '600' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string', default: 'out/zero-one-mnist' },
    },
  });
  if (values.loss !== 'zero-one' && values.loss !== 'crossentropy') throw new RangeError(`--loss must be zero-one or crossentropy, got ${String(values.loss)}`);
  return {
    loss: values.loss,
    trainLimit: intFlag('train-limit', values['train-limit'], 1),
    batchSize: intFlag('batch-size', values['batch-size'], 1),
    hidden: intFlag('hidden', values.hidden, 1),
    cycles: intFlag('cycles', values.cycles, 1),
    timeBudget: intFlag('time-budget', values['time-budget'], 1),
    seed: intFlag('seed', values.seed, 0),
    out: values.out!,
  };
}

/** 2×2 average pooling, 196 → hidden (tanh) → 10, with a softmax only when asked. */
function buildNet(hidden: number, seed: number, softmax: boolean): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.averagePooling2d({ inputShape: [28, 28, 1], poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: hidden, activation: 'tanh', kernelInitializer: tfl.initializers.glorotNormal({ seed }) }),
      tfl.layers.dense({ units: 10, activation: softmax ? 'softmax' : 'linear', kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) }),
    ],
  });
}

/** Test accuracy: the share of arg-max answers that match the label. */
const accuracy = (model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) =>
  tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(x, { batchSize: 2000 }) as tf.Tensor, -1), tf.argMax(y, -1)), 'float32')).dataSync()[0]!);

async function main(): Promise<void> {
  const flags = parseFlags();
  const backend = await useWasmOrCpu();
  const data = await loadMnist({ trainLimit: flags.trainLimit });
  const mean = mnistMean(data);
  const train = mnistToTensors(data.train, { mean });
  const test = mnistToTensors(data.test, { mean });
  const model = buildNet(flags.hidden, flags.seed, flags.loss === 'crossentropy');
  const opt = new RSOOptimizer({ seed: flags.seed, cycles: flags.cycles });
  const loss: LossSpec = flags.loss === 'zero-one' ? errorRate : 'categoricalCrossentropy';
  model.compile({ optimizer: opt, loss });
  const t0 = performance.now();
  const curve = [{ cycle: 0, step: 0, seconds: 0, testAccuracy: accuracy(model, test.xs, test.ys) }];
  const scalars = model.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);
  console.log(`${flags.loss}: ${scalars} scalars per cycle; test accuracy before training ${(100 * curve[0]!.testAccuracy).toFixed(2)}%`);
  const onEpochEnd = async (cycle: number) => {
    const point = { cycle: cycle + 1, step: opt.step, seconds: (performance.now() - t0) / 1000, testAccuracy: accuracy(model, test.xs, test.ys) };
    curve.push(point);
    console.log(`cycle ${point.cycle}: ${point.step} steps, ${point.seconds.toFixed(0)} s, test accuracy ${(100 * point.testAccuracy).toFixed(2)}%`);
  };
  const history = await opt.fit(model, train.xs, train.ys, {
    batchSize: flags.batchSize, cycles: flags.cycles, timeBudgetSeconds: flags.timeBudget, verbose: 0, batchNormSamples: 0, callbacks: { onEpochEnd },
  });
  const seconds = (performance.now() - t0) / 1000;
  const final = accuracy(model, test.xs, test.ys);
  console.log(`${flags.loss}: final test accuracy ${(100 * final).toFixed(2)}% (10,000 test images) after ${opt.step} steps in ${seconds.toFixed(0)} s; engine ${String(history.params['engine'])}, backend ${backend}`);
  const out = `${flags.out}-${flags.loss}`;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.json`, JSON.stringify({ date: new Date().toISOString(), backend, flags, steps: opt.step, seconds, finalTestAccuracy: final, curve, params: history.params }, null, 1));
  console.log(`wrote ${out}.json`);
  tf.dispose([train.xs, train.ys, test.xs, test.ys]);
  model.dispose();
}

await main();
