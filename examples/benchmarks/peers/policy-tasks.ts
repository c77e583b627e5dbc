/**
 * The control tasks of the peers benchmark, CartPole and Acrobot, for a small tanh policy network held as one flat
 * vector and run in plain JavaScript (a forward pass per state; no tensors).
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import { MAX_STEPS as ACROBOT_CAP, SOLVED_RETURN as ACROBOT_SOLVED, initialAcrobot, isGoal, observe, stepAcrobot } from '../../acrobot/acrobot.js';
import { MAX_STEPS as CARTPOLE_CAP, initialState, isFailed, stepCartPole } from '../../cartpole/cartpole.js';
import { gaussian } from './strategy.js';

/** A control task: observations, actions, one seeded episode of a flat policy, and the solved threshold. */
export interface PolicyTask {
  readonly name: 'cartpole' | 'acrobot';
  readonly observations: number;
  readonly actions: number;
  /** Solved at a mean return of at least this over 100 evaluation episodes. */
  readonly target: number;
  /** Plays one episode from the start of `seed`; returns its return and its environment steps. */
  episode(policy: MlpPolicy, seed: string): { return: number; steps: number };
}

/** A one-hidden-layer tanh network on host arrays: flat weights W₁ [in × hidden], b₁, W₂ [hidden × out], b₂. */
export interface MlpPolicy {
  readonly sizes: readonly [number, number, number];
  /** The index of the largest output for observation `o` (ties to the lower index). */
  act(o: ArrayLike<number>): number;
}

/** Weights of a network of `sizes` = [in, hidden, out]. */
export function mlpSize([i, h, o]: readonly [number, number, number]): number {
  return i * h + h + h * o + o;
}

/** Seeded initial weights: kernels N(0, 1/fanIn), biases 0 (as the CartPole example's network). */
export function initialMlp(sizes: readonly [number, number, number], seed: number): Float32Array {
  const [i, h, o] = sizes;
  const rng = createRng(`${seed}/mlp`);
  const w = new Float32Array(mlpSize(sizes));
  for (let k = 0; k < i * h; k++) w[k] = gaussian(rng) / Math.sqrt(i);
  const w2 = i * h + h;
  for (let k = 0; k < h * o; k++) w[w2 + k] = gaussian(rng) / Math.sqrt(h);
  return w;
}

/** The policy of flat weights `w` (read, not copied: the caller must not change `w` while using it). */
export function mlpPolicy(sizes: readonly [number, number, number], w: Float32Array): MlpPolicy {
  const [ni, nh, no] = sizes;
  const hidden = new Float64Array(nh);
  const b1 = ni * nh;
  const w2 = b1 + nh;
  const b2 = w2 + nh * no;
  return {
    sizes,
    act(x) {
      for (let j = 0; j < nh; j++) {
        let s = w[b1 + j]!;
        for (let k = 0; k < ni; k++) s += x[k]! * w[k * nh + j]!;
        hidden[j] = Math.tanh(s);
      }
      let best = 0;
      let bestValue = -Infinity;
      for (let a = 0; a < no; a++) {
        let s = w[b2 + a]!;
        for (let j = 0; j < nh; j++) s += hidden[j]! * w[w2 + j * no + a]!;
        if (s > bestValue) [best, bestValue] = [a, s];
      }
      return best;
    },
  };
}

/** CartPole-v1: return = steps balanced, at most 500; solved at 475. */
export const CARTPOLE_TASK: PolicyTask = {
  name: 'cartpole',
  observations: 4,
  actions: 2,
  target: 475, // the CartPole-v1 threshold
  episode(policy, seed) {
    let s = initialState(seed);
    const o = new Float64Array(4);
    for (let t = 1; t <= CARTPOLE_CAP; t++) {
      [o[0], o[1], o[2], o[3]] = [s.x, s.xDot, s.theta, s.thetaDot];
      s = stepCartPole(s, policy.act(o) === 1 ? 1 : 0);
      if (isFailed(s)) return { return: t, steps: t };
    }
    return { return: CARTPOLE_CAP, steps: CARTPOLE_CAP };
  },
};

/** Acrobot-v1: −1 per step until the goal, at most 500 steps; solved at −100. */
export const ACROBOT_TASK: PolicyTask = {
  name: 'acrobot',
  observations: 6,
  actions: 3,
  target: ACROBOT_SOLVED,
  episode(policy, seed) {
    let s = initialAcrobot(seed);
    const o = new Float64Array(6);
    for (let t = 1; t <= ACROBOT_CAP; t++) {
      s = stepAcrobot(s, policy.act(observe(s, o)) as 0 | 1 | 2);
      if (isGoal(s)) return { return: -(t - 1), steps: t };
    }
    return { return: -ACROBOT_CAP, steps: ACROBOT_CAP };
  },
};

/** The mean return of `policy` over `seeds`, and the environment steps it took. */
export function meanReturn(task: PolicyTask, policy: MlpPolicy, seeds: readonly string[]): { mean: number; steps: number } {
  let total = 0;
  let steps = 0;
  for (const seed of seeds) {
    const r = task.episode(policy, seed);
    total += r.return;
    steps += r.steps;
  }
  return { mean: total / seeds.length, steps };
}
