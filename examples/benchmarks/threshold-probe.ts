/**
 * What RSO's steps see on the hard-threshold MNIST network (the paper's network with every ReLU replaced by
 * H(x) = 1{x > 0}, as in `binary-activations.ts`): per tensor and batch size, the share of steps whose three
 * candidates tie, the threshold units each candidate flips, and the signal rate (how often a changed weight also
 * lowers the loss on a second, independent batch).
 *
 *   npm run bench:threshold-probe -- [--batch-sizes 100,500,2000] [--kernel-steps 24] [--bn-steps 4]
 *       [--ste-steps 30] [--ste-batch-sizes 500] [--sigma-scale 1] [--budget 600] [--seed 42] [--train-limit 60000]
 *       [--out out/threshold-probe]
 *
 * `--kernel-steps` and `--bn-steps` take one number, or one per batch size (a large batch costs more per step);
 * `--ste-batch-sizes` limits the STE state to some of the batch sizes (default all). With `--budget` (seconds
 * from the start), a cell that runs out stops at its last step and is marked `complete: false`; later cells are empty.
 *
 * The steps are the library's: `RSOOptimizer.runSteps` (seed 42, σ planned over 2 cycles as in the benchmark, first
 * cycle) proposes each step and decides it; the probe is the evaluator it asks for the candidates' losses
 * (`examples/lib/threshold-probe.ts`). The coordinates are a sample of every tensor (`--kernel-steps` scalars of
 * each kernel, `--bn-steps` of each BN beta and gamma), visited in the paper's order (output layer first), one new
 * batch per step as `rso.fit` draws them. Accepted moves stay, as in a run. Each batch size starts from the same
 * state with the same optimizer seed, so the cells are paired: the same scalars and the same Δ.
 *
 * States: `init`, the seeded network; `ste`, the same network after `--ste-steps` Adam steps with the
 * straight-through estimator (lr 0.001, batch 128), then probed as the exact network (0 skips it). σ is always
 * the initial network's (the optimizer binds there), times `--sigma-scale`. Writes <out>.json.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, registerWasmTrainingKernels, RSOOptimizer } from '../../src/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';
import { loadMnistTensors, testAccuracy } from '../lib/mnist-bench.js';
import type { MnistTensors } from '../lib/mnist-bench.js';
import { loadAverage, machineNote } from '../lib/run-record.js';
import { ThresholdLayer } from '../lib/straight-through.js';
import { thresholdMnistNet } from '../lib/threshold-net.js';
import { createThresholdProbe, sampleEveryTensor, scaledBelowThresholds, signalOutcome, summarizeSteps } from '../lib/threshold-probe.js';
import type { ProbeStepRecord, ProbeSummary } from '../lib/threshold-probe.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const { values } = parseArgs({
  options: {
    'batch-sizes': { type: 'string', default: '100,500,2000' },
    'kernel-steps': { type: 'string', default: '24' },
    'bn-steps': { type: 'string', default: '4' },
    'ste-steps': { type: 'string', default: '30' },
    'ste-batch-sizes': { type: 'string' },
    'sigma-scale': { type: 'string', default: '1' },
    budget: { type: 'string' },
    seed: { type: 'string', default: '42' },
    'train-limit': { type: 'string', default: '60000' },
    out: { type: 'string', default: 'out/threshold-probe' },
  },
});
const batchSizes = (values['batch-sizes'] ?? '').split(',').map((b) => intFlag('batch-sizes', b, 1));
/** A flag of one integer, or one per batch size. */
function perBatch(flag: string, value: string | undefined, min: number): number[] {
  const list = (value ?? '').split(',').map((v) => intFlag(flag, v, min));
  if (list.length === 1) return batchSizes.map(() => list[0]!);
  if (list.length !== batchSizes.length) throw new RangeError(`--${flag} must give one number or one per batch size (${batchSizes.length}), got ${String(value)}`);
  return list;
}
const kernelSteps = perBatch('kernel-steps', values['kernel-steps'], 1);
const bnSteps = perBatch('bn-steps', values['bn-steps'], 0);
const steBatchSizes = (values['ste-batch-sizes'] ?? '').split(',').filter((b) => b !== '').map((b) => intFlag('ste-batch-sizes', b, 1));
for (const b of steBatchSizes) if (!batchSizes.includes(b)) throw new RangeError(`--ste-batch-sizes: ${b} is not among --batch-sizes ${batchSizes.join(',')}`);
const steSteps = intFlag('ste-steps', values['ste-steps'], 0);
const sigmaScale = Number(values['sigma-scale']);
if (!(sigmaScale > 0) || !Number.isFinite(sigmaScale)) throw new RangeError(`--sigma-scale must be a positive number, got ${String(values['sigma-scale'])}`);
const budgetSeconds = values.budget === undefined ? Infinity : Number(values.budget);
if (!(budgetSeconds > 0)) throw new RangeError(`--budget must be a positive number of seconds, got ${String(values.budget)}`);
const started = performance.now();
const overBudget = () => (performance.now() - started) / 1000 > budgetSeconds;
const seed = intFlag('seed', values.seed, 0);
const trainLimit = intFlag('train-limit', values['train-limit'], 1);
const out = values.out ?? 'out/threshold-probe';
// The binary-activations benchmark plans σ over 2 cycles; its first cycle has the schedule's factor 1.
const PLANNED_CYCLES = 2;
// Adam + STE as in binary-activations.ts --mode ste: lr 0.001, batch 128.
const STE_LR = 0.001;
const STE_BATCH = 128;

