/**
 * MNIST demo: trains the paper's network with RSO for a short time budget on real MNIST, then writes the
 * recorded curves to `out/mnist-demo.json` and `out/mnist-demo.svg`.
 *
 * Run `npm run demo`, or `npm run demo -- --help` for the flags.
 *
 * @packageDocumentation
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { CustomCallbackArgs } from '@tensorflow/tfjs-layers';
import { PAPER_CYCLES, RSOOptimizer, evaluateModel, fastPreset, randomSubset, reestimateBatchNorm } from '../src/index.js';
import { mnistMean, mnistToTensors, nodeWorkers, progressBar } from '../src/node/index.js';
import { loadMnist } from './lib/smoke.js';
import { MNIST_NET_COUNTS, createMnistNet } from '../src/paper/index.js';
import { useWasmOrCpu } from './lib/backend.js';
import { trainingCurvesSpec, vegaLiteToSvg } from './lib/plot.js';
import type { AccuracyPoint, LossPoint } from './lib/plot.js';

// The paper's MNIST run, for comparison in the summary (arXiv:2005.05955, Sec. 4 and the authors' script).
const PAPER_BATCH_SIZE = 5000;
const PAPER_ACCURACY = 0.991;
// MNIST split sizes: yann.lecun.com/exdb/mnist.
const MNIST_TRAIN_SIZE = 60_000;
const MNIST_TEST_SIZE = 10_000;
// The authors re-estimate BN statistics from 2,000 fixed training images before each test (arXiv:2005.05955).
const BN_SAMPLES = 2000;
// Test images used by the accuracy checks during training (the final check uses --test-limit images).
const PROGRESS_TEST_IMAGES = 1000;
// Accuracy checks during training: one every budget / PROGRESS_CHECKS seconds.
const PROGRESS_CHECKS = 10;
// Forward-pass batch size for evaluation.
const EVAL_BATCH_SIZE = 1000;

// Demo defaults, chosen by measuring 180 s runs on a 2-core machine with the wasm backend. A full sweep
// (output layer first, as in the paper) beat random-fraction sweeps; a 6,000-image training subset beat the
// full 60,000 because its 30 mini-batches repeat within a layer, so fit's model engine reuses their cached
// layer inputs (about 2x more steps, and better accuracy per step); batch 200 beat 50, 100 and 500 for the paper's
// algorithm. The fast preset (block moves, adaptive σ, probe reuse, batch 250 in cycle 0) beat it in the same
// 180 s, so it is the default (the figures: docs/benchmarks.md, "The demo").
const DEFAULTS = {
  batchSize: 200,
  cycles: 1,
  seed: 42,
  budget: 180,
  trainLimit: 6000,
  testLimit: MNIST_TEST_SIZE,
  fraction: undefined as number | undefined,
  preset: 'fast' as 'paper' | 'fast',
  // One thread per core, at most 2 (fit's `workers`: each batch split across worker threads).
  workers: Math.min(2, availableParallelism()),
  out: 'out/',
} as const;

const FLAG_HELP: readonly (readonly [flag: string, text: string])[] = [
  ['--batch-size N', `examples per mini-batch, one RSO step each (default ${DEFAULTS.batchSize}; paper: ${PAPER_BATCH_SIZE})`],
  ['--cycles N', `planned cycles, over which σ anneals (default ${DEFAULTS.cycles}; paper: ${PAPER_CYCLES})`],
  ['--seed N', `seed of the initial weights, the shuffle and RSO (default ${DEFAULTS.seed})`],
  ['--budget S', `training time budget in seconds (default ${DEFAULTS.budget})`],
  ['--train-limit N', `train on the first N of the ${MNIST_TRAIN_SIZE} training images (default ${DEFAULTS.trainLimit})`],
  ['--test-limit N', `final test on the first N of the ${MNIST_TEST_SIZE} test images (default ${DEFAULTS.testLimit})`],
  ['--fraction F', `visit a random fraction F in (0, 1] of each layer per cycle, so that a cycle reaches every layer sooner (default: none, a full sweep as in the paper)`],
  ['--preset P', `fast (default; fastPreset(): block moves, adaptive σ, probe reuse, a batch-size schedule unless --batch-size is given) or paper (the paper's algorithm at --batch-size)`],
  ['--workers N', `threads sharing each step, the batch split across worker threads (default ${DEFAULTS.workers}: one per core, at most 2)`],
  ['--out DIR', `output folder (default ${DEFAULTS.out})`],
  ['--help', 'print this help'],
];

const USAGE = [
  'Usage: npm run demo -- [flags]',
  '',
  "Trains the paper's MNIST network (arXiv:2005.05955) with RSO for a short time budget, tests it on MNIST,",
  'and writes <out>/mnist-demo.json and <out>/mnist-demo.svg.',
  '',
  'Flags:',
  ...FLAG_HELP.map(([flag, text]) => `  ${flag.padEnd(17)} ${text}`),
].join('\n');

/** The parsed and validated command line. */
interface DemoFlags {
  readonly batchSize: number;
  readonly cycles: number;
  readonly seed: number;
  readonly budget: number;
  readonly trainLimit: number;
  readonly testLimit: number;
  readonly fraction: number | undefined;
  readonly preset: 'paper' | 'fast';
  /** Whether --batch-size was given (the fast preset's schedule applies otherwise). */
  readonly batchSizeGiven: boolean;
  readonly workers: number;
  readonly out: string;
}

