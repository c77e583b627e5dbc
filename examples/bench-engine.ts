/**
 * Engine benchmark: milliseconds per RSO step for each searched group of the paper's MNIST network, on the
 * closure path (whole model per candidate) and on the model engine (cached cut + suffix), in one run.
 *
 *   npm run bench:engine -- [--batch-size 1000] [--steps 3] [--chunks 60] [--workers 2] [--fraction 0.02]
 *                           [--thread-chunks 3] [--thread-rounds 2] [--skip-closure] [--skip-ceiling]
 *
 * `--chunks` is the number of distinct batches per cycle (training examples / batch size): the model engine
 * computes each chunk's cached input once per group, and that cost is spread over the group's steps.
 *
 * It also times the engine's steps with `batchCandidates` (the three candidates stacked through the layers after
 * the next conv in one pass) on the conv groups.
 *
 * Then `rso.fit` runs one cycle visiting a `--fraction` of every group's scalars (randomSubset), on
 * `--thread-chunks` batches of random data, once with 1 thread and once with `--workers` threads (the batch
 * split across worker threads), and prints ms per step of each group for both, and the speed-up. Those times
 * include everything `fit` does per step, cache misses of the chunks included. The two fits alternate over
 * `--thread-rounds` rounds (1 then N threads, then N then 1, …), so neither always runs first in the process;
 * the table sums all rounds, and each round's own cycle speed-up is printed too.
 *
 * Last, the machine's ceiling for 2 threads (unless `--skip-ceiling`): the same 1-thread fit in a child process
 * alone, in two child processes at once, and alone again; each process runs the fit twice and times the second.
 * Two independent processes share nothing but the hardware, so 2 × (alone time) / (time at once) is the most
 * any 2-thread split of this work can gain on this machine; the sharded fit's speed-up is printed as a share
 * of it.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RSOOptimizer } from '../src/index.js';
import { createMnistNet } from '../src/paper/index.js';
import { createClosureEvaluator } from '../src/engine/closure-evaluator.js';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import { buildGraph, cutGraph } from '../src/engine/graph.js';
import { matchDeltaChain } from '../src/engine/delta-chain.js';
import { createChannelNorm } from '../src/engine/channel-norm.js';
import { resolveLoss } from '../src/train/losses.js';
import { useWasmOrCpu } from './lib/backend.js';
import { machineSpeed } from './lib/run-record.js';
import { threadFit } from './lib/thread-fit.js';
import type { ThreadRun } from './lib/thread-fit.js';

const { values } = parseArgs({
  options: {
    'batch-size': { type: 'string', default: '1000' },
    steps: { type: 'string', default: '3' },
    chunks: { type: 'string', default: '60' },
    workers: { type: 'string', default: '2' },
    fraction: { type: 'string', default: '0.02' },
    'thread-chunks': { type: 'string', default: '3' },
    'thread-rounds': { type: 'string', default: '2' },
    'skip-closure': { type: 'boolean', default: false },
    'skip-ceiling': { type: 'boolean', default: false },
  },
});
const batch = Number(values['batch-size']);
const steps = Number(values.steps);
const chunks = Number(values.chunks);
const workers = Number(values.workers);
const fraction = Number(values.fraction);
const threadChunks = Number(values['thread-chunks']);
const threadRounds = Number(values['thread-rounds']);
if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`--fraction must be in (0, 1], got ${String(values.fraction)}`);
for (const [flag, v] of [['--batch-size', batch], ['--steps', steps], ['--chunks', chunks], ['--workers', workers], ['--thread-chunks', threadChunks], ['--thread-rounds', threadRounds]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${flag} must be a positive integer, got ${String(v)}`);
}

const backend = await useWasmOrCpu();
const model = createMnistNet({ seed: 1 });
const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
const opt = new RSOOptimizer({ seed: 1 });
opt.bind(variables);
const lossFn = resolveLoss('categoricalCrossentropy', 'mean');
const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 3);
const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 4), 10);

const time = (fn: () => void, reps: number): number => {
  fn(); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) fn();
  return (performance.now() - t0) / reps;
};

// Plain matMul in the same run: the machine's reference speed.
const { matMulMs: mmMs, matMulGflops: mmGflops } = machineSpeed();

// Training-mode BN on one block-2 activation: tfjs's kernels against the engine's channel norm (engine/channel-norm.ts).
const bnX = tf.randomNormal([batch, 14, 14, 16], 0.5, 2, 'float32', 5);
const bnGamma = tf.randomUniform([16], 0.5, 1.5, 'float32', 6);
const bnBeta = tf.randomUniform([16], -0.5, 0.5, 'float32', 7);
const norm = createChannelNorm();
const tfjsBnMs = time(() => tf.tidy(() => {
  const m = tf.moments(bnX, [0, 1, 2]);
  tf.batchNorm(bnX, m.mean, m.variance, bnBeta, bnGamma, 1e-3).dataSync();
}), 20);
const ownBnMs = time(() => tf.tidy(() => {
  const m = norm.moments(bnX);
  norm.normalize(bnX, m.mean, m.variance, bnBeta, bnGamma, 1e-3).dataSync();
}), 20);
norm.dispose();
tf.dispose([bnX, bnGamma, bnBeta]);

// FLOPs of the conv and dense layers in a list of graph nodes, for one candidate.
const graph = buildGraph(model);
const layerFlops = (name: string): number => {
  const layer = model.getLayer(name);
  const cls = layer.getClassName();
  const out = layer.outputShape as number[];
  const kernel = layer.trainableWeights.find((w) => w.name.includes('kernel'));
  if (kernel === undefined) return 0;
  const k = kernel.shape as number[];
  if (cls === 'Conv2D') return 2 * batch * out[1]! * out[2]! * k[0]! * k[1]! * k[2]! * k[3]!;
  if (cls === 'Dense') return 2 * batch * k[0]! * k[1]!;
  return 0;
};

const closure = () => lossFn(y, model.apply(x, { training: true }) as tf.Tensor);
const closureEval = createClosureEvaluator(variables, closure);
// As rso.fit builds it: the loss by name lets the softmax output layer take its own delta path.
const loss = { name: 'categoricalCrossentropy', reduction: 'mean' } as const;
const dataLoss = (ys: readonly tf.Tensor[], ps: readonly tf.Tensor[]) => lossFn(ys[0]!, ps[0]!);
const engine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss, { loss });
const batchedEngine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss, { loss, batchCandidates: true });

interface Row { group: string; size: number; closureMs: number; engineMs: number; cutMs: number; flops: number; batchedMs: number }
const rows: Row[] = [];
const sigma = 0.05;
for (const [gi, g] of opt.weightGroups.entries()) {
  const t = g.tensors[0]!;
  const cands = (w: number) => Float32Array.from([w, w + sigma, w - sigma]);
  const stepWith = (ev: { read(t: number, f: number): number; evaluate(t: number, f: number, c: Float32Array): ArrayLike<number>; write(t: number, f: number, v: number): void }, k: number) => {
    const flat = k % variables[t]!.size;
    const w = ev.read(t, flat);
    ev.evaluate(t, flat, cands(w));
    // Accept a small change, as most real steps do, so the engine's kept state must catch up on the next step.
    ev.write(t, flat, w + sigma / 8);
  };
  let k = 0;
  const closureMs = values['skip-closure'] ? NaN : time(() => stepWith(closureEval, k++), steps);
  // Cache miss (the cut of a new chunk), then steady state on cached chunks.
  engine.setBatch(`bench/${gi}/miss`, [x], [y]);
  const t0 = performance.now();
  stepWith(engine, k++);
  const missMs = performance.now() - t0;
  const engineMs = time(() => {
    engine.setBatch(`bench/${gi}/miss`, [x], [y]);
    stepWith(engine, k++);
  }, Math.max(steps, 5));
  const cutMs = Math.max(missMs - engineMs, 0);
  // The same steps with the candidates stacked through the rest in one pass (conv groups only). Each evaluator
  // keeps its own heads, so it runs after the other has finished with the group.
  batchedEngine.setBatch(`bench/${gi}/batched`, [x], [y]);
  stepWith(batchedEngine, k++);
  const batchedMs = time(() => {
    batchedEngine.setBatch(`bench/${gi}/batched`, [x], [y]);
    stepWith(batchedEngine, k++);
  }, Math.max(steps, 5));
  const layers = new Set(g.tensors.map((ti) => model.layers.find((l) => l.trainableWeights.some((w) => w.read().id === variables[ti]!.id))!.name));
  const cut = cutGraph(graph, layers);
  const chain = matchDeltaChain(graph, cut, layers);
  const sum = (nodes: readonly { layer: { name: string } }[]) => nodes.reduce((s, n) => s + layerFlops(n.layer.name), 0);
  // FLOPs the engine actually runs per step: on the delta path the head once and the rest per candidate
  // (the one-channel deltas are negligible); otherwise the whole suffix per candidate.
  const flops = chain === null ? 3 * sum(cut.suffix) : sum(chain.head) + 3 * sum(chain.rest);
  rows.push({ group: g.name, size: g.size, closureMs, engineMs, cutMs, flops, batchedMs: chain === null ? NaN : batchedMs });
}

console.log(`\nEngine benchmark: paper MNIST network (12,016 scalars), batch ${batch}, backend ${backend}, ${new Date().toISOString()}`);
console.log(`plain matMul 1000x784 @ 784x128: ${mmMs.toFixed(2)} ms = ${mmGflops.toFixed(1)} GFLOP/s`);
console.log(
  `training-mode BN of [${batch}, 14, 14, 16] (moments + normalise): tf.moments + tf.batchNorm ${tfjsBnMs.toFixed(2)} ms, ` +
    `engine's channel norm ${ownBnMs.toFixed(2)} ms (${(tfjsBnMs / ownBnMs).toFixed(2)}x; the fast kernels are used on wasm only)\n`,
);
console.log('group (output → input)                scalars  closure ms/step  engine ms/step  +cut ms/step  ratio   engine GFLOP/s (conv+dense FLOPs run)');
let closureTotal = 0;
let engineTotal = 0;
for (const r of [...rows].reverse()) {
  const amortizedCut = (r.cutMs * Math.min(chunks, r.size)) / r.size;
  const perStep = r.engineMs + amortizedCut;
  closureTotal += r.size * r.closureMs;
  engineTotal += r.size * perStep;
  console.log(
    `${r.group.padEnd(38)} ${String(r.size).padStart(7)}  ${r.closureMs.toFixed(1).padStart(15)}  ${r.engineMs.toFixed(1).padStart(14)}  ${amortizedCut.toFixed(2).padStart(12)}  ${(r.closureMs / perStep).toFixed(1).padStart(5)}x  ${(r.flops / (r.engineMs * 1e6)).toFixed(1).padStart(14)}`,
  );
}
console.log(`\nwhole cycle (estimate from the per-step times above, ${chunks} chunks per cycle):`);
console.log(`  closure path: ${(closureTotal / 60000).toFixed(1)} min`);
console.log(`  model engine: ${(engineTotal / 60000).toFixed(1)} min`);
console.log(`  ratio:        ${(closureTotal / engineTotal).toFixed(2)}x`);
console.log('\nbatched candidates (the three stacked through the layers after the next conv, one pass; conv groups):');
console.log('group (output → input)                engine ms/step  batched ms/step  batched / engine');
for (const r of [...rows].reverse()) {
  if (Number.isNaN(r.batchedMs)) continue;
  console.log(`${r.group.padEnd(38)} ${r.engineMs.toFixed(1).padStart(14)}  ${r.batchedMs.toFixed(1).padStart(15)}  ${(r.batchedMs / r.engineMs).toFixed(2).padStart(15)}x`);
}
closureEval.dispose();
engine.dispose();
batchedEngine.dispose();

// Threads: the same fit, 1 thread against `--workers` threads, in this run.
const threadRun = (threads: number): Promise<ThreadRun> => threadFit({ threads, fraction, chunks: threadChunks, batch });
// Alternate the order between rounds, and sum each thread count's steps and times over the rounds.
const merge = (runs: readonly ThreadRun[]): ThreadRun => {
  const perGroup = new Map<string, { ms: number; steps: number }>();
  for (const r of runs) {
    for (const [g, v] of r.perGroup) {
      const m = perGroup.get(g) ?? { ms: 0, steps: 0 };
      perGroup.set(g, { ms: m.ms + v.ms, steps: m.steps + v.steps });
    }
  }
  return { perGroup, setupMs: Math.max(...runs.map((r) => r.setupMs)) };
};
const singles: ThreadRun[] = [];
const multis: ThreadRun[] = [];
for (let round = 0; round < threadRounds; round++) {
  if (round % 2 === 0) {
    singles.push(await threadRun(1));
    multis.push(await threadRun(workers));
  } else {
    multis.push(await threadRun(workers));
    singles.push(await threadRun(1));
  }
}
const cycleMs = (run: ThreadRun): number => {
  let total = 0;
  for (const r of rows) {
    const g = run.perGroup.get(r.group);
    if (g !== undefined) total += (r.size * g.ms) / g.steps;
  }
  return total;
};
const single = merge(singles);
const multi = merge(multis);
console.log(`\nThreads: rso.fit, one cycle over ${fraction} of each group's scalars, ${threadChunks} chunks of random data, batch ${batch}, ${threadRounds} round(s) in alternating order`);
console.log(`worker start-up (model, optimizer and data copied to ${workers - 1} worker thread(s)): ${multi.setupMs.toFixed(0)} ms`);
console.log(`group (output → input)                steps  1 thread ms/step  ${workers} threads ms/step  speed-up`);
const oneTotal = cycleMs(single);
const manyTotal = cycleMs(multi);
let closureCycle = 0;
for (const r of [...rows].reverse()) {
  const a = single.perGroup.get(r.group);
  const b = multi.perGroup.get(r.group);
  if (a === undefined || b === undefined) continue;
  const msA = a.ms / a.steps;
  const msB = b.ms / b.steps;
  closureCycle += r.size * r.closureMs;
  console.log(`${r.group.padEnd(38)} ${String(a.steps).padStart(5)}  ${msA.toFixed(1).padStart(16)}  ${msB.toFixed(1).padStart(18)}  ${(msA / msB).toFixed(2).padStart(7)}x`);
}
console.log(`whole cycle (estimate: each group's ms/step × its scalars):`);
console.log(`  1 thread:   ${(oneTotal / 60000).toFixed(1)} min`);
console.log(`  ${workers} threads: ${(manyTotal / 60000).toFixed(1)} min`);
console.log(`  speed-up of ${workers} threads over 1: ${(oneTotal / manyTotal).toFixed(2)}x`);
console.log(`  per round: ${singles.map((one, i) => `${(cycleMs(one) / cycleMs(multis[i]!)).toFixed(2)}x (${i % 2 === 0 ? '1 thread first' : `${workers} threads first`})`).join(', ')}`);
if (Number.isFinite(closureCycle)) console.log(`  closure path / ${workers} threads: ${(closureCycle / manyTotal).toFixed(2)}x`);

if (!values['skip-ceiling'] && workers === 2) {
  // The machine's ceiling: the same 1-thread fit in child processes, alone, two at once, and alone again.
  const fitInChild = (): Promise<ThreadRun> =>
    new Promise((resolve, reject) => {
      const script = fileURLToPath(new URL('./lib/fit-once.ts', import.meta.url));
      const args = ['--import', 'tsx', script, '--fraction', String(fraction), '--chunks', String(threadChunks), '--batch-size', String(batch)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        const line = out.split('\n').find((l) => l.startsWith('RESULT '));
        if (code !== 0 || line === undefined) return reject(new Error(`fit-once exited with code ${code}: ${err.slice(-2000)}`));
        const r = JSON.parse(line.slice('RESULT '.length)) as { perGroup: [string, { ms: number; steps: number }][]; setupMs: number };
        resolve({ perGroup: new Map(r.perGroup), setupMs: r.setupMs });
      });
    });
  // Alone before and after the pair, so that a drift during the run shows and is averaged.
  const before = cycleMs(await fitInChild());
  const together = await Promise.all([fitInChild(), fitInChild()]);
  const after = cycleMs(await fitInChild());
  const alone = (before + after) / 2;
  const atOnce = together.reduce((sum, r) => sum + cycleMs(r), 0) / together.length;
  const ceiling = (2 * alone) / atOnce;
  console.log(`\nCeiling: the same 1-thread fit in child processes (each after a warm-up fit), cycle estimates:`);
  console.log(`  one process alone:     ${(before / 60000).toFixed(1)} min before the pair, ${(after / 60000).toFixed(1)} min after it`);
  console.log(`  two processes at once: ${together.map((r) => (cycleMs(r) / 60000).toFixed(1)).join(' and ')} min (each ${(atOnce / alone).toFixed(2)}x as long as alone)`);
  console.log(`  ceiling of 2 threads on this machine: ${ceiling.toFixed(2)}x; the 2-thread fit above reached ${(oneTotal / manyTotal).toFixed(2)}x, ${((100 * oneTotal) / manyTotal / ceiling).toFixed(0)}% of it`);
}
