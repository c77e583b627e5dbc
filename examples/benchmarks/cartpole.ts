/**
 * CartPole with RSO: episodes, environment steps, RSO steps and wall time until the mean return over 100
 * fresh seeded evaluation episodes reaches 475.
 *
 *   npm run bench:cartpole -- [--runs 20] [--episodes-per-step 10] [--episodes fresh|fixed] [--rollout host|tensor]
 *                             [--hidden 8] [--max-steps 2000] [--time-budget 600] [--confirm 1000] [--out out/cartpole]
 *
 * Run r (1…runs) seeds the network, the optimizer and the episodes with r. Each RSO step plays
 * `--episodes-per-step` seeded episodes per candidate; after every step the policy is evaluated on 100 fresh
 * seeded episodes, and the run stops at the first evaluation with a mean return ≥ 475 (or at `--max-steps`, or
 * when the whole benchmark has used `--time-budget` seconds). The solved policy is then checked on `--confirm`
 * further fresh episodes, since stopping at the first good evaluation favours a lucky one.
 * Writes <out>.json and <out>.svg (evaluation return against training episodes, one line per run).
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import type { TopLevelSpec } from 'vega-lite';
import { initialState } from '../cartpole/cartpole.js';
import { createPolicyNet } from '../cartpole/policy.js';
import { playEpisodes, trainCartPole } from '../cartpole/train.js';
import type { CartPoleTrainResult } from '../cartpole/train.js';
import { useWasmOrCpu } from '../lib/backend.js';
import { intFlag } from '../lib/flags.js';
import { vegaLiteToSvg } from '../lib/plot.js';

const TARGET = 475; // the CartPole-v1 threshold: mean return over 100 consecutive episodes

interface Flags {
  readonly runs: number;
  readonly episodesPerStep: number;
  readonly episodes: 'fresh' | 'fixed';
  readonly rollout: 'host' | 'tensor';
  readonly hidden: number;
  readonly maxSteps: number;
  readonly timeBudget: number;
  readonly confirm: number;
  readonly out: string;
}

/** Parses the command line; errors name the flag. */
function parseFlags(): Flags {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      'episodes-per-step': { type: 'string', default: '10' },
      episodes: { type: 'string', default: 'fresh' },
      rollout: { type: 'string', default: 'host' },
      hidden: { type: 'string', default: '8' },
      'max-steps': { type: 'string', default: '2000' },
      'time-budget': { type: 'string', default: '600' },
      confirm: { type: 'string', default: '1000' },
      out: { type: 'string', default: 'out/cartpole' },
    },
  });
  const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T => {
    if (!allowed.includes(v as T)) throw new RangeError(`--${flag} must be one of ${allowed.join(', ')}, got ${String(v)}`);
    return v as T;
  };
  return {
    runs: intFlag('runs', values.runs, 1),
    episodesPerStep: intFlag('episodes-per-step', values['episodes-per-step'], 1),
    episodes: oneOf('episodes', values.episodes, ['fresh', 'fixed'] as const),
    rollout: oneOf('rollout', values.rollout, ['host', 'tensor'] as const),
    hidden: intFlag('hidden', values.hidden, 1),
    maxSteps: intFlag('max-steps', values['max-steps'], 1),
    timeBudget: intFlag('time-budget', values['time-budget'], 1),
    confirm: intFlag('confirm', values.confirm, 1),
    out: values.out!,
  };
}

/** One run's summary: the totals at its stop, and the solved policy's mean return on the confirmation episodes. */
function summarize(run: number, r: CartPoleTrainResult, confirmReturn: number) {
  const { evals, trainReturns, ...totals } = r;
  return { run, ...totals, initialReturn: evals[0]!.meanReturn, finalReturn: evals[evals.length - 1]!.meanReturn, confirmReturn, meanKeptTrainReturn: trainReturns.at(-1) ?? null };
}

