/**
 * Ship small models (issue 26): the committed float MNIST model quantized to binary, ternary, 3-bit and 4-bit
 * kernels, four ways, with the download size of each.
 *
 *   npm run bench:shrink -- [--bits 1,2,3,4] [--rows 1,2,3,4] [--budget 190] [--workers 2] [--batch-size 500]
 *       [--cycles 1] [--max-steps N] [--fraction 1] [--select closest|random] [--layer-order output|input|shuffled]
 *       [--lr 0.001,0.0003,0.003]
 *       [--ste-batch-size 128] [--ste-seconds S] [--train-limit 60000] [--seed 42] [--calibrate 0]
 *       [--float-model examples/benchmarks/weights/mnist-float] [--out out/shrink]
 *
 * Rows, per bit width:
 * 1. round to nearest, one max |w| / maxCode scale per tensor (what a converter does);
 * 2. round to nearest, per-channel scales of least rounding error (`quantizeModel`);
 * 2c. with `--calibrate N` (N > 0): `quantizeCalibrated` on the first N training images, the codes and scales
 *    chosen layer by layer on the float layer's outputs; then (3) starts from (2c), (4) uses its scales, and the
 *    calibration's seconds count in (3)'s wall time and so in (4)'s;
 * 3. RSO repair from (2) on the fitted grid (`quantizedGrid`), biases and BN searched too, on `--workers`
 *    threads, until `--budget` seconds, `--cycles` cycles or `--max-steps` steps; with `--fraction` below 1, each
 *    cycle visits that share of each kernel: the closest rounding calls (`roundingOrder`, the default
 *    `--select closest`) or a random share (`randomSubset`, `--select random`);
 * 4. Adam + STE-QAT fine-tuning from the float model, forward on the scales of (2), for the wall time (3) took
 *    (or `--ste-seconds`), once per `--lr`; the best is reported and every one recorded.
 * Plus the float model and a converter-style affine uint8 copy of every weight. Test accuracy is on all 10,000
 * test images after re-estimating BN from 2,000 training images, as every MNIST benchmark here measures.
 * Bytes: float32 weights, the converter's uint8 weights (1 byte per weight; its per-tensor min and scale live in
 * model.json), and the smallest packed file of (1), (2) and (3) (`packModel(m, q, { names: false, float16: true })`,
 * everything included); their accuracy is that of the model as exported: BN re-estimated, then rounded to
 * float16 by `roundForPacking` (in place, so (3) and (4) start from the rounded (2)).
 *
 * Smoke run (seconds): `npm run bench:shrink -- --train-limit 500 --budget 5 --bits 2 --lr 0.001`.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as rso from '../../src/index.js';
import type { QuantizedModel } from '../../src/index.js';
import { nodeWorkers } from '../../src/node/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { deployFixedScale, fixedScaleSte } from '../lib/fixed-scale-ste.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { FLOAT_MODEL_DIR, loadFloatModel, readModelMetadata } from '../lib/float-model.js';
import { loadMnistTensors, stopSignal, testAccuracy, trainClock } from '../lib/mnist-bench.js';
import type { MnistTensors } from '../lib/mnist-bench.js';
import { quantizedLogits } from '../lib/quantized-net.js';
import { loadAverage, machineNote } from '../lib/run-record.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const { values } = parseArgs({
  options: {
    bits: { type: 'string', default: '1,2,3,4' },
    rows: { type: 'string', default: '1,2,3,4' },
    budget: { type: 'string', default: '190' },
    workers: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '500' },
    cycles: { type: 'string', default: '1' },
    'max-steps': { type: 'string' },
    fraction: { type: 'string', default: '1' },
    select: { type: 'string', default: 'closest' },
    'layer-order': { type: 'string', default: 'output' },
    lr: { type: 'string', default: '0.001,0.0003,0.003' },
    'ste-batch-size': { type: 'string', default: '128' },
    'ste-seconds': { type: 'string' },
    'train-limit': { type: 'string', default: '60000' },
    seed: { type: 'string', default: '42' },
    calibrate: { type: 'string', default: '0' },
    'float-model': { type: 'string', default: FLOAT_MODEL_DIR },
    out: { type: 'string', default: 'out/shrink' },
  },
});
const list = (flag: string, v: string | undefined, parse: (s: string) => number): number[] =>
  (v ?? '').split(',').map((s) => {
    const n = parse(s.trim());
    if (!Number.isFinite(n)) throw new RangeError(`--${flag} must be a comma-separated list of numbers, got ${String(v)}`);
    return n;
  });
const bitsList = list('bits', values.bits, Number).map((b) => intFlag('bits', String(b), 1));
if (bitsList.some((b) => b > 8)) throw new RangeError(`--bits must be integers in 1…8, got ${values.bits}`);
const rows = new Set(list('rows', values.rows, Number));
const budgetSeconds = positiveFlag('budget', values.budget);
const workers = intFlag('workers', values.workers, 1);
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const cycles = intFlag('cycles', values.cycles, 1);
const maxSteps = values['max-steps'] === undefined ? undefined : intFlag('max-steps', values['max-steps'], 1);
const fraction = positiveFlag('fraction', values.fraction);
if (fraction > 1) throw new RangeError(`--fraction must be in (0, 1], got ${values.fraction}`);
const select = values.select;
if (select !== 'closest' && select !== 'random') throw new RangeError(`--select must be closest or random, got ${String(select)}`);
const layerOrders = { output: undefined, input: rso.inputToOutput(), shuffled: rso.shuffledOrder() } as const;
const layerOrderFlag = values['layer-order'] as keyof typeof layerOrders;
if (!(layerOrderFlag in layerOrders)) throw new RangeError(`--layer-order must be output, input or shuffled, got ${String(values['layer-order'])}`);
const layerOrder = layerOrders[layerOrderFlag];
const lrs = list('lr', values.lr, Number).map((x) => positiveFlag('lr', String(x)));
const steBatch = intFlag('ste-batch-size', values['ste-batch-size'], 1);
const steSeconds = values['ste-seconds'] === undefined ? undefined : positiveFlag('ste-seconds', values['ste-seconds']);
const seed = intFlag('seed', values.seed, 0);
const calibrate = intFlag('calibrate', values.calibrate, 0);
const floatDir = values['float-model']!;
const loadStart = loadAverage();

const backend = await useWasmOrCpu();
rso.registerWasmTrainingKernels();
const meta = (await readModelMetadata(floatDir)) as { inputMean?: number; testAccuracy?: number };
const data = await loadMnistTensors(intFlag('train-limit', values['train-limit'], 1), meta.inputMean);
console.log(`shrink: backend ${backend}, ${data.trainCount} training images, float model ${floatDir}, load ${loadStart.join(' ')}`);

const fresh = async (): Promise<tfl.LayersModel> => loadFloatModel(floatDir);
const floatModel = await fresh();
const counts = countWeights(floatModel);
const floatAccuracy = testAccuracy(floatModel, data);
const uint8Accuracy = converterUint8Accuracy(await fresh(), data);
console.log(`float32: ${(floatAccuracy * 100).toFixed(2)}%, ${counts.float32Bytes} bytes; converter uint8: ${(uint8Accuracy * 100).toFixed(2)}%, ${counts.uint8Bytes} bytes`);

/** The smallest packed file: no names (loaded by `weights` order, shapes checked), float16 scales and floats. */
const SMALLEST = { names: false, float16: true } as const;

