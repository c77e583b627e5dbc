/**
 * A step-bounded run of `rso.fit` on the hard-threshold MNIST network (as in `binary-activations.ts`), for
 * comparing settings at an equal number of steps rather than equal time: the result depends on the seed and the
 * flags only, not on the machine's load.
 *
 *   npm run bench:threshold-steps -- --batch-size 200 --steps 1200 [--fraction 0.05] [--sigma-scale 1]
 *       [--seed 42] [--train-limit 60000] [--out out/threshold-steps]
 *
 * The coordinates are `randomSubset({ fraction })`, so that a short run reaches every layer (a cycle visits that
 * share of each group, output layer first); σ is planned over 2 cycles, as in the benchmark. `--sigma-scale`
 * multiplies the initial-std σ of the tensors below the last threshold. One thread. Writes <out>.json with the
 * test loss and accuracy before and after (10,000 images, BN re-estimated from 2,000 training images), the steps
 * and the accepted steps.
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { evaluateModel, randomSubset, reestimateBatchNorm, RSOOptimizer } from '../../src/index.js';
import { resolveLoss } from '../../src/train/losses.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { loadMnistTensors } from '../lib/mnist-bench.js';
import { loadAverage, machineNote } from '../lib/run-record.js';
import { ThresholdLayer } from '../lib/straight-through.js';
import { thresholdMnistNet } from '../lib/threshold-net.js';
import { scaledBelowThresholds } from '../lib/threshold-probe.js';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: '200' },
    steps: { type: 'string', default: '1200' },
    fraction: { type: 'string', default: '0.05' },
    'sigma-scale': { type: 'string', default: '1' },
    seed: { type: 'string', default: '42' },
    'train-limit': { type: 'string', default: '60000' },
    out: { type: 'string', default: 'out/threshold-steps' },
  },
});
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const steps = intFlag('steps', values.steps, 1);
const fraction = positiveFlag('fraction', values.fraction);
const sigmaScale = positiveFlag('sigma-scale', values['sigma-scale']);
const seed = intFlag('seed', values.seed, 0);
const trainLimit = intFlag('train-limit', values['train-limit'], 1);
const out = values.out ?? 'out/threshold-steps';
// As binary-activations.ts: σ planned over 2 cycles.
const PLANNED_CYCLES = 2;

const loadStart = loadAverage();
const backend = await useWasmOrCpu();
const data = await loadMnistTensors(trainLimit);
const model = await thresholdMnistNet(seed, false);
const optimizer = new RSOOptimizer({ seed, cycles: PLANNED_CYCLES, coordinates: randomSubset({ fraction }), sigmaBase: scaledBelowThresholds(model, (l) => l instanceof ThresholdLayer, sigmaScale) });
model.compile({ optimizer, loss: 'categoricalCrossentropy' });
const initial = onTest();
let accepted = 0;
const onBatchEnd = async () => {
  if (optimizer.lastStepResult!.accepted !== 0) accepted++;
};
await optimizer.fit(model, data.train.xs, data.train.ys, { batchSize, maxSteps: steps, cycles: PLANNED_CYCLES, verbose: 0, callbacks: { onBatchEnd } });
/** Test loss and accuracy on all test images, BN statistics re-estimated from 2,000 training images. */
function onTest(): { loss: number; accuracy: number } {
  reestimateBatchNorm(model, data.bnSample);
  const e = evaluateModel(model, data.test.xs, data.test.ys, resolveLoss('categoricalCrossentropy', 'mean'), 1000);
  return { loss: e.loss, accuracy: e.acc };
}
const test = onTest();
const accuracy = test.accuracy;
console.log(`batch ${batchSize}, σ scale ${sigmaScale} below the thresholds: ${optimizer.step} steps (${accepted} accepted, cycle ${optimizer.cycle}), test loss ${test.loss.toFixed(4)} (initial ${initial.loss.toFixed(4)}), test accuracy ${(accuracy * 100).toFixed(2)}% (initial ${(initial.accuracy * 100).toFixed(2)}%)`);
const record = {
  benchmark: 'threshold-steps',
  backend,
  seed,
  flags: { batchSize, steps, fraction, sigmaScale, trainLimit, plannedCycles: PLANNED_CYCLES },
  result: { steps: optimizer.step, accepted, cycle: optimizer.cycle, testLoss: test.loss, testAccuracy: accuracy, initialTestLoss: initial.loss, initialTestAccuracy: initial.accuracy },
  machine: machineNote(loadStart),
};
await mkdir(dirname(out), { recursive: true });
await writeFile(`${out}.json`, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${out}.json`);
