// The CartPole example: the dynamics against hand-derived numbers and known invariants, seeded episodes, and a
// short RSO run on the episode return through minimize(f, varList).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { INIT_RANGE, MAX_STEPS, THETA_LIMIT, X_LIMIT, initialState, isFailed, runEpisode, stepCartPole } from '../examples/cartpole/cartpole.js';
import type { CartPoleAction, CartPoleState } from '../examples/cartpole/cartpole.js';
import { createPolicyNet, hostPolicy, readPolicyWeights, tensorEpisodes } from '../examples/cartpole/policy.js';
import { trainCartPole } from '../examples/cartpole/train.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

const REST: CartPoleState = { x: 0, xDot: 0, theta: 0, thetaDot: 0 };
const mirror = (s: CartPoleState): CartPoleState => ({ x: -s.x, xDot: -s.xDot, theta: -s.theta, thetaDot: -s.thetaDot });

describe('CartPole dynamics', () => {
  it('one push right from rest matches the equations worked by hand', () => {
    // m = 1.1, m_p·l = 0.05. tmp = 10 / 1.1 = 9.090909; θ̈ = (0 − 9.090909) / (0.5 · (4/3 − 0.1/1.1)) = −14.634146;
    // ẍ = 9.090909 − 0.05 · (−14.634146) / 1.1 = 9.756098. Euler with τ = 0.02: positions keep the old (zero)
    // velocities, ẋ = 0.195122, θ̇ = −0.292683.
    const s = stepCartPole(REST, 1);
    expect(s.x).toBe(0);
    expect(s.theta).toBe(0);
    expect(s.xDot).toBeCloseTo(0.195122, 5);
    expect(s.thetaDot).toBeCloseTo(-0.292683, 5);
  });

  it('is mirror-symmetric: the mirrored state under the opposite push gives the mirrored next state', () => {
    const s = { x: 0.3, xDot: -0.2, theta: 0.05, thetaDot: 0.4 };
    const a = stepCartPole(s, 1);
    const b = stepCartPole(mirror(s), 0);
    for (const k of ['x', 'xDot', 'theta', 'thetaDot'] as const) expect(b[k]).toBeCloseTo(-a[k], 12);
  });

  it('the pole falls without control: alternating pushes from a 0.01 rad lean end the episode by the angle within 100 steps', () => {
    let s: CartPoleState = { ...REST, theta: 0.01 };
    let action: CartPoleAction = 0;
    let t = 0;
    while (!isFailed(s)) {
      action = action === 0 ? 1 : 0;
      s = stepCartPole(s, action);
      t++;
    }
    expect(t).toBeLessThan(100);
    expect(Math.abs(s.theta)).toBeGreaterThan(THETA_LIMIT);
    expect(Math.abs(s.x)).toBeLessThan(X_LIMIT);
  });

  it('fails exactly beyond ±2.4 m and ±12°', () => {
    expect(isFailed({ ...REST, x: 2.399 })).toBe(false);
    expect(isFailed({ ...REST, x: 2.401 })).toBe(true);
    expect(isFailed({ ...REST, x: -2.401 })).toBe(true);
    expect(isFailed({ ...REST, theta: THETA_LIMIT * 0.999 })).toBe(false);
    expect(isFailed({ ...REST, theta: -THETA_LIMIT * 1.001 })).toBe(true);
    // A cart at 2.399 m moving out at 1 m/s crosses on the first step: a return of 1 (the failing step earns its reward).
    expect(runEpisode(() => 1, { ...REST, x: 2.399, xDot: 1 })).toBe(1);
  });

  it('caps an episode at 500 steps, or at the cap given', () => {
    // A hand-written balancing rule: push toward the lean, damped by the angular velocity.
    const balance = (s: CartPoleState): CartPoleAction => (s.theta + 0.5 * s.thetaDot > 0 ? 1 : 0);
    for (let k = 0; k < 5; k++) expect(runEpisode(balance, initialState(`cap/${k}`))).toBe(MAX_STEPS);
    expect(runEpisode(balance, initialState('cap/0'), 37)).toBe(37);
    // Pushing one way only loses the pole within a few dozen steps (seed 'cap/0').
    expect(runEpisode(() => 1, initialState('cap/0'))).toBeLessThan(30);
  });

  it('seeded initial states: the same seed gives the same state, another seed another, each component in ±0.05', () => {
    expect(initialState('seed/1')).toEqual(initialState('seed/1'));
    expect(initialState('seed/1')).not.toEqual(initialState('seed/2'));
    for (let k = 0; k < 50; k++) {
      for (const v of Object.values(initialState(`range/${k}`))) expect(Math.abs(v)).toBeLessThanOrEqual(INIT_RANGE);
    }
  });
});

describe('CartPole policy network', () => {
  it('the host forward pass and the batched tensor forward pass play the same episodes (seed 3), leaking nothing', () => {
    const before = tf.memory().numTensors;
    const net = createPolicyNet({ seed: 3, name: 'cp_same' });
    const starts = Array.from({ length: 6 }, (_, k) => initialState(`same/${k}`));
    const host = starts.map((s) => runEpisode(hostPolicy(readPolicyWeights(net)), s));
    expect(tensorEpisodes(net, starts, MAX_STEPS)).toEqual(host);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('RSO on the CartPole return', () => {
  it('a short run of minimize(f, varList) raises the mean evaluation return (seed 1), leaking nothing, and repeats exactly', () => {
    const run = () => {
      const net = createPolicyNet({ seed: 1, name: 'cp_train' });
      const result = trainCartPole(net, { seed: 1, episodesPerStep: 5, maxSteps: 20, evalEvery: 5, evalEpisodes: 20, target: 501, optimizer: { seed: 1, cycles: 20 } });
      const weights = readPolicyWeights(net);
      const copy = [weights.w1, weights.b1, weights.w2, weights.b2].map((a) => Array.from(a));
      net.dispose();
      return { result, copy };
    };
    const before = tf.memory().numTensors;
    const a = run();
    expect(tf.memory().numTensors).toBe(before);
    const returns = a.result.evals.map((e) => e.meanReturn);
    console.log(`CartPole, 20 RSO steps: evaluation return every 5 steps ${returns.map((r) => r.toFixed(1)).join(', ')}`);
    expect(a.result.steps).toBe(20);
    // 3 candidates × 5 episodes per step; every episode takes at least one environment step.
    expect(a.result.trainEpisodes).toBe(20 * 3 * 5);
    expect(a.result.trainEnvSteps).toBeGreaterThanOrEqual(a.result.trainEpisodes);
    expect(returns.at(-1)!).toBeGreaterThan(returns[0]! + 100);
    const b = run();
    expect(b.copy).toEqual(a.copy);
    expect(b.result.evals).toHaveLength(a.result.evals.length);
    b.result.evals.forEach((e, i) => expect(e.meanReturn).toBe(a.result.evals[i]!.meanReturn));
  });
});