/**
 * Re-estimates BN, rounds `m` and `q` to float16 in place (`roundForPacking`), and returns the rounded model's
 * test accuracy (the model as exported) and its smallest packed file.
 */
function exportSmallest(m: tfl.LayersModel, q: QuantizedModel): { accuracy: number; packed: Uint8Array } {
  testAccuracy(m, data);
  rso.roundForPacking(m, q);
  return { accuracy: testAccuracy(m, data, false), packed: rso.packModel(m, q, SMALLEST) };
}

const results: Record<string, unknown>[] = [];
for (const bits of bitsList) {
  const row: Record<string, unknown> = { bits };
  if (rows.has(1)) {
    const m = await fresh();
    const q = rso.quantizeModel(m, { bits, scales: 'tensor', fit: 'maxAbs' });
    const e = exportSmallest(m, q);
    row['rtnMaxAbsPerTensor'] = { accuracy: e.accuracy, packedBytes: e.packed.length };
    m.dispose();
  }
  // (2), or with --calibrate (2c), is the start of (3) and the scales of (4).
  let m2 = await fresh();
  let q2 = rso.quantizeModel(m2, { bits, scales: 'channel', fit: 'mse' });
  const e2 = exportSmallest(m2, q2);
  row['rtnFittedPerChannel'] = { accuracy: e2.accuracy, packedBytes: e2.packed.length, sse: q2.kernels.reduce((s, k) => s + k.sse, 0) };
  let calibrationSeconds = 0;
  if (calibrate > 0) {
    m2.dispose();
    m2 = await fresh();
    const t0 = performance.now();
    q2 = rso.quantizeCalibrated(m2, data.train.xs, { bits, samples: calibrate });
    calibrationSeconds = (performance.now() - t0) / 1000;
    const e2c = exportSmallest(m2, q2);
    row['calibrated'] = { accuracy: e2c.accuracy, seconds: calibrationSeconds, samples: calibrate, packedBytes: e2c.packed.length, sse: q2.kernels.reduce((s, k) => s + k.sse, 0) };
  }
  let repairWall: number | undefined;
  if (rows.has(3)) {
    const coordinates = fraction === 1 ? undefined : select === 'closest' ? rso.roundingOrder(q2, { fraction }) : rso.randomSubset({ fraction });
    const opt = new rso.RSOOptimizer({ seed, grid: rso.quantizedGrid(q2), ...(coordinates === undefined ? {} : { coordinates }), ...(layerOrder === undefined ? {} : { layerOrder }) });
    const t0 = performance.now();
    const history = await opt.fit(m2, data.train.xs, data.train.ys, {
      loss: 'categoricalCrossentropy', batchSize, cycles, timeBudgetSeconds: budgetSeconds, verbose: 0, ...(maxSteps === undefined ? {} : { maxSteps }),
      ...(workers > 1 ? { workers: nodeWorkers(workers) } : {}),
    });
    repairWall = (performance.now() - t0) / 1000 + calibrationSeconds;
    const e3 = exportSmallest(m2, q2);
    const packed3 = e3.packed;
    const reloaded = await rso.loadPackedModel(m2.toJSON(), packed3);
    const same = samePredictions(m2, reloaded, data.test.xs);
    reloaded.dispose();
    row['rsoRepair'] = {
      accuracy: e3.accuracy, wallSeconds: repairWall, calibrationSeconds, steps: opt.step, cycle: opt.cycle, batchSize, workers,
      stoppedBy: history.params['stopReason'] ?? null, packedBytes: packed3.length, reloadBitExact: same,
    };
  }
  m2.dispose();
  if (rows.has(4)) {
    const seconds = steSeconds ?? repairWall ?? budgetSeconds;
    const runs = [];
    for (const lr of lrs) runs.push(await steFineTune(q2, lr, seconds, data));
    const best = runs.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    row['steQat'] = { ...best, runs };
  }
  console.log(`${bits} bit: ${JSON.stringify(row)}`);
  results.push(row);
}

