/**
 * MNIST with ternary and with binary weights: the paper's network with every conv and dense kernel quantised,
 * trained three ways.
 *
 *   npm run bench:quantized -- --mode ste --grid ternary|binary [--batch-size 128] [--lr 0.001] [--budget 300]
 *   npm run bench:quantized -- --mode rso-float [--batch-size 200] [--train-limit 6000] [--cycles 1]
 *       [--workers 2] [--budget 2000] [--eval-every 60] [--checkpoint <dir>] [--fresh]
 *   npm run bench:quantized -- --mode rso-grid --grid ternary|binary [the rso-float flags]
 *
 * - `ste`: Adam with quantisation-aware training. The latent weights are float; the forward pass uses each kernel
 *   quantised (ternary: α · sign(w) · 1{|w| > 0.7 · mean|w|}; binary: mean|w| · sign(w)), and the backward pass
 *   is the straight-through estimator (identity). The network tested is the quantised one.
 * - `rso-float`: RSO on the float network, for `--cycles` cycles (or until `--budget` seconds).
 * - `rso-grid`: RSO searching the weight grid itself (`grid: ternaryGrid()` or `binaryGrid()`), same cycles.
 *
 * BN gamma and beta stay float in every mode. Test accuracy is measured on all 10,000 test images after
 * re-estimating BN statistics from 2,000 training images. Writes <out>.json and <out>.svg.
 * To stop a run early and still get its results, start it as `node --import tsx examples/benchmarks/…` and send
 * SIGINT or SIGTERM to that process: it stops after the current step (the tsx CLI would kill a busy child instead).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as rso from '../../src/index.js';
import { MNIST_NET_COUNTS, createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';
import { adamRace, loadMnistTensors } from '../lib/mnist-bench.js';
import type { MnistTensors } from '../lib/mnist-bench.js';
import { copyQuantized, distinctKernelValues, quantizedLogits } from '../lib/quantized-net.js';
import { rsoRecord, rsoSittings } from '../lib/rso-sittings.js';
import { loadAverage, machineNote, writeRun } from '../lib/run-record.js';
import { quantizerOf, steQuantizer } from '../lib/straight-through.js';
import type { WeightQuantizer } from '../lib/straight-through.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    grid: { type: 'string' },
    'batch-size': { type: 'string' },
    'train-limit': { type: 'string' },
    cycles: { type: 'string', default: '1' },
    budget: { type: 'string' },
    workers: { type: 'string', default: '2' },
    'eval-every': { type: 'string' },
    lr: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '42' },
    checkpoint: { type: 'string' },
    fresh: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const mode = values.mode;
if (mode !== 'ste' && mode !== 'rso-float' && mode !== 'rso-grid') throw new RangeError(`--mode must be ste, rso-float or rso-grid, got ${String(mode)}`);
const grid = values.grid;
if (mode !== 'rso-float' && grid !== 'ternary' && grid !== 'binary') throw new RangeError(`--grid must be ternary or binary, got ${String(grid)}`);
const positive = (flag: string, v: string | undefined, fallback: number): number => {
  const n = v === undefined ? fallback : Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`--${flag} must be a positive number, got ${String(v)}`);
  return n;
};
const seed = intFlag('seed', values.seed, 0);
const label = mode === 'rso-float' ? 'rso-float' : `${mode}-${grid}`;
const out = values.out ?? `out/quantized-${label}`;
const loadStart = loadAverage();

const backend = await useWasmOrCpu();
rso.registerWasmTrainingKernels();
const trainLimit = intFlag('train-limit', values['train-limit'] ?? (mode === 'ste' ? '60000' : '6000'), 1);
const data = await loadMnistTensors(trainLimit);
console.log(`quantized weights, ${label}: backend ${backend}, ${data.trainCount} training images, load ${loadStart.join(' ')}`);
const common = { benchmark: 'quantized-weights', mode, grid: grid ?? null, backend, seed, trainImages: data.trainCount, testImages: 10_000, date: new Date().toISOString() };
const title = (what: string) => `MNIST, paper network, ${what}`;

if (mode === 'ste') await runSte(data, grid as WeightQuantizer);
else await runRso(data, mode === 'rso-grid' ? (grid as WeightQuantizer) : null);

/** Adam with quantisation-aware training (STE), tested on the quantised network. */
async function runSte(d: MnistTensors, q: WeightQuantizer): Promise<void> {
  const batchSize = intFlag('batch-size', values['batch-size'] ?? '128', 1);
  const budgetSeconds = positive('budget', values.budget, 300);
  const evalEverySeconds = positive('eval-every', values['eval-every'], 30);
  const lr = positive('lr', values.lr, 0.001);
  const latent = createMnistNet({ seed });
  const deployed = createMnistNet({ seed });
  const optimizer = tf.train.adam(lr);
  const vars = latent.trainableWeights.map((w) => w.read() as tf.Variable);
  const ste = steQuantizer(q);
  const method = `Adam + STE, ${q} weights (batch ${batchSize}, lr ${lr})`;
  const race = await adamRace({
    method,
    data: d,
    testModel: () => {
      copyQuantized(latent, deployed, quantizerOf(q));
      return deployed;
    },
    step: (xs, ys) => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, quantizedLogits(latent, xs, ste)) as tf.Scalar, false, vars);
    },
    batchSize,
    budgetSeconds,
    evalEverySeconds,
    scalars: MNIST_NET_COUNTS.searched,
    seed,
  });
  const final = race.points[race.points.length - 1]!;
  console.log(`${method}: ${race.steps} steps, ${race.trainSeconds.toFixed(0)} s training, final test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
  await writeRun(out, title(method), {
    ...common,
    flags: { batchSize, lr, budgetSeconds, evalEverySeconds },
    quantizer: q === 'ternary' ? 'α · sign(w) · 1{|w| > 0.7 · mean|w|}, α = mean of |w| above the threshold, per kernel' : 'mean|w| · sign(w), per kernel',
    ste: 'backward dL/dw = dL/dq (identity)',
    updatesCounted: 'steps × 12,016 trainable scalars (every Adam step updates every latent weight)',
    distinctKernelValues: distinctKernelValues(deployed),
    summary: { steps: race.steps, epochs: race.epochs, trainSeconds: race.trainSeconds, wallSeconds: race.wallSeconds, cpuSeconds: race.cpuSeconds, finalTestAccuracy: final.accuracy },
    machine: machineNote(loadStart),
    points: race.points,
  });
}

/** RSO on the float network, or on the weight grid, in resumable sittings. */
async function runRso(d: MnistTensors, q: WeightQuantizer | null): Promise<void> {
  const batchSize = intFlag('batch-size', values['batch-size'] ?? '200', 1);
  const plannedCycles = intFlag('cycles', values.cycles, 1);
  const workers = intFlag('workers', values.workers, 1);
  const budgetSeconds = positive('budget', values.budget, 2000);
  const evalEverySeconds = positive('eval-every', values['eval-every'], 60);
  const checkpointDir = values.checkpoint ?? `.cache/quantized-${label}-b${batchSize}`;
  const method = q === null ? `RSO, float weights (batch ${batchSize})` : `RSO on the ${q} grid (batch ${batchSize})`;
  const run = await rsoSittings({
    method,
    data: d,
    create: async () => {
      const model: tfl.LayersModel = createMnistNet({ seed });
      const grid = q === null ? {} : { grid: q === 'ternary' ? rso.ternaryGrid() : rso.binaryGrid() };
      model.compile({ optimizer: new rso.RSOOptimizer({ seed, cycles: plannedCycles, ...grid }), loss: 'categoricalCrossentropy' });
      return model;
    },
    batchSize,
    plannedCycles,
    workers,
    budgetSeconds,
    evalEverySeconds,
    checkpointDir,
    fresh: values.fresh ?? false,
  });
  const { optimizer, carry } = run;
  const final = carry.points[carry.points.length - 1]!;
  console.log(`${method}: ${optimizer.step} steps (${carry.accepted} accepted), cycle ${optimizer.cycle}, ${run.trainSeconds.toFixed(0)} s training, test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
  await writeRun(out, title(method), {
    ...common,
    flags: { batchSize, plannedCycles, workers, budgetSeconds, evalEverySeconds, checkpointDir },
    distinctKernelValues: distinctKernelValues(run.model),
    ...(q === null ? {} : { exported: exportedCodes(run.model, optimizer) }),
    ...rsoRecord(run),
    machine: machineNote(loadStart),
  });
}

/** Per kernel, the int8 codes `exportQuantized` gives (their distinct values and counts) and the scale. */
function exportedCodes(model: tfl.LayersModel, optimizer: rso.RSOOptimizer): Record<string, unknown>[] {
  return rso.exportQuantized(model, optimizer).map((t) => {
    const counts: Record<string, number> = {};
    for (const c of t.codes) counts[String(c)] = (counts[String(c)] ?? 0) + 1;
    return { name: t.name, scale: t.scale, codeCounts: counts };
  });
}
