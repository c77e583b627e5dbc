/**
 * Training a CartPole policy with RSO on the episode return: `RSOOptimizer.minimize(f, varList)`, where f
 * plays a few seeded episodes with the candidate weights and returns minus their mean return.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { RSOOptimizer } from '../../src/index.js';
import type { RSOConfig } from '../../src/index.js';
import { MAX_STEPS, initialState, runEpisode } from './cartpole.js';
import type { CartPoleState } from './cartpole.js';
import { hostPolicy, readPolicyWeights, tensorEpisodes } from './policy.js';
import type { PolicyNet } from './policy.js';

/** Options of {@link trainCartPole}. */
export interface CartPoleTrainOptions {
  /** Seed of the episodes (default 0); the optimizer's own seed is in `optimizer`. */
  readonly seed?: number;
  /** Episodes per candidate in each RSO step (default 10). */
  readonly episodesPerStep?: number;
  /** `'fresh'` (default): new seeded episodes each step, the same for the step's three candidates; `'fixed'`: the same episodes every step. */
  readonly episodes?: 'fresh' | 'fixed';
  /** Forward pass: `'host'` (default) on arrays read from the variables, `'tensor'` batched over episodes on the backend. */
  readonly rollout?: 'host' | 'tensor';
  /** Evaluate every this many RSO steps (default 1), and once before the first. */
  readonly evalEvery?: number;
  /** Fresh seeded episodes per evaluation (default 100). */
  readonly evalEpisodes?: number;
  /** Stop once an evaluation's mean return reaches this (default 475). */
  readonly target?: number;
  /** Stop after this many RSO steps (default 5000). */
  readonly maxSteps?: number;
  /** Stop after this many seconds, checked after each step (default: none). */
  readonly timeBudgetSeconds?: number;
  /** Optimizer options (default `{ seed: 0, cycles: 20 }`). */
  readonly optimizer?: RSOConfig;
  /** Called after each evaluation. */
  readonly onEval?: (point: CartPoleEval) => void;
}

/** One evaluation, with the training cost spent before it. */
export interface CartPoleEval {
  /** RSO steps taken. */
  readonly step: number;
  /** Training episodes played (three candidates per step). */
  readonly trainEpisodes: number;
  /** Environment steps of those episodes. */
  readonly trainEnvSteps: number;
  /** Seconds since the start, evaluations included. */
  readonly seconds: number;
  /** Mean return over the evaluation episodes. */
  readonly meanReturn: number;
}

/** What {@link trainCartPole} returns. */
export interface CartPoleTrainResult {
  /** Whether an evaluation reached the target. */
  readonly solved: boolean;
  /** Every evaluation, the first before any step. */
  readonly evals: readonly CartPoleEval[];
  /** Per RSO step, the kept candidate's mean return on its training episodes. */
  readonly trainReturns: readonly number[];
  /** RSO steps taken. */
  readonly steps: number;
  /** Training episodes played (three candidates per step). */
  readonly trainEpisodes: number;
  /** Environment steps of the training episodes. */
  readonly trainEnvSteps: number;
  /** Evaluation episodes played. */
  readonly evalEpisodes: number;
  /** Environment steps of the evaluation episodes. */
  readonly evalEnvSteps: number;
  /** Wall time, evaluations included. */
  readonly seconds: number;
  /** The part of it spent in evaluations. */
  readonly evalSeconds: number;
}

/** Counts of played episodes and environment steps, added to as episodes are played. */
export interface EpisodeTally {
  /** Episodes played. */
  episodes: number;
  /** Environment steps of those episodes (the sum of their returns). */
  envSteps: number;
}

/**
 * Plays episodes from the given starts with the network's current weights.
 *
 * @param net - The policy network.
 * @param starts - The initial states.
 * @param rollout - Which forward pass.
 * @param tally - Adds the episodes and environment steps played.
 * @returns The mean return.
 * @example
 * ```ts
 * const mean = playEpisodes(net, [initialState(0)], 'host', { episodes: 0, envSteps: 0 });
 * ```
 */
