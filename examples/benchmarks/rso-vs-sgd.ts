/**
 * RSO against SGD and Adam on the paper's MNIST network, all on the wasm backend in one run.
 *
 *   npm run bench:compare -- [--budget 300] [--batch-size 128] [--rso-batch-size 1000] [--seed 42]
 *                            [--train-limit 60000] [--sgd-lr 0.05] [--adam-lr 0.001] [--out out/rso-vs-sgd]
 *                            [--only RSO,SGD,Adam] [--eval-every <seconds>] [--target 0.95] [--stop-at-target]
 *
 * Each optimizer trains the same initial network for `--budget` seconds of training time (evaluation time is
 * excluded). Test accuracy is measured on 2,000 test images at log-spaced steps and every `--eval-every` seconds
 * (default: a tenth of the budget), and on all 10,000 at the end. BN statistics are re-estimated from 2,000
 * training images before every measurement, for every optimizer alike. The time to `--target` is the first
 * measurement at or above it; `--stop-at-target` ends a run there (its final 10k accuracy is then measured). Weight updates are counted the same way for all: SGD and Adam update every
 * weight (12,016) per step; RSO changes one scalar when it accepts a candidate.
 * Writes <out>.json and <out>.svg (accuracy against weight updates, and against training time).
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TopLevelSpec } from 'vega-lite';
import { RSOOptimizer, evaluateModel, reestimateBatchNorm, registerWasmTrainingKernels } from '../../src/index.js';
import { mnistMean, mnistToTensors } from '../../src/node/index.js';
import { loadMnist } from '../lib/smoke.js';
import { MNIST_NET_COUNTS, createMnistNet } from '../../src/paper/index.js';
import { resolveLoss } from '../../src/train/losses.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { vegaLiteToSvg } from '../lib/plot.js';

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: '300' },
    'batch-size': { type: 'string', default: '128' },
    'rso-batch-size': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
    'train-limit': { type: 'string', default: '60000' },
    'sgd-lr': { type: 'string', default: '0.05' },
    'adam-lr': { type: 'string', default: '0.001' },
    out: { type: 'string', default: 'out/rso-vs-sgd' },
    only: { type: 'string' },
    'eval-every': { type: 'string' },
    target: { type: 'string', default: '0.95' },
    'stop-at-target': { type: 'boolean', default: false },
  },
});
const num = (flag: string, v: string | undefined, integer: boolean): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new RangeError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
  return n;
};
const budget = num('budget', values.budget, false);
const batchSize = num('batch-size', values['batch-size'], true);
const rsoBatch = num('rso-batch-size', values['rso-batch-size'], true);
const seed = num('seed', values.seed, true);
const trainLimit = num('train-limit', values['train-limit'], true);
const sgdLr = num('sgd-lr', values['sgd-lr'], false);
const adamLr = num('adam-lr', values['adam-lr'], false);
const only = values.only?.split(',');
const evalEvery = num('eval-every', values['eval-every'] ?? String(budget / 10), false);
const target = num('target', values.target, false);
if (target > 1) throw new RangeError(`--target is an accuracy in (0, 1], got ${target}`);
const stopAtTarget = values['stop-at-target'] ?? false;

const backend = await useWasmOrCpu();
const registered = registerWasmTrainingKernels();
console.log(`backend ${backend}; registered training kernels: ${registered.join(', ') || '(none needed)'}`);
const data = await loadMnist({ trainLimit, testLimit: 10000 });
const mean = mnistMean(data);
const train = mnistToTensors(data.train, { mean });
const test = mnistToTensors(data.test, { mean });
const testSmall = { xs: tf.slice(test.xs, 0, 2000), ys: tf.slice(test.ys, 0, 2000) };
const bnSample = tf.slice(train.xs, 0, 2000);
const meanLoss = resolveLoss('categoricalCrossentropy', 'mean');
const SCALARS = MNIST_NET_COUNTS.searched;

interface Point {
  readonly optimizer: string;
  readonly step: number;
  readonly updates: number;
  readonly seconds: number;
  readonly accuracy: number;
  readonly set: string;
}
const points: Point[] = [];
const summaries: Record<string, unknown>[] = [];

/** Runs one optimizer; `train` must call `onStep(updatesThisStep)` after every step and stop when told. */
async function race(
  name: string,
  model: tfl.LayersModel,
  run: (onStep: (updates: number) => Promise<boolean>) => Promise<void>,
): Promise<void> {
  let step = 0;
  let updates = 0;
  let evalMs = 0;
  let nextStepEval = 1;
  let nextTimeEval = evalEvery;
  const t0 = performance.now();
  const trainSeconds = () => (performance.now() - t0 - evalMs) / 1000;
  const measure = (xs: tf.Tensor, ys: tf.Tensor, set: string) => {
    const e0 = performance.now();
    const seconds = trainSeconds();
    reestimateBatchNorm(model, bnSample);
    const acc = evaluateModel(model, xs, ys, meanLoss, 1000).acc;
    const p = { optimizer: name, step, updates, seconds, accuracy: acc, set };
    evalMs += performance.now() - e0;
    points.push(p);
    return acc;
  };
  measure(testSmall.xs, testSmall.ys, '2k');
  await run(async (u) => {
    step++;
    updates += u;
    const s = trainSeconds();
    if (step >= nextStepEval || s >= nextTimeEval) {
      const acc = measure(testSmall.xs, testSmall.ys, '2k');
      if (step >= nextStepEval) nextStepEval *= 2;
      while (nextTimeEval <= s) nextTimeEval += evalEvery;
      process.stderr.write(`  ${name}: step ${step}, ${updates} updates, ${s.toFixed(0)} s, test acc (2k) ${(acc * 100).toFixed(2)}%\n`);
      if (stopAtTarget && acc >= target) return true;
    }
    return s >= budget;
  });
  const final = measure(test.xs, test.ys, '10k');
  const hit = points.find((p) => p.optimizer === name && p.accuracy >= target);
  const summary = {
    optimizer: name,
    steps: step,
    updates,
    trainSeconds: trainSeconds(),
    finalTestAccuracy: final,
    target,
    secondsToTarget: hit?.seconds ?? null,
    updatesToTarget: hit?.updates ?? null,
    stepsToTarget: hit?.step ?? null,
  };
  summaries.push(summary);
  console.log(JSON.stringify(summary));
}