const loadStart = loadAverage();
const backend = await useWasmOrCpu();
registerWasmTrainingKernels();
const data = await loadMnistTensors(trainLimit);
for (const b of batchSizes) if (2 * b > data.trainCount) throw new RangeError(`--batch-sizes: ${b} needs ${2 * b} training images for two disjoint batches, have ${data.trainCount}`);
console.log(`threshold probe: backend ${backend}, ${data.trainCount} training images, batch sizes ${batchSizes.join(', ')}, load ${loadStart.join(' ')}`);

/** Two disjoint batches per step: consecutive chunks of a seeded shuffle, reshuffled when it runs out. */
function batchPairs(n: number, size: number, key: string) {
  const rng = createRng(key);
  let order = new Int32Array(0);
  let at = n;
  const take = () => {
    const idx = tf.tensor1d(order.slice(at, at + size), 'int32');
    at += size;
    const xy = { x: tf.gather(data.train.xs, idx), y: tf.gather(data.train.ys, idx) };
    idx.dispose();
    return xy;
  };
  return () => {
    if (at + 2 * size > n) {
      order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      at = 0;
    }
    return [take(), take()] as const;
  };
}

/** Trains the STE twin of the network with Adam for `steps` steps; returns its weights (the caller disposes them). */
async function steWeights(steps: number, d: MnistTensors): Promise<tf.Tensor[]> {
  const model = await thresholdMnistNet(seed, true);
  const optimizer = tf.train.adam(STE_LR);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const next = batchPairs(d.trainCount, STE_BATCH, `${seed}/ste`);
  for (let s = 0; s < steps; s++) {
    const [a, b] = next();
    optimizer.minimize(() => tf.mean(tfl.metrics.categoricalCrossentropy(a.y, model.apply(a.x, { training: true }) as tf.Tensor)) as tf.Scalar, false, vars);
    for (const t of [a.x, a.y, b.x, b.y]) t.dispose();
  }
  const weights = model.getWeights().map((w) => tf.clone(w));
  optimizer.dispose();
  model.dispose();
  return weights;
}

