/**
 * The hard-threshold warm start: a float MNIST network trained with Adam has its ReLUs switched to hard thresholds
 * H(y − t), each cut t and height fitted per channel to the ReLU it replaces, and RSO then trains the exact
 * threshold network.
 *
 *   npm run bench:threshold-switch -- [--float examples/benchmarks/weights/mnist-float] [--sample 300] [--train-limit 60000]
 *       [--budget 600] [--batch-size 500] [--workers 2] [--sigma 0.1] [--cycles 4] [--eval-every 60]
 *       [--refit] [--fast] [--cuts-first 0] [--skip-groups 0] [--checkpoint .cache/threshold-switch] [--fresh] [--out out/threshold-switch]
 *
 * - `--float`: a float model saved by `npm run bench:train-float` (`--out DIR`), or `committed`; its training time, from its
 *   model.json, is added to every time on the curve, so a row's time is the whole workflow's.
 * - `--sample`: training images for the fit (and for the BN statistics while fitting); `--refit`: after each
 *   threshold, the next conv or Dense kernel is refitted by least squares to the float layer's output.
 * - `--budget`: this sitting's RSO training time; `--sigma`: the σ factor of the first planned cycle (it falls
 *   linearly to a tenth of it over `--cycles`), times each tensor's std in the switched network; `--fast`: the
 *   `fast` preset's policies (block moves, adaptive σ, probe reuse), the batch size still `--batch-size`;
 *   `--cuts-first N`: the first N cycles skip the conv kernels (`cutsFirst`, examples/lib/cuts-first.ts);
 *   `--skip-groups N`: the N input-side groups are never searched (`skipGroups`, examples/lib/skip-groups.ts).
 *
 * Test accuracy is on all 10,000 test images after re-estimating BN statistics from 2,000 training images, for the
 * float model, the network right after the switch, and every `--eval-every` seconds of RSO training.
 * Writes <out>.json (curve, fits, flags, load averages) and <out>.svg.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { RSOOptimizer, fastPreset, linearSchedule, registerWasmTrainingKernels } from '../../src/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { FLOAT_MODEL_DIR, loadFloatModel, readModelMetadata } from '../lib/float-model.js';
import { loadMnistTensors, testAccuracy } from '../lib/mnist-bench.js';
import { loadAverage, machineNote, writeRun } from '../lib/run-record.js';
import { rsoRecord, rsoSittings } from '../lib/rso-sittings.js';
import { cutsFirst } from '../lib/cuts-first.js';
import { skipGroups } from '../lib/skip-groups.js';
import { switchToThresholds, thresholdTwin } from '../lib/threshold-switch.js';

const { values } = parseArgs({
  options: {
    float: { type: 'string', default: FLOAT_MODEL_DIR },
    sample: { type: 'string', default: '300' },
    'train-limit': { type: 'string', default: '60000' },
    budget: { type: 'string', default: '600' },
    'batch-size': { type: 'string', default: '500' },
    workers: { type: 'string', default: '2' },
    sigma: { type: 'string', default: '0.1' },
    cycles: { type: 'string', default: '4' },
    'eval-every': { type: 'string', default: '60' },
    seed: { type: 'string', default: '42' },
    checkpoint: { type: 'string', default: '.cache/threshold-switch' },
    fresh: { type: 'boolean', default: false },
    refit: { type: 'boolean', default: false },
    fast: { type: 'boolean', default: false },
    'cuts-first': { type: 'string', default: '0' },
    'skip-groups': { type: 'string', default: '0' },
    out: { type: 'string', default: 'out/threshold-switch' },
  },
});
const seed = intFlag('seed', values.seed, 0);
// `--float committed` names the committed model from any working directory.
const floatDir = values.float === 'committed' ? FLOAT_MODEL_DIR : values.float!;
const sample = intFlag('sample', values.sample, 1);
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const workers = intFlag('workers', values.workers, 1);
const plannedCycles = intFlag('cycles', values.cycles, 1);
const sigma = positiveFlag('sigma', values.sigma);
const cutsCycles = intFlag('cuts-first', values['cuts-first'], 0);
const skipped = intFlag('skip-groups', values['skip-groups'], 0);
if (cutsCycles > 0 && skipped > 0) throw new RangeError('--cuts-first and --skip-groups both set the coordinates policy: give one');
const loadStart = loadAverage();

const backend = await useWasmOrCpu();
registerWasmTrainingKernels();
const meta = await readModelMetadata(floatDir);
const floatSeconds = typeof meta['trainSeconds'] === 'number' ? meta['trainSeconds'] : 0;
const data = await loadMnistTensors(intFlag('train-limit', values['train-limit'], 1), typeof meta['inputMean'] === 'number' ? meta['inputMean'] : undefined);
console.log(`threshold switch: backend ${backend}, float model ${floatDir} (${floatSeconds} s of Adam), load ${loadStart.join(' ')}`);

let switchRecord: Record<string, unknown> = {};
let fitSeconds = 0;
const run = await rsoSittings({
  method: `float (Adam) → switch → RSO (batch ${batchSize})`,
  data,
  create: async () => {
    const float = await loadFloatModel(floatDir);
    const floatAccuracy = testAccuracy(float, data);
    const twin = await thresholdTwin(float, false);
    const plainAccuracy = testAccuracy(twin, data);
    const t0 = performance.now();
    const fitSample = tf.slice(data.train.xs, 0, sample);
    const fits = switchToThresholds(float, twin, fitSample, { refit: values.refit });
    fitSample.dispose();
    fitSeconds = (performance.now() - t0) / 1000;
    const switched = testAccuracy(twin, data);
    float.dispose();
    switchRecord = { floatAccuracy, plainAccuracy, switchedAccuracy: switched, fitSeconds, residuals: Object.fromEntries(fits.map((f) => [f.layer, f.residual])) };
    console.log(`float ${(floatAccuracy * 100).toFixed(2)}%, plain swap ${(plainAccuracy * 100).toFixed(2)}%, switched ${(switched * 100).toFixed(2)}% (fit ${fitSeconds.toFixed(1)} s, residuals ${fits.map((f) => f.residual.toFixed(2)).join(' ')})`);
    twin.compile({ optimizer: new RSOOptimizer({ ...(values.fast ? fastPreset().config : {}), ...(cutsCycles > 0 ? { coordinates: cutsFirst(cutsCycles) } : {}), ...(skipped > 0 ? { coordinates: skipGroups(skipped) } : {}), seed, cycles: plannedCycles, sigma: linearSchedule({ from: sigma, to: sigma / 10 }) }), loss: 'categoricalCrossentropy' });
    return twin;
  },
  batchSize,
  plannedCycles,
  workers,
  workerModules: [new URL('../lib/straight-through.ts', import.meta.url), new URL('../lib/cuts-first.ts', import.meta.url), new URL('../lib/skip-groups.ts', import.meta.url)],
  budgetSeconds: positiveFlag('budget', values.budget),
  evalEverySeconds: positiveFlag('eval-every', values['eval-every']),
  checkpointDir: values.checkpoint!,
  fresh: values.fresh ?? false,
});
const record = rsoRecord(run);
// Every time on the curve counts the float model's Adam training and the fit before it (a resumed sitting does not
// refit: it counts the float training only).
const points = record.points.map((p) => ({ ...p, seconds: p.seconds + floatSeconds + fitSeconds }));
const final = points[points.length - 1]!;
console.log(`${run.optimizer.step} steps, ${run.trainSeconds.toFixed(0)} s of RSO after ${floatSeconds} s of Adam and ${fitSeconds.toFixed(1)} s of fitting: test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
await writeRun(values.out!, 'MNIST, hard-threshold network: float (Adam) → switch → RSO', {
  benchmark: 'threshold-switch',
  backend,
  seed,
  flags: { refit: values.refit, fast: values.fast, cutsFirst: cutsCycles, skipGroups: skipped, float: floatDir, sample, batchSize, workers, sigma, plannedCycles, budget: values.budget },
  floatModel: { trainSeconds: floatSeconds, command: meta['command'], steps: meta['steps'], testAccuracy: meta['testAccuracy'] },
  switch: switchRecord,
  ...record,
  points,
  machine: machineNote(loadStart),
});
