/**
 * Time to accuracy on MNIST (the paper's network, all 60,000 training images): RSO at the paper's settings, RSO
 * with each time-to-accuracy option alone, the combined `fast` preset, and SGD and Adam.
 *
 *   npm run bench:time-to-accuracy -- --variant <name> [--budget 3600] [--eval-every 60] [--workers 2]
 *       [--seed 42] [--checkpoint <dir>] [--fresh] [--out out/tta-<name>]
 *   npm run bench:time-to-accuracy -- --summary out/tta-paper.json,out/tta-fast.json,… [--at 420] [--out out/time-to-accuracy]
 *
 * Variants: `paper`, `batch-schedule`, `adaptive-sigma`, `block-moves`, `early-rejection`, `fast`, `sgd`, `adam`
 * (`--variant list` prints each with its settings and its deviations from the paper). Each run trains for
 * `--budget` seconds of training time (evaluation excluded), measuring test accuracy on all 10,000 test images
 * (BN statistics re-estimated from 2,000 training images first) every `--eval-every` seconds. RSO runs go in
 * sittings: a run stopped by SIGINT/SIGTERM, or split with a smaller `--budget`, resumes from its checkpoint.
 * Writes <out>.json and <out>.svg per run; `--summary` reads run records and writes the table (time to 90% and
 * 95%, accuracy after `--at` training seconds and at the end, forward work, weight updates, the load, and the
 * range of the host's speed, a plain matMul in GFLOP/s measured with every test measurement, since it has varied
 * by more than 2× between and within sessions) as <out>.md, <out>.json and the joint plot <out>.svg.
 * To stop a run early and keep its results, start it as `node --import tsx examples/benchmarks/time-to-accuracy.ts …`
 * and send SIGINT or SIGTERM to that process.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as rso from '../../src/index.js';
import { buildGraph } from '../../src/engine/graph.js';
import { MNIST_NET_COUNTS, createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { adamRace, loadMnistTensors } from '../lib/mnist-bench.js';
import { rsoRecord, rsoSittings } from '../lib/rso-sittings.js';
import { loadAverage, machineNote, writeRun } from '../lib/run-record.js';
import type { CurvePoint } from '../lib/run-record.js';
import { summarizeRuns } from '../lib/time-to-accuracy.js';
import { GRADIENT_VARIANTS, RSO_VARIANTS, describeVariants } from '../lib/tta-variants.js';

const { values } = parseArgs({
  options: {
    variant: { type: 'string' },
    budget: { type: 'string', default: '3600' },
    'eval-every': { type: 'string', default: '60' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    checkpoint: { type: 'string' },
    fresh: { type: 'boolean', default: false },
    summary: { type: 'string' },
    at: { type: 'string', default: '420' },
    out: { type: 'string' },
  },
});


if (values.summary !== undefined) {
  const records = await Promise.all(values.summary.split(',').map(async (f) => JSON.parse(await readFile(f, 'utf8')) as Record<string, unknown>));
  await summarizeRuns(records, values.out ?? 'out/time-to-accuracy', positiveFlag('at', values.at));
} else if (values.variant === 'list' || values.variant === undefined) {
  console.log(describeVariants());
  if (values.variant === undefined) process.exitCode = 1;
} else {
  await runVariant(values.variant);
}

async function runVariant(name: string): Promise<void> {
  const rsoVariant = RSO_VARIANTS[name];
  const gradient = GRADIENT_VARIANTS[name];
  if (rsoVariant === undefined && gradient === undefined) throw new RangeError(`--variant: unknown "${name}"; ${describeVariants()}`);
  const budgetSeconds = positiveFlag('budget', values.budget);
  const evalEverySeconds = positiveFlag('eval-every', values['eval-every']);
  const seed = intFlag('seed', values.seed, 0);
  const out = values.out ?? `out/tta-${name}`;
  const loadStart = loadAverage();
  const backend = await useWasmOrCpu();
  rso.registerWasmTrainingKernels();
  const data = await loadMnistTensors(60_000);
  console.log(`time to accuracy, ${name}: backend ${backend}, ${data.trainCount} training images, load ${loadStart.join(' ')}`);
  const common = { benchmark: 'time-to-accuracy', variant: name, backend, seed, trainImages: data.trainCount, testImages: 10_000, budgetSeconds, evalEverySeconds, date: new Date().toISOString() };
  const title = `MNIST, paper network: ${name}`;
  if (gradient !== undefined) {
    const model: tfl.LayersModel = createMnistNet({ seed });
    const optimizer = gradient.optimizer();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const race = await adamRace({
      method: gradient.label,
      data,
      testModel: () => model,
      step: (xs, ys) => {
        // The network ends in a softmax: the loss is the categorical cross-entropy of its probabilities, as for RSO.
        optimizer.minimize(() => tf.mean(tfl.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar, false, vars);
      },
      batchSize: gradient.batchSize,
      budgetSeconds,
      evalEverySeconds,
      scalars: MNIST_NET_COUNTS.searched,
      seed,
    });
    // Forward work as the model engine counts it (examples × layers), forward passes only.
    const layers = buildGraph(model).nodes.length;
    const points = race.points.map((p) => ({ ...p, forwardWork: p.steps * gradient.batchSize * layers }));
    const summary = { steps: race.steps, epochs: race.epochs, trainSeconds: race.trainSeconds, wallSeconds: race.wallSeconds, cpuSeconds: race.cpuSeconds };
    await writeRun(out, title, {
      ...common, label: gradient.label, settings: gradient.settings, updatesCounted: 'steps × 12,016 trainable scalars',
      forwardWorkCounted: `steps × batch × ${layers} layers: the forward passes only (each step's backward pass costs about twice as much again)`,
      summary, machine: machineNote(loadStart), points,
    });
    return;
  }
  const v = rsoVariant!;
  const workers = intFlag('workers', values.workers, 1);
  const run = await rsoSittings({
    method: v.label,
    data,
    create: async () => {
      const model: tfl.LayersModel = createMnistNet({ seed });
      model.compile({ optimizer: new rso.RSOOptimizer({ seed, ...v.config() }), loss: 'categoricalCrossentropy' });
      return model;
    },
    batchSize: v.batchSize(),
    plannedCycles: v.runCycles,
    workers,
    budgetSeconds,
    evalEverySeconds,
    checkpointDir: values.checkpoint ?? `.cache/tta-${name}`,
    fresh: values.fresh ?? false,
  });
  const final: CurvePoint = run.carry.points[run.carry.points.length - 1]!;
  console.log(`${v.label}: ${run.optimizer.step} steps, cycle ${run.optimizer.cycle}, ${run.trainSeconds.toFixed(0)} s, test accuracy ${(final.accuracy * 100).toFixed(2)}%`);
  await writeRun(out, title, { ...common, label: v.label, settings: v.settings, deviations: v.deviations, workers, ...rsoRecord(run), machine: machineNote(loadStart) });
}