/** Trains run `run` (seed = run) and confirms the result on fresh episodes. */
function oneRun(run: number, flags: Flags, secondsLeft: number) {
  const net = createPolicyNet({ hidden: flags.hidden, seed: run, name: `run${run}` });
  try {
    const result = trainCartPole(net, {
      seed: run, episodesPerStep: flags.episodesPerStep, episodes: flags.episodes, rollout: flags.rollout,
      target: TARGET, maxSteps: flags.maxSteps, timeBudgetSeconds: secondsLeft, optimizer: { seed: run, cycles: 20 },
    });
    const confirmStarts = Array.from({ length: flags.confirm }, (_, k) => initialState(`${run}/confirm/${k}`));
    const confirmReturn = playEpisodes(net, confirmStarts, 'host', { episodes: 0, envSteps: 0 });
    return { result, summary: summarize(run, result, confirmReturn) };
  } finally {
    net.dispose();
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The return curve: evaluation mean return against training episodes, one line per run, and the target. */
function curveSpec(results: readonly { run: number; result: CartPoleTrainResult }[], flags: Flags): TopLevelSpec {
  const values = results.flatMap(({ run, result }) => result.evals.map((e) => ({ run: `run ${run}`, episodes: e.trainEpisodes, meanReturn: e.meanReturn })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'CartPole, RSO on the episode return',
      subtitle: [`4 → ${flags.hidden} → 2 policy, ${flags.episodesPerStep} ${flags.episodes} episodes per candidate`, 'mean return over 100 fresh evaluation episodes after each RSO step; dashed: 475'],
    },
    background: 'white',
    width: 560,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'episodes', type: 'quantitative', title: 'training episodes (3 candidates per RSO step; symlog scale)', scale: { type: 'symlog', constant: 30 } },
          y: { field: 'meanReturn', type: 'quantitative', title: 'mean evaluation return', scale: { domain: [0, 500] } },
          color: { field: 'run', type: 'nominal', title: null, sort: results.map(({ run }) => `run ${run}`), scale: { scheme: 'category20' }, legend: { orient: 'right' } },
        },
      },
      { data: { values: [{ y: TARGET }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'black' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  };
}

/** Prints one line per run and the medians over solved runs. */
function report(summaries: readonly ReturnType<typeof summarize>[]): void {
  console.log('run  solved  RSO steps  train episodes  train env steps  eval episodes  seconds (eval)  initial → final return  confirm return');
  for (const s of summaries) {
    console.log(
      `${String(s.run).padStart(3)}  ${String(s.solved).padEnd(6)}  ${String(s.steps).padStart(9)}  ${String(s.trainEpisodes).padStart(14)}  ${String(s.trainEnvSteps).padStart(15)}  ` +
        `${String(s.evalEpisodes).padStart(13)}  ${s.seconds.toFixed(2).padStart(7)} (${s.evalSeconds.toFixed(2)})  ${s.initialReturn.toFixed(1).padStart(7)} → ${s.finalReturn.toFixed(1).padEnd(12)}  ${s.confirmReturn.toFixed(1)}`,
    );
  }
  const solved = summaries.filter((s) => s.solved);
  const med = (key: 'steps' | 'trainEpisodes' | 'trainEnvSteps' | 'seconds' | 'evalSeconds' | 'confirmReturn') => median(solved.map((s) => s[key]));
  console.log(
    `solved ${solved.length}/${summaries.length}; medians over solved runs: ${med('steps')} RSO steps, ${med('trainEpisodes')} training episodes, ` +
      `${med('trainEnvSteps')} training env steps, ${med('seconds').toFixed(2)} s (${med('evalSeconds').toFixed(2)} s of it evaluating), confirmation return ${med('confirmReturn').toFixed(1)}`,
  );
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const backend = await useWasmOrCpu();
  const t0 = performance.now();
  const results: { run: number; result: CartPoleTrainResult; summary: ReturnType<typeof summarize> }[] = [];
  for (let run = 1; run <= flags.runs; run++) {
    const left = flags.timeBudget - (performance.now() - t0) / 1000;
    if (left <= 0) break;
    results.push({ run, ...oneRun(run, flags, left) });
  }
  const summaries = results.map((r) => r.summary);
  report(summaries);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`backend ${backend}; ${results.length} runs in ${seconds.toFixed(1)} s`);
  await mkdir(dirname(flags.out), { recursive: true });
  const curves = results.map(({ run, result }) => ({ run, evals: result.evals, trainReturns: result.trainReturns }));
  const json = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, backend, flags, target: TARGET, seconds, summaries, curves };
  await writeFile(`${flags.out}.json`, JSON.stringify(json, null, 1));
  await writeFile(`${flags.out}.svg`, await vegaLiteToSvg(curveSpec(results, flags)));
  console.log(`wrote ${flags.out}.json and ${flags.out}.svg`);
}

await main();
