/**
 * Gradient-free peers of RSO on the same tasks: OpenES, SNES, CMA-ES, SPSA as in MeZO, sparse forward differences
 * as in DeepZero, and a genetic algorithm as in ml5.js (examples/benchmarks/peers).
 *
 *   npm run bench:peers -- --task mnist|threshold --method <peer> [--budget 1500] [--eval-every 60]
 *       [--batch-size 1000] [--seed 42] [--set key=value,…] [--out out/peers-<task>-<peer>]
 *   npm run bench:peers -- --task cartpole|acrobot --method <peer> [--runs 20] [--budget 600] [--hidden 8]
 *       [--episodes 10] [--set key=value,…] [--out out/peers-<task>-<peer>]
 *   npm run bench:peers -- --method list
 *
 * MNIST tasks (`mnist`: the paper's network; `threshold`: the same with hard-threshold activations): the peer
 * trains for `--budget` seconds of training time on all 60,000 training images, one generation per mini-batch,
 * the mini-batches those of `rso.fit` with the same seed; test accuracy on all 10,000 test images (BN statistics
 * re-estimated from 2,000 training images) every `--eval-every` seconds. Writes <out>.json and <out>.svg: test
 * accuracy against training time, forward work (examples × layers) and the load average.
 * Control tasks: runs 1…`--runs`, run r seeded with r, each until the mean return over 100 fresh evaluation
 * episodes reaches the task's target (CartPole 475, Acrobot −100) or `--budget` wall seconds; a 4→h→2 (CartPole)
 * or 6→h→3 (Acrobot) tanh policy played in plain JavaScript. Writes <out>.json: solve rate, environment steps,
 * wall time and training time (wall time less the evaluation episodes' time) per run, the medians over solved
 * runs, and the load average.
 * `--method rso` runs RSO through the same runner on the control tasks (the same initial networks and episodes;
 * `RSOOptimizer.minimize` on the policy's four variables, σ planned over 20 cycles as in bench:cartpole; with
 * `--set tieFactor=f` (and `tieWindow`, `tieMax`), σ adapted by `tieWidening`).
 * `--set` overrides a peer's knobs (`--method list` prints each peer's knobs and defaults). One process, one core.
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createMnistNet } from '../../src/paper/index.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag, positiveFlag } from '../lib/flags.js';
import { loadMnistTensors } from '../lib/mnist-bench.js';
import { loadAverage, machineNote, writeRun } from '../lib/run-record.js';
import { SMOKE } from '../lib/smoke.js';
import { thresholdMnistNet } from '../lib/threshold-net.js';
import { CMA_ES_DEFAULTS } from './peers/cma-es.js';
import { FORWARD_DIFF_DEFAULTS } from './peers/forward-diff.js';
import { GENETIC_DEFAULTS } from './peers/genetic.js';
import { PEER_NAMES } from './peers/index.js';
import { OPEN_ES_DEFAULTS } from './peers/open-es.js';
import { ACROBOT_TASK, CARTPOLE_TASK } from './peers/policy-tasks.js';
import { runNetwork } from './peers/run-network.js';
import { runPolicy } from './peers/run-policy.js';
import { RSO_POLICY_DEFAULTS } from './peers/rso-policy.js';
import type { PolicyRunResult } from './peers/run-policy.js';
import { SNES_DEFAULTS } from './peers/snes.js';
import { SPSA_DEFAULTS } from './peers/spsa.js';

const TASKS = ['mnist', 'threshold', 'cartpole', 'acrobot'] as const;
const DEFAULTS: Record<string, Record<string, number>> = {
  'open-es': OPEN_ES_DEFAULTS,
  snes: SNES_DEFAULTS,
  'cma-es': CMA_ES_DEFAULTS,
  spsa: SPSA_DEFAULTS,
  'forward-diff': FORWARD_DIFF_DEFAULTS,
  genetic: GENETIC_DEFAULTS,
};
// RSO runs through the same runner on the control tasks (the MNIST tasks have bench:time-to-accuracy).
const RSO_DEFAULTS: Record<string, number> = RSO_POLICY_DEFAULTS;

const { values } = parseArgs({
  options: {
    task: { type: 'string' },
    method: { type: 'string' },
    budget: { type: 'string' },
    'eval-every': { type: 'string', default: '60' },
    'batch-size': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
    set: { type: 'string', default: '' },
    runs: { type: 'string', default: '20' },
    hidden: { type: 'string', default: '8' },
    episodes: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});


/** `a=1,b=0.5` → { a: 1, b: 0.5 }; errors name the flag. */
function parseSettings(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [key, value, ...rest] = part.split('=');
    const n = Number(value);
    if (key === undefined || key.trim() === '' || value === undefined || rest.length > 0 || value.trim() === '' || !Number.isFinite(n)) {
      throw new RangeError(`--set: expected key=number, got "${part}"`);
    }
    out[key.trim()] = n;
  }
  return out;
}

