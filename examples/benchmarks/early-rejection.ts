/**
 * Early rejection against the full batch on the paper's MNIST network: the same seed, init and batches, with and
 * without `earlyRejection()`, for a number of steps from the start (output layer first). Prints, per run, the
 * steps decided at each stage, the examples evaluated per candidate, the first step whose decision differs from
 * the run without it (the weights part from there on), the training loss of the last batch, and the wall time.
 *
 *   npx tsx examples/benchmarks/early-rejection.ts [--steps 600] [--batch 1000] [--train 10000] [--error-rates 0.05,0.2]
 */
import { RSOOptimizer, earlyRejection } from '../../src/index.js';
import type { RSOConfig } from '../../src/index.js';
import { createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';
import { loadMnistTensors } from '../lib/mnist-bench.js';

const args = process.argv.slice(2);
const valueOf = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1]!;
};
const steps = intFlag('steps', valueOf('steps', '600'), 1);
const batchSize = intFlag('batch', valueOf('batch', '1000'), 1);
const trainLimit = intFlag('train', valueOf('train', '10000'), batchSize);
const errorRates = valueOf('error-rates', '0.05,0.2').split(',').map(Number);

const backend = await useWasmOrCpu();
const data = await loadMnistTensors(trainLimit);

/** One run: the accepted candidate of every step, the counters and the time. */
async function run(config: RSOConfig) {
  const model = createMnistNet({ seed: 1 });
  const opt = new RSOOptimizer({ seed: 42, cycles: 50, ...config });
  const accepted: number[] = [];
  const t0 = performance.now();
  const history = await opt.fit(model, data.train.xs, data.train.ys, {
    loss: 'categoricalCrossentropy', batchSize, maxSteps: steps, verbose: 0, batchNormSamples: 0,
    callbacks: { onBatchEnd: async () => void accepted.push(opt.lastStepResult!.accepted) },
  });
  const seconds = (performance.now() - t0) / 1000;
  const losses = history.history['loss'] as number[];
  model.dispose();
  return { accepted, params: history.params, seconds, lastLoss: losses[losses.length - 1]! };
}

const plain = await run({});
console.log(JSON.stringify({ backend, steps, batchSize, run: 'full batch', examples: steps * batchSize, seconds: +plain.seconds.toFixed(1), lastLoss: plain.lastLoss }));
for (const errorRate of errorRates) {
  const r = await run({ earlyRejection: earlyRejection({ errorRate }) });
  const first = r.accepted.findIndex((a, k) => a !== plain.accepted[k]);
  console.log(JSON.stringify({
    backend, steps, batchSize, run: `earlyRejection errorRate ${errorRate}`,
    decidedPerStage: r.params['engineStagesDecided'], evaluatedPerStage: r.params['engineStagesEvaluated'],
    examples: r.params['engineStageExamples'], examplesRatio: +(Number(r.params['engineStageExamples']) / (steps * batchSize)).toFixed(3),
    firstDifferentDecision: first < 0 ? null : first, seconds: +r.seconds.toFixed(1), timeRatio: +(r.seconds / plain.seconds).toFixed(2), lastLoss: r.lastLoss,
  }));
}
