/**
 * Trains the paper's MNIST network with Adam on all 60,000 training images until a target test accuracy (or a
 * time budget), and saves it as the float model that the quantisation benchmarks start from.
 *
 *   npm run bench:train-float -- [--target 0.985] [--budget 2700] [--batch-size 128] [--lr 0.002]
 *       [--lr-decay 0.85] [--eval-every 60] [--train-limit 60000] [--max-steps N] [--seed 42]
 *       [--out examples/benchmarks/weights/mnist-float]
 *
 * The learning rate is multiplied by `--lr-decay` after each epoch. Test accuracy is measured every
 * `--eval-every` training seconds and after each epoch, on all 10,000 test images, after re-estimating the BN
 * statistics from 2,000 training images (as every MNIST benchmark here does). The model is saved with those
 * re-estimated statistics, so the saved file scores the reported accuracy as loaded.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as rso from '../../src/index.js';
import { createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { FLOAT_MODEL_DIR, saveFloatModel } from '../lib/float-model.js';
import { loadMnistTensors, stopSignal, testAccuracy, trainClock } from '../lib/mnist-bench.js';
import { loadAverage } from '../lib/run-record.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: '0.985' },
    budget: { type: 'string', default: '2700' },
    'batch-size': { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.002' },
    'lr-decay': { type: 'string', default: '0.85' },
    'eval-every': { type: 'string', default: '120' },
    'train-limit': { type: 'string', default: '60000' },
    'max-steps': { type: 'string' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: FLOAT_MODEL_DIR },
  },
});
const target = positiveFlag('target', values.target);
const budgetSeconds = positiveFlag('budget', values.budget);
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const lr0 = positiveFlag('lr', values.lr);
const lrDecay = positiveFlag('lr-decay', values['lr-decay']);
const evalEvery = positiveFlag('eval-every', values['eval-every']);
const maxSteps = values['max-steps'] === undefined ? Infinity : intFlag('max-steps', values['max-steps'], 1);
const seed = intFlag('seed', values.seed, 0);
const loadStart = loadAverage();

const backend = await useWasmOrCpu();
rso.registerWasmTrainingKernels();
const data = await loadMnistTensors(intFlag('train-limit', values['train-limit'], 1));
console.log(`train float MNIST: backend ${backend}, ${data.trainCount} images, batch ${batchSize}, lr ${lr0} × ${lrDecay}/epoch, load ${loadStart.join(' ')}`);

const model = createMnistNet({ seed });
const optimizer = tf.train.adam(lr0);
const adam = optimizer as unknown as { learningRate: number };
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const clock = trainClock();
const signal = stopSignal();
const n = data.trainCount;
let steps = 0;
let epochs = 0;
let best = { accuracy: -1, steps: 0, seconds: 0 };
let nextEval = evalEvery;
const evaluate = (): number => {
  const accuracy = clock.measure(() => testAccuracy(model, data));
  console.log(`  epoch ${epochs}, step ${steps}, ${clock.train().toFixed(0)} s, lr ${adam.learningRate.toPrecision(3)}: test accuracy ${(accuracy * 100).toFixed(2)}%`);
  best = { accuracy, steps, seconds: clock.train() };
  return accuracy;
};
const going = () => clock.train() < budgetSeconds && steps < maxSteps && !signal.stopped() && best.accuracy < target;
while (going()) {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const rng = rso.createRng(seed + epochs);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let start = 0; start + batchSize <= n && going(); start += batchSize) {
    tf.tidy(() => {
      const idx = tf.tensor1d(Array.from(order.subarray(start, start + batchSize)), 'int32');
      const xs = tf.gather(data.train.xs, idx);
      const ys = tf.gather(data.train.ys, idx);
      optimizer.minimize(() => tf.mean(tfl.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar, false, vars);
    });
    steps++;
    if (steps % 20 === 0) await new Promise((r) => setImmediate(r));
    if (clock.train() >= nextEval) {
      while (nextEval <= clock.train()) nextEval += evalEvery;
      evaluate();
    }
  }
  epochs++;
  if (best.steps !== steps) evaluate();
  adam.learningRate *= lrDecay;
}
signal.release();
if (best.steps !== steps) evaluate();
// testAccuracy left the BN moving statistics re-estimated from the 2,000-image sample: save them so.
const loadEnd = loadAverage();
const command = `npm run bench:train-float -- ${process.argv.slice(2).join(' ')}`.trim();
const bytes = await saveFloatModel(model, values.out!, {
  description: 'The paper\'s MNIST network (createMnistNet) trained with Adam; BN moving statistics re-estimated from the first 2,000 training images (centred on the training mean).',
  inputMean: data.inputMean, command, backend, seed, batchSize, lr: lr0, lrDecay, trainImages: n,
  testAccuracy: best.accuracy, steps, epochs: Math.round((steps * batchSize * 100) / n) / 100, trainSeconds: Math.round(clock.train()), wallSeconds: Math.round(clock.wall()),
  loadAverageStart: loadStart, loadAverageEnd: loadEnd, date: new Date().toISOString(),
});
console.log(`saved ${values.out} (weights.bin ${bytes} bytes): test accuracy ${(best.accuracy * 100).toFixed(2)}% after ${steps} steps (${((steps * batchSize) / n).toFixed(2)} epochs), ${clock.train().toFixed(0)} s training, ${clock.wall().toFixed(0)} s wall; load ${loadEnd.join(' ')}`);