export function playEpisodes(net: PolicyNet, starts: readonly CartPoleState[], rollout: 'host' | 'tensor', tally: EpisodeTally): number {
  let returns: number[];
  if (rollout === 'tensor') returns = tensorEpisodes(net, starts, MAX_STEPS);
  else {
    const policy = hostPolicy(readPolicyWeights(net));
    returns = starts.map((s) => runEpisode(policy, s));
  }
  const sum = returns.reduce((a, b) => a + b, 0);
  tally.episodes += returns.length;
  tally.envSteps += sum;
  return sum / returns.length;
}

/** The initial states of `count` episodes named `${prefix}/k`. */
const starts = (prefix: string, count: number): CartPoleState[] => Array.from({ length: count }, (_, k) => initialState(`${prefix}/${k}`));

/**
 * One RSO step on the episode return: f plays the step's episodes with the candidate weights.
 *
 * @returns The kept candidate's mean return.
 */
function rsoStep(opt: RSOOptimizer, net: PolicyNet, episodes: readonly CartPoleState[], rollout: 'host' | 'tensor', tally: EpisodeTally): number {
  const f = () => tf.scalar(-playEpisodes(net, episodes, rollout, tally));
  const loss = opt.minimize(f, true, [...net.variables])!;
  const kept = -loss.dataSync()[0]!;
  loss.dispose();
  return kept;
}

/**
 * Trains a policy network on CartPole with RSO until the mean return over fresh evaluation episodes reaches the
 * target, or a step or time budget runs out.
 *
 * @param net - The policy network (its variables are the `varList`).
 * @param options - Episodes, evaluation, budgets and the optimizer's options.
 * @returns The evaluations, the per-step training returns and the totals.
 * @remarks
 * Step s minimises f(w) = −(1/K) Σₖ G(w, e_{s,k}), G the return of episode e from its seeded initial state.
 * The three candidates of a step play the same K episodes, so they are compared on equal terms; with
 * `episodes: 'fresh'` the next step draws K new ones, as RSO draws a new mini-batch per weight.
 * @example
 * ```ts
 * const result = trainCartPole(createPolicyNet({ seed: 1 }), { maxSteps: 200 });
 * ```
 */
export function trainCartPole(net: PolicyNet, options: CartPoleTrainOptions = {}): CartPoleTrainResult {
  const o = { seed: 0, episodesPerStep: 10, episodes: 'fresh', rollout: 'host', evalEvery: 1, evalEpisodes: 100, target: 475, maxSteps: 5000, ...options } as const;
  const opt = new RSOOptimizer(o.optimizer ?? { seed: 0, cycles: 20 });
  const train: EpisodeTally = { episodes: 0, envSteps: 0 };
  const evaluation: EpisodeTally = { episodes: 0, envSteps: 0 };
  const evals: CartPoleEval[] = [];
  const trainReturns: number[] = [];
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let evalSeconds = 0;
  const evaluate = () => {
    const t = performance.now();
    const meanReturn = playEpisodes(net, starts(`${o.seed}/eval/${evals.length}`, o.evalEpisodes), o.rollout, evaluation);
    const point = { step: trainReturns.length, trainEpisodes: train.episodes, trainEnvSteps: train.envSteps, seconds: seconds(), meanReturn };
    evals.push(point);
    evalSeconds += (performance.now() - t) / 1000;
    o.onEval?.(point);
    return meanReturn >= o.target;
  };
  let solved = evaluate();
  const fixed = starts(`${o.seed}/train/fixed`, o.episodesPerStep);
  while (!solved && trainReturns.length < o.maxSteps && !(o.timeBudgetSeconds !== undefined && seconds() > o.timeBudgetSeconds)) {
    const episodes = o.episodes === 'fixed' ? fixed : starts(`${o.seed}/train/${trainReturns.length}`, o.episodesPerStep);
    trainReturns.push(rsoStep(opt, net, episodes, o.rollout, train));
    if (trainReturns.length % o.evalEvery === 0) solved = evaluate();
  }
  return {
    solved, evals, trainReturns, steps: trainReturns.length, trainEpisodes: train.episodes, trainEnvSteps: train.envSteps,
    evalEpisodes: evaluation.episodes, evalEnvSteps: evaluation.envSteps, seconds: seconds(), evalSeconds,
  };
}
