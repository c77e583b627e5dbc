/**
 * Long-run RSO with the paper's networks on MNIST or CIFAR-10: test accuracy after every searched layer and
 * every cycle, wall time per layer and per cycle, and checkpoints to resume a long run in several sittings.
 *
 *   npm run bench:mnist -- --batch-size 1000 --cycles 1 [--planned-cycles 50] [--seed 42]
 *   npm run bench:cifar -- --budget 1800 [--batch-size 1000] [--planned-cycles 500]
 *
 * Flags: --dataset mnist|cifar10, --batch-size, --cycles, --planned-cycles, --seed, --budget <seconds>,
 * --train-limit, --engine model|closure, --workers <threads sharing each step, default 1>, --checkpoint <dir>,
 * --out <path prefix>, --fresh (ignore a checkpoint).
 * Writes <out>.json (every measurement, the flags, the machine) and <out>.svg (accuracy and loss curves).
 * CIFAR-10 reads the binary files made by `npm run cifar:convert` from the JPEG copy: figures are labelled
 * "CIFAR-10, JPEG copy".
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, evaluateModel, reestimateBatchNorm } from '../../src/index.js';
import { cifar10ChannelMeans, cifar10ToTensors, loadCifar10, mnistMean, mnistToTensors, nodeWorkers } from '../../src/node/index.js';
import { loadMnist, smokeLimits } from '../lib/smoke.js';
import { createCifarNet, createMnistNet } from '../../src/paper/index.js';
import { resolveLoss } from '../../src/train/losses.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../lib/checkpoint.js';
import { trainingCurvesSpec, vegaLiteToSvg } from '../lib/plot.js';
import type { AccuracyPoint, LossPoint } from '../lib/plot.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    'cifar-dir': { type: 'string', default: '.cache/cifar10' },
    'batch-size': { type: 'string', default: '1000' },
    cycles: { type: 'string', default: '1' },
    'planned-cycles': { type: 'string', default: '50' },
    seed: { type: 'string', default: '42' },
    budget: { type: 'string' },
    'train-limit': { type: 'string' },
    engine: { type: 'string', default: 'model' },
    workers: { type: 'string', default: '1' },
    checkpoint: { type: 'string' },
    out: { type: 'string' },
    fresh: { type: 'boolean', default: false },
  },
});
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const cycles = intFlag('cycles', values.cycles, 1);
const workers = intFlag('workers', values.workers, 1);
const planned = intFlag('planned-cycles', values['planned-cycles'], 1);
const seed = intFlag('seed', values.seed, 0);
const dataset = values.dataset;
if (dataset !== 'mnist' && dataset !== 'cifar10') throw new RangeError(`--dataset must be mnist or cifar10, got ${dataset}`);
const trainLimit = values['train-limit'] === undefined ? undefined : intFlag('train-limit', values['train-limit'], 1);
const budget = values.budget === undefined ? undefined : Number(values.budget);
if (budget !== undefined && !(budget > 0)) throw new RangeError(`--budget must be a positive number of seconds, got ${values.budget}`);
const engine = values.engine;
if (engine !== 'model' && engine !== 'closure') throw new RangeError(`--engine must be model or closure, got ${engine}`);
const checkpointDir = values.checkpoint ?? `.cache/${dataset}-rso-b${batchSize}`;
const out = values.out ?? `out/${dataset}-rso-b${batchSize}`;
const label = dataset === 'mnist' ? 'MNIST' : 'CIFAR-10, JPEG copy';

const backend = await useWasmOrCpu();
const limits = trainLimit === undefined ? {} : { trainLimit };
let train: { xs: tf.Tensor; ys: tf.Tensor };
let test: { xs: tf.Tensor; ys: tf.Tensor };
let trainCount: number;
if (dataset === 'mnist') {
  const data = await loadMnist(limits);
  const mean = mnistMean(data);
  train = mnistToTensors(data.train, { mean });
  test = mnistToTensors(data.test, { mean });
  trainCount = data.train.count;
} else {
  const data = await loadCifar10({ dir: values['cifar-dir']!, ...smokeLimits(limits) });
  const means = cifar10ChannelMeans(data);
  train = cifar10ToTensors(data.train, { means });
  test = cifar10ToTensors(data.test, { means });
  trainCount = data.train.count;
}
const bnSample = tf.slice(train.xs, 0, 2000);

let model: tfl.LayersModel;
let optimizer: RSOOptimizer;
let log: { loss: LossPoint[]; accuracy: (AccuracyPoint & { cycle: number; group: string })[]; layers: { cycle: number; group: string; seconds: number; steps: number }[] } = {
  loss: [],
  accuracy: [],
  layers: [],
};
let secondsBefore = 0;
if (!values.fresh && hasCheckpoint(checkpointDir)) {
  const loaded = await loadCheckpoint(checkpointDir);
  model = loaded.model;
  optimizer = model.optimizer as RSOOptimizer;
  log = (loaded.extra['log'] as typeof log) ?? log;
  secondsBefore = Number(loaded.extra['seconds'] ?? 0);
  console.log(`resumed from ${checkpointDir}: step ${optimizer.step}, cycle ${optimizer.cycle}`);
} else {
  model = dataset === 'mnist' ? createMnistNet({ seed }) : createCifarNet({ seed });
  optimizer = new RSOOptimizer({ seed, cycles: planned });
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
}
optimizer.bind(model.trainableWeights.map((w) => w.read() as tf.Variable));
const meanLoss = resolveLoss('categoricalCrossentropy', 'mean');
const t0 = Date.now();
const seconds = () => secondsBefore + (Date.now() - t0) / 1000;

const testAccuracy = (): number => {
  reestimateBatchNorm(model, bnSample);
  return evaluateModel(model, test.xs, test.ys, meanLoss, 1000).acc;
};

let evalSeconds = 0;
let groupName = optimizer.currentGroup();
let groupStart = seconds();
let groupStartStep = optimizer.step;
let groupCycle = optimizer.cycle;
const closeGroup = async () => {
  // Training time of the group, measured before the (slow) test evaluation and checkpoint.
  const s = seconds();
  const acc = testAccuracy();
  log.layers.push({ cycle: groupCycle, group: groupName, seconds: s - groupStart, steps: optimizer.step - groupStartStep });
  log.accuracy.push({ step: optimizer.step, seconds: s, accuracy: acc, set: 'test (10k)', cycle: groupCycle, group: groupName });
  console.log(
    `\ncycle ${groupCycle} ${groupName}: ${optimizer.step - groupStartStep} steps in ${(s - groupStart).toFixed(0)} s; test accuracy ${(acc * 100).toFixed(2)}%`,
  );
  await saveCheckpoint(model, checkpointDir, { log, seconds: seconds() });
  groupName = optimizer.currentGroup();
  groupStart = seconds();
  evalSeconds += groupStart - s;
  groupStartStep = optimizer.step;
  groupCycle = optimizer.cycle;
};

console.log(`${label} RSO: backend ${backend}, batch ${batchSize}, ${trainCount} training images, engine ${engine}, ${workers} thread(s), seed ${seed}, planned cycles ${planned}`);
const startCycle = optimizer.cycle;
await optimizer.fit(model, train.xs, train.ys, {
  loss: 'categoricalCrossentropy',
  batchSize,
  cycles,
  engine,
  workers: nodeWorkers(workers),
  batchNormSamples: 2000,
  ...(budget === undefined ? {} : { timeBudgetSeconds: budget }),
  callbacks: {
    onBatchEnd: async (_b: number, logs?: tfl.Logs) => {
      log.loss.push({ step: optimizer.step, loss: Number(logs?.['loss']), seconds: seconds() });
      if (optimizer.currentGroup() !== groupName || optimizer.cycle !== groupCycle) await closeGroup();
    },
  },
});
if (optimizer.step > groupStartStep) await closeGroup();

const summary = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 1024 ** 3) },
  backend,
  dataset: label,
  flags: { batchSize, cycles, planned, seed, trainLimit: trainCount, engine, workers, budget },
  cyclesCompleted: optimizer.cycle,
  steps: optimizer.step,
  seconds: seconds(),
  evaluationAndCheckpointSeconds: evalSeconds,
  minutesPerCycle: log.layers.filter((l) => l.cycle === startCycle).reduce((s, l) => s + l.seconds, 0) / 60,
  finalTestAccuracy: log.accuracy[log.accuracy.length - 1]?.accuracy,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(`${out}.json`, JSON.stringify({ summary, ...log }, null, 1));
await writeFile(
  `${out}.svg`,
  await vegaLiteToSvg(trainingCurvesSpec({ title: `RSO on ${label} (paper network), batch ${batchSize}, ${backend}`, loss: log.loss, accuracy: log.accuracy, smoothing: 100 })),
);
console.log(JSON.stringify(summary, null, 1));
console.log(`wrote ${out}.json and ${out}.svg`);