/** One probe run: the sampled steps of one cycle at one batch size, from the weights `state`. */
async function probeRun(model: tfl.LayersModel, init: readonly tf.Tensor[], state: readonly tf.Tensor[], b: number, label: string) {
  const batchSize = batchSizes[b]!;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  model.setWeights([...init]);
  const optimizer = new RSOOptimizer({ seed, cycles: PLANNED_CYCLES, coordinates: sampleEveryTensor(kernelSteps[b]!, bnSteps[b]!), sigmaBase: scaledBelowThresholds(model, (l) => l instanceof ThresholdLayer, sigmaScale) });
  // σ from the initial network, as a run from scratch binds it; then the state's weights.
  optimizer.bind(vars);
  model.setWeights([...state]);
  const names = vars.map((v) => v.name);
  const probe = createThresholdProbe(model, (l) => l instanceof ThresholdLayer);
  const next = batchPairs(data.trainCount, batchSize, `${seed}/probe/${label}/${batchSize}`);
  const records: ProbeStepRecord[] = [];
  const t0 = performance.now();
  // One cycle of the sampled coordinates.
  while (optimizer.cycle === 0 && !overBudget()) {
    const [a, b] = next();
    probe.setBatch(a.x, a.y);
    const r = optimizer.runSteps(probe);
    const flips = probe.lastFlips!;
    let signal = null;
    if (r.accepted !== 0 && r.value !== r.previous) {
      const [before, after] = probe.secondBatch(r.tensor, r.flat, r.previous, r.value, b.x, b.y);
      signal = signalOutcome(before, after);
    }
    records.push({ tensor: names[r.tensor]!.replace(/_\d+$/, ""), losses: Array.from(r.losses), accepted: r.accepted, ...flips, signal });
    for (const t of [a.x, a.y, b.x, b.y]) t.dispose();
    await new Promise((done) => setImmediate(done));
  }
  probe.dispose();
  optimizer.dispose();
  console.log(`  ${label}, batch ${batchSize}: ${records.length} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return records;
}

/** The summaries of a run, per tensor in the order met (output first). */
function byTensor(records: readonly ProbeStepRecord[]): Record<string, ProbeSummary> {
  const names = [...new Set(records.map((r) => r.tensor))];
  return Object.fromEntries(names.map((n) => [n, summarizeSteps(records.filter((r) => r.tensor === n))]));
}

/** Pooled summaries: the kernels, BN betas and BN gammas below a threshold, and every tensor above the last one. */
function pooled(records: readonly ProbeStepRecord[]): Record<string, ProbeSummary> {
  const below = (part: string) => records.filter((r) => r.flips !== null && r.tensor.endsWith(part));
  return {
    'kernels below a threshold': summarizeSteps(below('/kernel')),
    'BN beta below a threshold': summarizeSteps(below('/beta')),
    'BN gamma below a threshold': summarizeSteps(below('/gamma')),
    'above the last threshold': summarizeSteps(records.filter((r) => r.flips === null)),
  };
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(0)}%`);
const num = (x: number | null) => (x === null ? '–' : x.toFixed(1));

function printCell(label: string, batchSize: number, cells: Record<string, ProbeSummary>): void {
  console.log(`${label}, batch ${batchSize}: tensor | steps | ties | mean flips (share) | median | zero-flip | cascade | changed | signal lower/equal/higher`);
  for (const [name, c] of Object.entries(cells)) {
    console.log(
      `  ${name} | ${c.steps} | ${pct(c.tieShare)} | ${num(c.meanFlips)} (${c.flipShare === null ? '–' : (c.flipShare * 100).toFixed(3)}%) | ${num(c.medianFlips)} | ${pct(c.zeroFlipShare)} | ${num(c.meanCascade)} | ${c.changed} | ${pct(c.signalRate)}/${pct(c.signalEqual)}/${pct(c.signalHigher)}`,
    );
  }
}

const model = await thresholdMnistNet(seed, false);
const init = model.getWeights().map((w) => tf.clone(w));
const states: { label: string; weights: tf.Tensor[]; testAccuracy: number }[] = [{ label: 'init', weights: init, testAccuracy: testAccuracy(model, data) }];
if (steSteps > 0) {
  const t0 = performance.now();
  const weights = await steWeights(steSteps, data);
  model.setWeights(weights);
  states.push({ label: 'ste', weights, testAccuracy: testAccuracy(model, data) });
  console.log(`STE state: ${steSteps} Adam steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const runs = [];
for (const state of states) {
  console.log(`state ${state.label}: test accuracy ${(state.testAccuracy * 100).toFixed(2)}%`);
  for (const [b, batchSize] of batchSizes.entries()) {
    if (state.label === 'ste' && steBatchSizes.length > 0 && !steBatchSizes.includes(batchSize)) continue;
    const records = await probeRun(model, init, state.weights, b, state.label);
    const cells = byTensor(records);
    const pools = pooled(records);
    printCell(state.label, batchSize, { ...cells, ...pools });
    runs.push({ state: state.label, testAccuracy: state.testAccuracy, batchSize, complete: !overBudget(), summary: summarizeSteps(records), pooled: pools, cells, records });
  }
}
const record = {
  benchmark: 'threshold-probe',
  backend,
  seed,
  flags: { batchSizes, kernelSteps, bnSteps, steSteps, steBatchSizes, sigmaScale, trainLimit, plannedCycles: PLANNED_CYCLES, steLr: STE_LR, steBatch: STE_BATCH },
  trainImages: data.trainCount,
  machine: machineNote(loadStart),
  runs,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(`${out}.json`, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${out}.json; load average at the end ${loadAverage().join(' ')}`);
