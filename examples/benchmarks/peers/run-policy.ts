/**
 * A peer trained on a control task until solved: each generation plays the same seeded episodes for every
 * candidate, and after each generation the current solution plays 100 fresh seeded evaluation episodes.
 *
 * @packageDocumentation
 */
import { createPeer } from './index.js';
import type { PolicyTask } from './policy-tasks.js';
import { initialMlp, meanReturn, mlpPolicy } from './policy-tasks.js';
import { rsoPolicyLearner } from './rso-policy.js';
import type { PolicyLearner } from './rso-policy.js';

/** What {@link runPolicy} needs. */
export interface PolicyRunArgs {
  readonly task: PolicyTask;
  /** A peer's name, or `rso`. */
  readonly method: string;
  readonly settings: Readonly<Record<string, number>>;
  /** The run's seed: initial weights, the peer's draws and every episode's start. */
  readonly seed: number;
  readonly hidden: number;
  /** Episodes per candidate per generation. */
  readonly episodes: number;
  /** Evaluation episodes after each generation. */
  readonly evalEpisodes: number;
  /** Wall seconds for this run, evaluation included. */
  readonly budgetSeconds: number;
}

/** One evaluation of a {@link runPolicy}. */
export interface PolicyEval {
  readonly generation: number;
  readonly trainEnvSteps: number;
  readonly seconds: number;
  /** Wall seconds so far less the evaluations' time. */
  readonly trainSeconds: number;
  readonly meanReturn: number;
}

/** The totals of a {@link runPolicy}. */
export interface PolicyRunResult {
  readonly seed: number;
  readonly solved: boolean;
  readonly parameters: number;
  readonly generations: number;
  readonly trainEpisodes: number;
  /** Environment steps of training episodes (each one forward pass of the policy). */
  readonly trainEnvSteps: number;
  readonly evalEnvSteps: number;
  /** Wall seconds, evaluation included. */
  readonly seconds: number;
  /** Wall seconds less the evaluations' time: the training's own time, as the MNIST runs count it. */
  readonly trainSeconds: number;
  readonly finalReturn: number;
  readonly evals: PolicyEval[];
}

/**
 * Runs the peer from the seeded initial network until the evaluation's mean return reaches the task's target or
 * the budget ends.
 */
export function runPolicy(args: PolicyRunArgs): PolicyRunResult {
  const { task } = args;
  const sizes = [task.observations, args.hidden, task.actions] as const;
  const start = initialMlp(sizes, args.seed);
  const learner = args.method === 'rso' ? rsoPolicyLearner(task, sizes, start, args.seed, args.settings) : peerLearner(args, sizes, start);
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let trainEnvSteps = 0;
  let evalEnvSteps = 0;
  let trainEpisodes = 0;
  let evalSeconds = 0;
  const evals: PolicyEval[] = [];
  const evaluate = () => {
    const e0 = performance.now();
    const seeds = Array.from({ length: args.evalEpisodes }, (_, k) => `${args.seed}/eval/${learner.generation}/${k}`);
    const r = meanReturn(task, mlpPolicy(sizes, learner.solution()), seeds);
    evalEnvSteps += r.steps;
    evalSeconds += (performance.now() - e0) / 1000;
    evals.push({ generation: learner.generation, trainEnvSteps, seconds: seconds(), trainSeconds: seconds() - evalSeconds, meanReturn: r.mean });
    return r.mean >= task.target;
  };
  try {
    let solved = evaluate();
    while (!solved && seconds() < args.budgetSeconds) {
      const seeds = Array.from({ length: args.episodes }, (_, k) => `${args.seed}/train/${learner.generation}/${k}`);
      const steps = learner.step(seeds);
      trainEnvSteps += steps.envSteps;
      trainEpisodes += steps.episodes;
      solved = evaluate();
    }
    return { seed: args.seed, solved, parameters: start.length, generations: learner.generation, trainEpisodes, trainEnvSteps, evalEnvSteps, seconds: seconds(), trainSeconds: seconds() - evalSeconds, finalReturn: evals.at(-1)!.meanReturn, evals };
  } finally {
    learner.dispose();
  }
}

/** A peer as a learner: one generation per step, every candidate on the step's episodes. */
function peerLearner(args: PolicyRunArgs, sizes: readonly [number, number, number], start: Float32Array): PolicyLearner {
  const peer = createPeer(args.method, { start, seed: args.seed, settings: args.settings, groups: [sizes[0] * sizes[1] + sizes[1], sizes[1] * sizes[2] + sizes[2]] });
  return {
    get generation() {
      return peer.generation;
    },
    step(seeds) {
      const n = peer.ask();
      const losses = new Float64Array(n);
      let envSteps = 0;
      for (let c = 0; c < n; c++) {
        const r = meanReturn(args.task, mlpPolicy(sizes, peer.candidate(c)), seeds);
        losses[c] = -r.mean;
        envSteps += r.steps;
      }
      peer.tell(losses);
      return { envSteps, episodes: n * seeds.length };
    },
    solution: () => peer.solution(),
    dispose: () => undefined,
  };
}