const loadEnd = loadAverage();
const record = {
  benchmark: 'shrink', backend, seed, trainImages: data.trainCount, testImages: 10_000, date: new Date().toISOString(),
  command: `npm run bench:shrink -- ${process.argv.slice(2).join(' ')}`.trim(),
  floatModel: { dir: floatDir, accuracy: floatAccuracy, accuracyWhenTrained: meta.testAccuracy ?? null },
  bytes: { float32: counts.float32Bytes, converterUint8: counts.uint8Bytes, weights: counts.weights, tensors: counts.tensors },
  converterUint8Accuracy: uint8Accuracy,
  flags: { bits: bitsList, rows: [...rows], calibrate, layerOrder: layerOrderFlag, budgetSeconds, workers, batchSize, cycles, maxSteps: maxSteps ?? null, fraction, select, lrs, steBatch, steSeconds: steSeconds ?? null },
  results,
  machine: machineNote(loadStart),
  loadAverageEnd: loadEnd,
};
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(`${values.out}.json`, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${values.out}.json; load ${loadEnd.join(' ')}`);

/** Weights, tensors, float32 bytes and a converter's uint8 bytes (one per weight) of every weight of `m`. */
function countWeights(m: tfl.LayersModel): { weights: number; tensors: number; float32Bytes: number; uint8Bytes: number } {
  const weights = m.weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 0), 1), 0);
  return { weights, tensors: m.weights.length, float32Bytes: 4 * weights, uint8Bytes: weights };
}

/**
 * Test accuracy of `m` with every weight quantized as tfjs-converter's `--quantize_uint8` does: per tensor,
 * scale = (max − min) / 255, q = round((w − min) / scale), dequantized w = q · scale + min.
 */
function converterUint8Accuracy(m: tfl.LayersModel, d: MnistTensors): number {
  const next = m.weights.map((w) => {
    const v = w.read().dataSync() as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const scale = max > min ? (max - min) / 255 : 1;
    return tf.tensor(Float32Array.from(v, (x) => Math.round((x - min) / scale) * scale + min), w.shape as number[]);
  });
  m.setWeights(next);
  tf.dispose(next);
  // BN moving statistics are re-estimated by testAccuracy, as for every row.
  const acc = testAccuracy(m, d);
  m.dispose();
  return acc;
}

/** Whether two models give bit-identical predictions on `x`. */
function samePredictions(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor): boolean {
  const [pa, pb] = [a, b].map((m) => (m.predict(x, { batchSize: 1000 }) as tf.Tensor).dataSync());
  return Buffer.from(pa!.buffer).equals(Buffer.from(pb!.buffer));
}

/** Adam + STE-QAT from the float model on the fixed scales of `q`, for `seconds` of training wall time. */
async function steFineTune(q: QuantizedModel, lr: number, seconds: number, d: MnistTensors): Promise<{ lr: number; accuracy: number; steps: number; trainSeconds: number }> {
  const latent = await fresh();
  const deployed = await fresh();
  const ste = fixedScaleSte(latent, q);
  const optimizer = tf.train.adam(lr);
  const vars = latent.trainableWeights.map((w) => w.read() as tf.Variable);
  const clock = trainClock();
  const signal = stopSignal();
  const n = d.trainCount;
  const rng = rso.createRng(seed);
  let steps = 0;
  while (clock.train() < seconds && !signal.stopped()) {
    const idx = Int32Array.from({ length: Math.min(steBatch, n) }, () => Math.floor(rng.next() * n));
    tf.tidy(() => {
      const i = tf.tensor1d(idx, 'int32');
      const xs = tf.gather(d.train.xs, i);
      const ys = tf.gather(d.train.ys, i);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, quantizedLogits(latent, xs, ste.quantize)) as tf.Scalar, false, vars);
    });
    steps++;
    if (steps % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  signal.release();
  deployFixedScale(latent, deployed, q);
  const accuracy = testAccuracy(deployed, d);
  console.log(`  STE-QAT ${q.bits} bit, lr ${lr}: ${steps} steps, ${clock.train().toFixed(0)} s, ${(accuracy * 100).toFixed(2)}%`);
  ste.dispose();
  optimizer.dispose();
  latent.dispose();
  deployed.dispose();
  return { lr, accuracy, steps, trainSeconds: clock.train() };
}