const gradientRun = (name: string, optimizer: tf.Optimizer) => async () => {
  const model = createMnistNet({ seed });
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  await race(name, model, async (onStep) => {
    await model.fit(train.xs, train.ys, {
      batchSize,
      epochs: 1000,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onBatchEnd: async () => {
          if (await onStep(SCALARS)) model.stopTraining = true;
        },
      },
    });
  });
  model.dispose();
};

const rsoRun = async () => {
  const model = createMnistNet({ seed });
  const opt = new RSOOptimizer({ seed, cycles: 50 });
  await race('RSO', model, async (onStep) => {
    await opt.fit(model, train.xs, train.ys, {
      loss: 'categoricalCrossentropy',
      batchSize: rsoBatch,
      cycles: 1000,
      verbose: 0,
      batchNormSamples: 0,
      callbacks: {
        onBatchEnd: async () => {
          if (await onStep(opt.lastStepResult!.accepted === 0 ? 0 : 1)) model.stopTraining = true;
        },
      },
    });
  });
  model.dispose();
};

const runs: [string, () => Promise<void>][] = [
  ['RSO', rsoRun],
  ['SGD', gradientRun('SGD', tf.train.sgd(sgdLr))],
  ['Adam', gradientRun('Adam', tf.train.adam(adamLr))],
];
console.log(`RSO vs SGD vs Adam on MNIST (paper network, ${SCALARS} weights), ${data.train.count} training images, budget ${budget} s each`);
for (const [name, fn] of runs) {
  if (only !== undefined && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  await fn();
}

const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `RSO vs SGD vs Adam, MNIST paper network, ${backend}, ${new Date().toISOString().slice(0, 10)}`,
  background: 'white',
  data: { values: points.filter((p) => p.set === '2k').map((p) => ({ ...p, updates: Math.max(p.updates, 1) })) },
  hconcat: [
    {
      width: 380,
      height: 260,
      title: 'Test accuracy (2k images) vs weight updates',
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'updates', type: 'quantitative', scale: { type: 'log' }, title: 'weight updates (log)' },
        y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'test accuracy' },
        color: { field: 'optimizer', type: 'nominal' },
      },
    },
    {
      width: 380,
      height: 260,
      title: 'Test accuracy (2k images) vs training time',
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'seconds', type: 'quantitative', title: 'training seconds (evaluation excluded)' },
        y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'test accuracy' },
        color: { field: 'optimizer', type: 'nominal' },
      },
    },
  ],
};
const out = values.out!;
await mkdir(dirname(out), { recursive: true });
await writeFile(
  `${out}.json`,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model },
      backend,
      flags: { budget, batchSize, rsoBatch, seed, trainLimit: data.train.count, sgdLr, adamLr, evalEvery, target, stopAtTarget },
      summaries,
      points,
    },
    null,
    1,
  ),
);
await writeFile(`${out}.svg`, await vegaLiteToSvg(spec));
console.log(`\nwrote ${out}.json and ${out}.svg`);
