/**
 * One full RSO cycle of the paper's MNIST network on real MNIST, with 1 thread and then with `--workers`
 * threads, in one process: the seconds each group's steps took in both, and the speed-up per group and for
 * the cycle. Both fits start from the same seeded weights and optimizer, and each runs in a fresh model.
 * `--fraction` below 1 visits only that share of each group's scalars (randomSubset), for a quick check.
 *
 *   npx tsx examples/benchmarks/thread-cycle.ts [--batch-size 1000] [--workers 2] [--seed 42] [--planned-cycles 50]
 *                                              [--train-limit N] [--order 1-first|n-first] [--fraction 1]
 *
 * The 1-thread fit runs first by default: a fit that runs second in a process has read slower in some runs
 * (docs/benchmarks.md), so this order does not favour the threads. A cycle at batch 1000 takes about half an
 * hour on one thread here.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { RSOOptimizer, randomSubset } from '../../src/index.js';
import { mnistMean, mnistToTensors, nodeWorkers } from '../../src/node/index.js';
import { loadMnist } from '../lib/smoke.js';
import { createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { groupTimer } from '../lib/thread-fit.js';
import { intFlag } from '../lib/flags.js';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    'planned-cycles': { type: 'string', default: '50' },
    'train-limit': { type: 'string' },
    order: { type: 'string', default: '1-first' },
    fraction: { type: 'string', default: '1' },
  },
});
const batchSize = intFlag('batch-size', values['batch-size'], 1);
const workers = intFlag('workers', values.workers, 2);
const seed = intFlag('seed', values.seed, 0);
const planned = intFlag('planned-cycles', values['planned-cycles'], 1);
const trainLimit = values['train-limit'] === undefined ? undefined : intFlag('train-limit', values['train-limit'], 1);
const fraction = Number(values.fraction);
if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`--fraction must be in (0, 1], got ${String(values.fraction)}`);
if (values.order !== '1-first' && values.order !== 'n-first') throw new RangeError(`--order must be 1-first or n-first, got ${String(values.order)}`);

const backend = await useWasmOrCpu();
const data = await loadMnist(trainLimit === undefined ? {} : { trainLimit });
const train = mnistToTensors(data.train, { mean: mnistMean(data) });

/** One cycle with `threads` threads: seconds per group (steps only) and the whole fit. */
async function cycle(threads: number) {
  const model = createMnistNet({ seed });
  const optimizer = new RSOOptimizer({ seed, cycles: planned, ...(fraction < 1 ? { coordinates: randomSubset({ fraction }) } : {}) });
  const timer = groupTimer(optimizer);
  const t0 = performance.now();
  await optimizer.fit(model, train.xs, train.ys, { loss: 'categoricalCrossentropy', batchSize, cycles: 1, workers: nodeWorkers(threads), verbose: 0, callbacks: timer.callbacks });
  const seconds = (performance.now() - t0) / 1000;
  const weights = Float32Array.from(model.trainableWeights.flatMap((w) => Array.from(w.read().dataSync())));
  model.dispose();
  return { perGroup: timer.perGroup, seconds, weights, steps: optimizer.step };
}

console.log(`Thread cycle: real MNIST (${data.train.count} images), paper network, batch ${batchSize}, ${fraction < 1 ? `${fraction} of each group's scalars` : 'every scalar'}, backend ${backend}, seed ${seed}, ${new Date().toISOString()}`);
const counts = values.order === '1-first' ? [1, workers] : [workers, 1];
const runs = new Map<number, Awaited<ReturnType<typeof cycle>>>();
for (const threads of counts) {
  const r = await cycle(threads);
  runs.set(threads, r);
  console.log(`${threads} thread(s): ${r.steps} steps, ${(r.seconds / 60).toFixed(1)} min for the whole fit`);
}
const one = runs.get(1)!;
const many = runs.get(workers)!;
console.log(`group (output → input)                steps  1 thread s  ${workers} threads s  speed-up`);
let a = 0;
let b = 0;
for (const [g, v] of one.perGroup) {
  const w = many.perGroup.get(g);
  if (w === undefined) continue;
  a += v.ms / 1000;
  b += w.ms / 1000;
  console.log(`${g.padEnd(38)} ${String(v.steps).padStart(5)}  ${(v.ms / 1000).toFixed(1).padStart(10)}  ${(w.ms / 1000).toFixed(1).padStart(11)}  ${(v.ms / w.ms).toFixed(2).padStart(7)}x`);
}
console.log(`cycle (steps only): ${(a / 60).toFixed(1)} min on 1 thread, ${(b / 60).toFixed(1)} min on ${workers}: ${(a / b).toFixed(2)}x`);
console.log(`whole fit (with BN re-estimation): ${(one.seconds / 60).toFixed(1)} against ${(many.seconds / 60).toFixed(1)} min: ${(one.seconds / many.seconds).toFixed(2)}x`);
let diff = 0;
for (let i = 0; i < one.weights.length; i++) diff = Math.max(diff, Math.abs(one.weights[i]! - many.weights[i]!));
console.log(`largest weight difference between the two fits: ${diff.toExponential(2)} (shard sums round differently, so a near-tie may part them)`);
tf.dispose([train.xs, train.ys]);
