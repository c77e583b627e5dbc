/**
 * MNIST with hard-threshold (binary) activations: the paper's network with every ReLU replaced by
 * H(x) = 1{x > 0}, trained three ways.
 *
 *   npm run bench:binary-activations -- --mode rso [--batch-size 200] [--train-limit 60000] [--cycles 2]
 *       [--budget 1800] [--workers 1] [--eval-every 60] [--checkpoint .cache/binary-act-rso] [--fresh]
 *   npm run bench:binary-activations -- --mode ste [--batch-size 128] [--lr 0.001] [--budget 300] [--eval-every 30]
 *       [--save-at 1200,1500 --save .cache/ste]
 *   npm run bench:binary-activations -- --mode rso --init .cache/ste-1200 [--sigma 0.05] [--evidence 1] [--cuts-first 20] …
 *   npm run bench:binary-activations -- --mode adam
 *
 * - `rso`: `rso.fit` on the threshold network as it is. `--budget` is this sitting's time budget; with
 *   `--checkpoint` a run resumes where the last sitting stopped (`--fresh` starts over), and `--cycles` is the
 *   number of planned cycles, over which σ anneals.
 * - `ste`: Adam on the same network whose threshold has a straight-through backward pass (clipped identity).
 *   `--save-at` lists training times: at the first measurement at or after each (or at the end, for a time the
 *   run does not reach), the weights are saved to `<save>-<time>` (a tfjs model folder whose metadata records the
 *   STE's training time, steps and test accuracy then).
 * - `rso --init DIR`: RSO polishes the exact network from an STE snapshot; every time on its curve counts the
 *   snapshot's STE training time. `--sigma F`: σ is F times each tensor's std, falling linearly to F/10 over
 *   `--cycles` (without it, the paper's schedule). `--evidence Z`: a step keeps its best candidate only when its
 *   paired z against the current value over the batch exceeds Z (`pairedEvidence`, examples/lib/paired-evidence.ts).
 *   `--cuts-first N`: the first N cycles visit every tensor but the conv kernels (`cutsFirst`, examples/lib/cuts-first.ts).
 * - `adam`: plain Adam on the threshold network; tfjs finds no gradient for `Greater`, and the error is recorded.
 *
 * Test accuracy is measured on all 10,000 test images, after re-estimating BN statistics from 2,000 training
 * images, every `--eval-every` seconds of training (evaluation time excluded). Weight updates: an RSO step updates
 * one scalar when it accepts a candidate; an Adam step updates all 12,016 trainable scalars.
 * Writes <out>.json (curves, flags, engine statistics, load averages) and <out>.svg.
 * To stop a run early and still get its results, start it as `node --import tsx examples/benchmarks/…` and send
 * SIGINT or SIGTERM to that process: it stops after the current step (the tsx CLI would kill a busy child instead).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, linearSchedule, registerWasmTrainingKernels } from '../../src/index.js';
import type { RSOConfig } from '../../src/index.js';
import { MNIST_NET_COUNTS } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { loadFloatModel, readModelMetadata, saveFloatModel } from '../lib/float-model.js';
import { pairedEvidence } from '../lib/paired-evidence.js';
import { cutsFirst } from '../lib/cuts-first.js';
import { adamRace, loadMnistTensors, testAccuracy } from '../lib/mnist-bench.js';
import type { MnistTensors } from '../lib/mnist-bench.js';
import { loadAverage, machineNote, writeRun } from '../lib/run-record.js';
import { rsoRecord, rsoSittings } from '../lib/rso-sittings.js';
import type { CurvePoint } from '../lib/run-record.js';
import { thresholdMnistNet } from '../lib/threshold-net.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    'batch-size': { type: 'string' },
    'train-limit': { type: 'string', default: '60000' },
    cycles: { type: 'string', default: '2' },
    budget: { type: 'string' },
    workers: { type: 'string', default: '1' },
    'eval-every': { type: 'string' },
    lr: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '42' },
    checkpoint: { type: 'string' },
    'save-at': { type: 'string' },
    save: { type: 'string' },
    init: { type: 'string' },
    sigma: { type: 'string' },
    evidence: { type: 'string' },
    'cuts-first': { type: 'string', default: '0' },
    fresh: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const mode = values.mode;
if (mode !== 'rso' && mode !== 'ste' && mode !== 'adam') throw new RangeError(`--mode must be rso, ste or adam, got ${String(mode)}`);
const positive = (flag: string, v: string | undefined, fallback: number): number => {
  const n = v === undefined ? fallback : Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`--${flag} must be a positive number, got ${String(v)}`);
  return n;
};
const seed = intFlag('seed', values.seed, 0);
const trainLimit = intFlag('train-limit', values['train-limit'], 1);
const out = values.out ?? `out/binary-activations-${mode}`;
const loadStart = loadAverage();

const backend = await useWasmOrCpu();
registerWasmTrainingKernels();
const data = await loadMnistTensors(trainLimit);
console.log(`binary activations, mode ${mode}: backend ${backend}, ${data.trainCount} training images, load ${loadStart.join(' ')}`);

const common = { benchmark: 'binary-activations', mode, backend, seed, trainImages: data.trainCount, testImages: 10_000, date: new Date().toISOString() };
const title = (what: string) => `MNIST, paper network with hard-threshold activations: ${what}`;

if (mode === 'adam') await runPlainAdam(data);
else if (mode === 'ste') await runSte(data);
else await runRso(data);

/** Plain Adam through `model.fit`: records the error tfjs throws, or the accuracy if it somehow trains. */
async function runPlainAdam(d: MnistTensors): Promise<void> {
  const model = await thresholdMnistNet(seed, false);
  model.compile({ optimizer: tf.train.adam(positive('lr', values.lr, 0.001)), loss: 'categoricalCrossentropy' });
  const accuracy = testAccuracy(model, d);
  let error: string | null = null;
  const t0 = performance.now();
  try {
    await model.fit(tf.slice(d.train.xs, 0, 128), tf.slice(d.train.ys, 0, 128), { batchSize: 128, epochs: 1, verbose: 0 });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  console.log(error === null ? 'plain Adam ran (unexpected)' : `plain Adam failed: ${error}`);
  const points: CurvePoint[] = [{ method: 'Adam (no STE)', seconds: 0, wallSeconds, steps: 0, updates: 0, accuracy }];
  await writeRun(out, title('plain Adam'), { ...common, error, trained: error === null, machine: machineNote(loadStart), points });
}

/** Adam on the threshold network with the straight-through estimator. */
async function runSte(d: MnistTensors): Promise<void> {
  const batchSize = intFlag('batch-size', values['batch-size'] ?? '128', 1);
  const budgetSeconds = positive('budget', values.budget, 300);
  const evalEverySeconds = positive('eval-every', values['eval-every'], 30);
  const lr = positive('lr', values.lr, 0.001);
  const model = await thresholdMnistNet(seed, true);
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const method = `Adam + STE (batch ${batchSize}, lr ${lr})`;
  const saveAt = values['save-at'] === undefined ? [] : values['save-at'].split(',').map((v) => positiveFlag('save-at', v));
  if (saveAt.length > 0 && values.save === undefined) throw new RangeError('--save-at needs --save, the folder prefix of the snapshots');
  const race = await adamRace({
    method,
    data: d,
    testModel: () => model,
    step: (xs, ys) => {
      optimizer.minimize(() => tf.mean(tfl.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar, false, vars);
    },
    batchSize,
    budgetSeconds,
    evalEverySeconds,
    scalars: MNIST_NET_COUNTS.searched,
    seed,
    snapshots: {
      atSeconds: saveAt,
      save: async (p, at) => {
        const dir = `${values.save!}-${at}`;
        await saveFloatModel(model, dir, { trainSeconds: p.seconds, steps: p.steps, testAccuracy: p.accuracy, method, command: process.argv.slice(2).join(' ') });
        console.log(`  saved ${dir}`);
      },
    },
  });
  const final = race.points[race.points.length - 1]!;
  console.log(`${method}: ${race.steps} steps, ${race.trainSeconds.toFixed(0)} s training, final test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
  await writeRun(out, title(method), {
    ...common,
    flags: { batchSize, lr, budgetSeconds, evalEverySeconds },
    ste: 'forward 1{x > 0}; backward dL/dx = dL/dy · 1{|x| ≤ 1}',
    updatesCounted: 'steps × 12,016 trainable scalars (every Adam step updates every weight)',
    summary: { steps: race.steps, epochs: race.epochs, trainSeconds: race.trainSeconds, wallSeconds: race.wallSeconds, cpuSeconds: race.cpuSeconds, finalTestAccuracy: final.accuracy },
    machine: machineNote(loadStart),
    points: race.points,
  });
}

/** RSO (`rso.fit`) on the threshold network, in sittings of `--budget` seconds, resumable. */
async function runRso(d: MnistTensors): Promise<void> {
  const batchSize = intFlag('batch-size', values['batch-size'] ?? '200', 1);
  const plannedCycles = intFlag('cycles', values.cycles, 1);
  const workers = intFlag('workers', values.workers, 1);
  const budgetSeconds = positive('budget', values.budget, 1800);
  const evalEverySeconds = positive('eval-every', values['eval-every'], 60);
  const checkpointDir = values.checkpoint ?? `.cache/binary-act-rso-b${batchSize}`;
  const policies = polishPolicies();
  const init = values.init === undefined ? null : await steSnapshot(values.init);
  const method = init === null ? `RSO (batch ${batchSize})` : `Adam + STE (${Math.round(init.seconds)} s) → RSO (batch ${batchSize})`;
  const run = await rsoSittings({
    method,
    data: d,
    create: async () => {
      const model = await thresholdMnistNet(seed, false);
      if (init !== null) model.setWeights(init.weights);
      model.compile({ optimizer: new RSOOptimizer({ seed, cycles: plannedCycles, ...policies }), loss: 'categoricalCrossentropy' });
      return model;
    },
    batchSize,
    plannedCycles,
    workers,
    // The worker threads rebuild the model from JSON: this module registers its threshold layer class there.
    workerModules: [new URL('../lib/straight-through.ts', import.meta.url), new URL('../lib/paired-evidence.ts', import.meta.url), new URL('../lib/cuts-first.ts', import.meta.url)],
    budgetSeconds,
    evalEverySeconds,
    checkpointDir,
    fresh: values.fresh ?? false,
  });
  const { optimizer, carry } = run;
  // A polished snapshot's times count the STE's training before it.
  const offset = init?.seconds ?? 0;
  const points = carry.points.map((p) => ({ ...p, seconds: p.seconds + offset }));
  const final = points[points.length - 1]!;
  console.log(`${method}: ${optimizer.step} steps (${carry.accepted} accepted), cycle ${optimizer.cycle}, ${run.trainSeconds.toFixed(0)} s training, test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
  await writeRun(out, title(method), {
    ...common,
    flags: { batchSize, plannedCycles, workers, budgetSeconds, evalEverySeconds, checkpointDir, sigma: values.sigma, evidence: values.evidence, cutsFirst: values['cuts-first'], init: values.init },
    ...(init === null ? {} : { initial: { steSeconds: init.seconds, steSteps: init.steps, steTestAccuracy: init.accuracy } }),
    ...rsoRecord(run),
    points,
    machine: machineNote(loadStart),
  });
}

/** The RSO options that `--sigma`, `--evidence` and `--cuts-first` set (none: the paper's). */
function polishPolicies(): RSOConfig {
  const sigma = values.sigma === undefined ? undefined : positiveFlag('sigma', values.sigma);
  const cutsCycles = intFlag('cuts-first', values['cuts-first'], 0);
  return {
    ...(sigma === undefined ? {} : { sigma: linearSchedule({ from: sigma, to: sigma / 10 }) }),
    ...(values.evidence === undefined ? {} : { earlyRejection: pairedEvidence(Number(values.evidence)) }),
    ...(cutsCycles === 0 ? {} : { coordinates: cutsFirst(cutsCycles) }),
  };
}

/** An STE snapshot saved by `--mode ste --save-at`: its weights (for the exact network) and what its metadata records. */
async function steSnapshot(dir: string): Promise<{ weights: tf.Tensor[]; seconds: number; steps: number; accuracy: number }> {
  const meta = await readModelMetadata(dir);
  if (typeof meta['trainSeconds'] !== 'number') throw new RangeError(`--init ${dir}: not a snapshot saved by --mode ste --save-at (no trainSeconds in its metadata)`);
  const saved = await loadFloatModel(dir);
  const weights = saved.getWeights().map((w) => w.clone());
  saved.dispose();
  return { weights, seconds: meta['trainSeconds'], steps: Number(meta['steps']), accuracy: Number(meta['testAccuracy']) };
}