/** A command-line error: printed with the usage hint, exit code 2. */
class UsageError extends Error {}

function integerFlag(name: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}..${max}`;
    throw new UsageError(`--${name} must be ${range}, got "${raw}"`);
  }
  return value;
}

function numberFlag(name: string, raw: string | undefined, min: number, max: number, minExclusive: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || (minExclusive ? value <= min : value < min) || value > max) {
    const lower = minExclusive ? `> ${min}` : `≥ ${min}`;
    const upper = Number.isFinite(max) ? ` and ≤ ${max}` : '';
    throw new UsageError(`--${name} must be a number ${lower}${upper}, got "${raw}"`);
  }
  return value;
}

/** Parses `argv` (without node and the script); returns null when `--help` was asked for. */
function parseFlags(argv: readonly string[]): DemoFlags | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'batch-size': { type: 'string' },
        cycles: { type: 'string' },
        seed: { type: 'string' },
        budget: { type: 'string' },
        'train-limit': { type: 'string' },
        'test-limit': { type: 'string' },
        fraction: { type: 'string' },
        preset: { type: 'string' },
        workers: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error: unknown) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return null;
  const out = values.out ?? DEFAULTS.out;
  const preset = values.preset ?? DEFAULTS.preset;
  if (preset !== 'paper' && preset !== 'fast') throw new UsageError(`--preset must be paper or fast, got "${preset}"`);
  if (out.trim() === '') throw new UsageError('--out must be a folder path, got ""');
  return {
    batchSize: integerFlag('batch-size', values['batch-size'], DEFAULTS.batchSize, 1),
    cycles: integerFlag('cycles', values.cycles, DEFAULTS.cycles, 1),
    seed: integerFlag('seed', values.seed, DEFAULTS.seed, 0),
    budget: numberFlag('budget', values.budget, 0, Number.POSITIVE_INFINITY, true) ?? DEFAULTS.budget,
    trainLimit: integerFlag('train-limit', values['train-limit'], DEFAULTS.trainLimit, 1, MNIST_TRAIN_SIZE),
    testLimit: integerFlag('test-limit', values['test-limit'], DEFAULTS.testLimit, 1, MNIST_TEST_SIZE),
    fraction: numberFlag('fraction', values.fraction, 0, 1, true) ?? DEFAULTS.fraction,
    preset,
    batchSizeGiven: values['batch-size'] !== undefined,
    workers: integerFlag('workers', values.workers, DEFAULTS.workers, 1, 64),
    out,
  };
}

/** Prints a line without garbling the progress bar, which fit draws on stderr. */
function logLine(message: string): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  console.log(message);
}

function percent(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)}%`;
}

function meanCrossEntropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.mean(tfl.metrics.categoricalCrossentropy(yTrue, yPred)) as tf.Scalar;
}

async function main(): Promise<number> {
  let flags: DemoFlags | null;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error: unknown) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\nRun \`npm run demo -- --help\` for the flags.`);
    return 2;
  }
  if (flags === null) {
    console.log(USAGE);
    return 0;
  }
  const runStart = Date.now();

  const backend = await useWasmOrCpu();
  console.log(`Backend: ${backend}`);

  const data = await loadMnist({ trainLimit: flags.trainLimit, testLimit: flags.testLimit });
  const mean = mnistMean(data);
  const train = mnistToTensors(data.train, { mean });
  const test = mnistToTensors(data.test, { mean });
  const bnSample = tf.slice(train.xs, 0, Math.min(BN_SAMPLES, data.train.count));
  const progressCount = Math.min(PROGRESS_TEST_IMAGES, data.test.count);
  const progressXs = tf.slice(test.xs, 0, progressCount);
  const progressYs = tf.slice(test.ys, 0, progressCount);
  const loadSeconds = (Date.now() - runStart) / 1000;
  console.log(
    `MNIST: ${data.train.count} training and ${data.test.count} test images, train mean pixel ${mean.toFixed(4)} ` +
      `(loaded in ${loadSeconds.toFixed(1)} s)`,
  );

  const model = createMnistNet({ seed: flags.seed });
  const fast = flags.preset === 'fast' ? fastPreset() : null;
  const batchSize = fast !== null && !flags.batchSizeGiven ? fast.batchSize : flags.batchSize;
  const optimizer = new RSOOptimizer({
    ...(fast?.config ?? {}),
    seed: flags.seed,
    cycles: flags.cycles,
    ...(flags.fraction === undefined ? {} : { coordinates: randomSubset({ fraction: flags.fraction }) }),
  });
  const trainable = model.trainableWeights;
  const totalScalars = trainable.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 0), 1), 0);
  if (totalScalars !== MNIST_NET_COUNTS.searched) {
    throw new Error(`expected the paper's network with ${MNIST_NET_COUNTS.searched} trainable scalars, got ${totalScalars}`);
  }
  const visited = trainable.map((w) => new Uint8Array(w.shape.reduce<number>((a, b) => a * (b ?? 0), 1)));
  let visitedCount = 0;

  const lossSeries: LossPoint[] = [];
  const accuracySeries: AccuracyPoint[] = [];
  const progressSet = `${progressCount} test images (during training)`;
  const checkInterval = flags.budget / PROGRESS_CHECKS;
  let nextCheck = checkInterval;
  let evalSeconds = 0;
  let trainStart = Date.now();
  const elapsed = (): number => (Date.now() - trainStart) / 1000;

  /** Accuracy on the progress subset, after re-estimating BN; the time it takes is recorded. */
  const progressAccuracy = (): number => {
    const t = Date.now();
    reestimateBatchNorm(model, bnSample);
    const { acc } = evaluateModel(model, progressXs, progressYs, meanCrossEntropy, EVAL_BATCH_SIZE);
    evalSeconds += (Date.now() - t) / 1000;
    return acc;
  };

  const recorder: CustomCallbackArgs = {
    onBatchEnd: async (_batch, logs) => {
      const step = optimizer.step;
      const seconds = elapsed();
      lossSeries.push({ step, loss: logs?.['loss'] ?? Number.NaN, seconds });
      const last = optimizer.lastStepResult;
      if (last !== null) {
        const seen = visited[last.tensor]!;
        if (seen[last.flat] === 0) {
          seen[last.flat] = 1;
          visitedCount++;
        }
      }
      // The final check happens after training, on the full test set; skip one that would coincide with it.
      if (seconds >= nextCheck && seconds < flags.budget) {
        while (nextCheck <= seconds) nextCheck += checkInterval;
        const acc = progressAccuracy();
        accuracySeries.push({ step, seconds, accuracy: acc, set: progressSet });
        logLine(`step ${step} (${seconds.toFixed(0)} s, cycle ${optimizer.cycle}, ${optimizer.currentGroup()}): test accuracy ${percent(acc)} on ${progressCount} images`);
      }
    },
  };

  console.log(
    `Training: ${fast === null ? '' : 'the fast preset, '}batch ${typeof batchSize === 'number' ? batchSize : `${batchSize(0)} in cycle 0 (a schedule)`}, ${flags.cycles} planned cycle(s), ` +
      `${flags.fraction === undefined ? 'full sweep' : `fraction ${flags.fraction} of each layer per cycle`}, ` +
      `budget ${flags.budget} s, seed ${flags.seed}`,
  );
  const untrained = progressAccuracy();
  evalSeconds = 0;
  accuracySeries.push({ step: 0, seconds: 0, accuracy: untrained, set: progressSet });
  logLine(`step 0: test accuracy ${percent(untrained)} on ${progressCount} images (untrained)`);
  const loadBefore = loadavg()[0]!;
  if (loadBefore >= cpus().length) {
    console.warn(
      `Note: the 1-minute load average is ${loadBefore.toFixed(1)} on ${cpus().length} cores; other processes are using the CPU, ` +
        'so this run will take fewer steps than on an idle machine.',
    );
  }
  trainStart = Date.now();
  const history = await optimizer.fit(model, train.xs, train.ys, {
    loss: 'categoricalCrossentropy',
    batchSize,
    cycles: flags.cycles,
    timeBudgetSeconds: flags.budget,
    verbose: 0,
    batchNormSamples: BN_SAMPLES,
    workers: nodeWorkers(flags.workers),
    callbacks: [progressBar(), recorder],
  });
  const trainSeconds = elapsed();
  const steps = optimizer.step;
  const loadAfter = loadavg()[0]!;
  const checkSeconds = evalSeconds;
  const fitParams = history.params as Record<string, unknown>;
  const engine = String(fitParams['engine'] ?? 'unknown');
  const cacheHits = Number(fitParams['engineCacheHits'] ?? 0);
  const cacheMisses = Number(fitParams['engineCacheMisses'] ?? 0);

  const finalStart = Date.now();
  const subsetAcc = progressAccuracy();
  accuracySeries.push({ step: steps, seconds: trainSeconds, accuracy: subsetAcc, set: progressSet });
  reestimateBatchNorm(model, bnSample);
  const final = evaluateModel(model, test.xs, test.ys, meanCrossEntropy, EVAL_BATCH_SIZE);
  const finalSet = `${data.test.count} test images (final)`;
  accuracySeries.push({ step: steps, seconds: trainSeconds, accuracy: final.acc, set: finalSet });
  const finalEvalSeconds = (Date.now() - finalStart) / 1000;

  const perCycle = optimizer.scalarsPerCycle;
  const firstBatch = typeof batchSize === 'number' ? batchSize : batchSize(0);
  const effectiveBatch = Math.min(firstBatch, data.train.count);
  const deviations: string[] = [
    `a budget of ${flags.budget} s instead of ${PAPER_CYCLES} full cycles`,
    ...(typeof batchSize === 'number' && batchSize !== PAPER_BATCH_SIZE ? [`batch ${batchSize} instead of ${PAPER_BATCH_SIZE}`] : []),
    ...(fast === null ? [] : fast.deviations.filter((d) => flags.batchSizeGiven === false || !d.startsWith('batch size'))),
    ...(flags.cycles !== PAPER_CYCLES ? [`σ annealed over ${flags.cycles} planned cycle(s) instead of ${PAPER_CYCLES}`] : []),
    ...(data.train.count !== MNIST_TRAIN_SIZE ? [`a ${data.train.count}-image training subset instead of ${MNIST_TRAIN_SIZE}`] : []),
    ...(flags.fraction !== undefined ? [`a random ${percent(flags.fraction, 0)} of each layer per cycle instead of every scalar`] : []),
    ...(data.test.count !== MNIST_TEST_SIZE ? [`tested on ${data.test.count} of the ${MNIST_TEST_SIZE} test images`] : []),
  ];
  const summary = {
    backend,
    engine,
    threads: Number(fitParams['workers'] ?? 1),
    engineCacheHits: cacheHits,
    engineCacheMisses: cacheMisses,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadAfter,
    cores: cpus().length,
    batchSize: effectiveBatch,
    trainingExamples: data.train.count,
    examplesDrawn: steps * effectiveBatch,
    testExamples: data.test.count,
    steps,
    cyclesCompleted: optimizer.cycle,
    scalarsPerCycle: perCycle,
    totalScalars,
    scalarsVisited: visitedCount,
    fractionVisited: visitedCount / totalScalars,
    trainSeconds,
    evalSecondsDuringTraining: checkSeconds,
    stepsPerSecond: steps / trainSeconds,
    finalEvalSeconds,
    wallSeconds: (Date.now() - runStart) / 1000,
    finalTestAccuracy: final.acc,
    finalTestLoss: final.loss,
    paperAccuracy: PAPER_ACCURACY,
    deviationsFromPaper: deviations,
  };

  const outDir = resolve(flags.out);
  await mkdir(outDir, { recursive: true });
  const jsonPath = join(outDir, 'mnist-demo.json');
  const svgPath = join(outDir, 'mnist-demo.svg');
  await writeFile(
    jsonPath,
    `${JSON.stringify({ flags: { ...flags, fraction: flags.fraction ?? null }, summary, optimizerConfig: optimizer.getConfig(), loss: lossSeries, accuracy: accuracySeries }, null, 2)}\n`,
  );
  const title = `RSO on MNIST: ${steps} steps in ${trainSeconds.toFixed(0)} s (batch ${effectiveBatch}, ${backend}), final test accuracy ${percent(final.acc)}`;
  await writeFile(svgPath, await vegaLiteToSvg(trainingCurvesSpec({ title, loss: lossSeries, accuracy: accuracySeries })));

  const rows: [string, string][] = [
    ['backend', backend],
    ['candidate engine', engine === 'model' ? `model (layer inputs cached: ${cacheHits} hits, ${cacheMisses} misses)` : engine],
    ['threads', `${summary.threads}${summary.threads > 1 ? ' (each batch split across worker threads)' : ''}`],
    ['batch size', `${effectiveBatch}`],
    ['training examples', `${data.train.count} (${summary.examplesDrawn} drawn in ${steps} mini-batch${steps === 1 ? '' : 'es'})`],
    ['RSO steps', `${steps}`],
    ['cycles completed', `${optimizer.cycle} of ${flags.cycles} planned`],
    ['scalars visited', `${visitedCount} of ${totalScalars} (${percent(summary.fractionVisited, 1)}), one cycle = ${perCycle} scalars${flags.fraction === undefined ? '' : ` × fraction ${flags.fraction}`}`],
    ['training wall time', `${trainSeconds.toFixed(1)} s (of which ${checkSeconds.toFixed(1)} s accuracy checks)`],
    ['steps/s', summary.stepsPerSecond.toFixed(2)],
    ['total wall time', `${summary.wallSeconds.toFixed(1)} s (loading ${loadSeconds.toFixed(1)} s, final test ${finalEvalSeconds.toFixed(1)} s)`],
    ['final test accuracy', `${percent(final.acc)} on ${data.test.count} test images (loss ${final.loss.toFixed(4)})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\n=== RSO MNIST demo summary ===');
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(
    `\nThis is a short budgeted run, not a reproduction: the paper reaches ${percent(PAPER_ACCURACY, 1)} after ` +
      `~${PAPER_CYCLES} cycles at batch ${PAPER_BATCH_SIZE}.\nDeviations from the paper: ${deviations.join('; ')}.`,
  );
  console.log(`\nWrote ${jsonPath}\nWrote ${svgPath}`);

  tf.dispose([train.xs, train.ys, test.xs, test.ys, bnSample, progressXs, progressYs]);
  model.dispose();
  return 0;
}

process.exitCode = await main();
