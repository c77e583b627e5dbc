/**
 * Long-run RSO on MNIST with the paper's network: test accuracy after every searched layer and every cycle,
 * wall time per layer and per cycle, checkpoints to resume in several sittings.
 *
 *   npm run bench:mnist -- --batch-size 1000 --cycles 1 [--planned-cycles 50] [--seed 42]
 *                          [--budget <seconds>] [--train-limit 60000] [--engine model|closure]
 *                          [--checkpoint .cache/mnist-rso] [--out out/mnist-rso]
 *
 * Writes <out>.json (every measurement, the flags, the machine) and <out>.svg (accuracy and loss curves).
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, createMnistNet, evaluateModel, loadMnist, mnistMean, mnistToTensors, reestimateBatchNorm } from '../../src/index.js';
import { resolveLoss } from '../../src/train/losses.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../lib/checkpoint.js';
import { trainingCurvesSpec, vegaLiteToSvg } from '../lib/plot.js';
import type { AccuracyPoint, LossPoint } from '../lib/plot.js';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: '1000' },
    cycles: { type: 'string', default: '1' },
    'planned-cycles': { type: 'string', default: '50' },
    seed: { type: 'string', default: '42' },
    budget: { type: 'string' },
    'train-limit': { type: 'string', default: '60000' },
    engine: { type: 'string', default: 'model' },
    checkpoint: { type: 'string', default: '.cache/mnist-rso' },
    out: { type: 'string', default: 'out/mnist-rso' },
    fresh: { type: 'boolean', default: false },
  },
});
const int = (flag: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${flag} must be an integer ≥ ${min}, got ${String(v)}`);
  return n;
};
const batchSize = int('batch-size', values['batch-size'], 1);
const cycles = int('cycles', values.cycles, 1);
const planned = int('planned-cycles', values['planned-cycles'], 1);
const seed = int('seed', values.seed, 0);
const trainLimit = int('train-limit', values['train-limit'], 1);
const budget = values.budget === undefined ? undefined : Number(values.budget);
if (budget !== undefined && !(budget > 0)) throw new RangeError(`--budget must be a positive number of seconds, got ${values.budget}`);
const engine = values.engine;
if (engine !== 'model' && engine !== 'closure') throw new RangeError(`--engine must be model or closure, got ${engine}`);
const checkpointDir = values.checkpoint!;
const out = values.out!;

const backend = await useWasmOrCpu();
const data = await loadMnist({ trainLimit, testLimit: 10000 });
const mean = mnistMean(data);
const train = mnistToTensors(data.train, { mean });
const test = mnistToTensors(data.test, { mean });
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
  model = createMnistNet({ seed });
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

let groupName = optimizer.currentGroup();
let groupStart = seconds();
let groupStartStep = optimizer.step;
let groupCycle = optimizer.cycle;
const closeGroup = async () => {
  const acc = testAccuracy();
  const s = seconds();
  log.layers.push({ cycle: groupCycle, group: groupName, seconds: s - groupStart, steps: optimizer.step - groupStartStep });
  log.accuracy.push({ step: optimizer.step, seconds: s, accuracy: acc, set: 'test (10k)', cycle: groupCycle, group: groupName });
  console.log(
    `\ncycle ${groupCycle} ${groupName}: ${optimizer.step - groupStartStep} steps in ${(s - groupStart).toFixed(0)} s; test accuracy ${(acc * 100).toFixed(2)}%`,
  );
  await saveCheckpoint(model, checkpointDir, { log, seconds: seconds() });
  groupName = optimizer.currentGroup();
  groupStart = seconds();
  groupStartStep = optimizer.step;
  groupCycle = optimizer.cycle;
};

console.log(`MNIST RSO: backend ${backend}, batch ${batchSize}, ${data.train.count} training images, engine ${engine}, seed ${seed}, planned cycles ${planned}`);
const startCycle = optimizer.cycle;
await optimizer.fit(model, train.xs, train.ys, {
  batchSize,
  cycles,
  engine,
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
  flags: { batchSize, cycles, planned, seed, trainLimit, engine, budget },
  cyclesCompleted: optimizer.cycle,
  steps: optimizer.step,
  seconds: seconds(),
  minutesPerCycle: log.layers.filter((l) => l.cycle === startCycle).reduce((s, l) => s + l.seconds, 0) / 60,
  finalTestAccuracy: log.accuracy[log.accuracy.length - 1]?.accuracy,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(`${out}.json`, JSON.stringify({ summary, ...log }, null, 1));
await writeFile(
  `${out}.svg`,
  await vegaLiteToSvg(trainingCurvesSpec({ title: `RSO on MNIST (paper network), batch ${batchSize}, ${backend}`, loss: log.loss, accuracy: log.accuracy, smoothing: 100 })),
);
console.log(JSON.stringify(summary, null, 1));
console.log(`wrote ${out}.json and ${out}.svg`);