function describePeers(): string {
  const line = (name: string, d: Record<string, number>) => `  ${name}: ${Object.entries(d).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  return [...PEER_NAMES.map((name) => line(name, DEFAULTS[name]!)), line('rso (cartpole and acrobot only)', RSO_DEFAULTS)].join('\n');
}

async function main(): Promise<void> {
  const method = values.method;
  if (method === undefined || method === 'list') {
    console.log(`peers and their knobs (--set key=value,…):\n${describePeers()}`);
    if (method === undefined) process.exitCode = 1;
    return;
  }
  const task = values.task as (typeof TASKS)[number];
  if (!TASKS.includes(task)) throw new RangeError(`--task must be one of ${TASKS.join(', ')}, got ${String(values.task)}`);
  const control = task === 'cartpole' || task === 'acrobot';
  if (!PEER_NAMES.includes(method) && !(control && method === 'rso')) {
    throw new RangeError(`--method: unknown "${method}"; the peers are ${PEER_NAMES.join(', ')}${control ? ', and rso' : ''}`);
  }
  const settings = parseSettings(values.set!);
  const out = values.out ?? `out/peers-${task}-${method}`;
  const loadStart = loadAverage();
  const backend = await useWasmOrCpu();
  console.log(`peers: ${method} on ${task}, settings ${JSON.stringify(settings)}, backend ${backend}, load ${loadStart.join(' ')}`);
  const common = { benchmark: 'peers', task, method, settings, defaults: DEFAULTS[method] ?? RSO_DEFAULTS, backend, date: new Date().toISOString(), processes: 1 };
  if (task === 'mnist' || task === 'threshold') await networkTask(task, method, settings, out, common, loadStart);
  else await policyTask(task, method, settings, out, common, loadStart);
}

async function networkTask(task: 'mnist' | 'threshold', method: string, settings: Record<string, number>, out: string, common: Record<string, unknown>, loadStart: number[]): Promise<void> {
  const seed = intFlag('seed', values.seed, 0);
  const batchSize = intFlag('batch-size', values['batch-size'], 1);
  const budgetSeconds = positiveFlag('budget', values.budget ?? '1500');
  const evalEverySeconds = positiveFlag('eval-every', values['eval-every']);
  const data = await loadMnistTensors(60_000);
  const model: tfl.LayersModel = task === 'mnist' ? createMnistNet({ seed }) : await thresholdMnistNet(seed, false);
  const run = await runNetwork({ method, settings, seed, model, data, batchSize, budgetSeconds, evalEverySeconds });
  const { points, ...summary } = run;
  await writeRun(out, `MNIST, ${task === 'mnist' ? 'paper network' : 'hard-threshold network'}: ${method}`, {
    ...common, seed, batchSize, trainImages: data.trainCount, budgetSeconds, evalEverySeconds, smoke: SMOKE,
    forwardWorkCounted: 'examples × layers: every candidate is one full forward pass over its batch',
    updatesCounted: 'generations × parameters',
    summary: { ...summary, finalTestAccuracy: points.at(-1)!.accuracy }, machine: machineNote(loadStart), points,
  });
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function policyTask(name: 'cartpole' | 'acrobot', method: string, settings: Record<string, number>, out: string, common: Record<string, unknown>, loadStart: number[]): Promise<void> {
  const task = name === 'cartpole' ? CARTPOLE_TASK : ACROBOT_TASK;
  const runs = intFlag('runs', values.runs, 1);
  const budgetSeconds = positiveFlag('budget', values.budget ?? '600');
  const hidden = intFlag('hidden', values.hidden, 1);
  const episodes = intFlag('episodes', values.episodes, 1);
  const results: PolicyRunResult[] = [];
  for (let seed = 1; seed <= runs; seed++) {
    const r = runPolicy({ task, method, settings, seed, hidden, episodes, evalEpisodes: 100, budgetSeconds });
    console.log(`  run ${seed}: ${r.solved ? 'solved' : 'not solved'} after ${r.generations} generations, ${r.trainEnvSteps} training env steps, ${r.seconds.toFixed(1)} s (${r.trainSeconds.toFixed(2)} s training), return ${r.evals[0]!.meanReturn.toFixed(1)} → ${r.finalReturn.toFixed(1)}`);
    results.push(r);
  }
  const solved = results.filter((r) => r.solved);
  const summary = {
    solved: solved.length,
    runs,
    medianSecondsSolved: median(solved.map((r) => r.seconds)),
    medianTrainSecondsSolved: median(solved.map((r) => r.trainSeconds)),
    medianTrainEnvStepsSolved: median(solved.map((r) => r.trainEnvSteps)),
    medianGenerationsSolved: median(solved.map((r) => r.generations)),
  };
  console.log(`solved ${solved.length}/${runs}; medians over solved runs: ${JSON.stringify(summary)}`);
  await mkdir(dirname(out), { recursive: true });
  const record = { ...common, target: task.target, hidden, episodesPerCandidate: episodes, evalEpisodes: 100, budgetSecondsPerRun: budgetSeconds, smoke: SMOKE, summary, machine: machineNote(loadStart), results };
  await writeFile(`${out}.json`, `${JSON.stringify(record, null, 1)}\n`);
  console.log(`wrote ${out}.json`);
}

await main();
