// The gradient-free peers of the peers benchmark (examples/benchmarks/peers): each one lowers a small quadratic
// and a tiny tfjs classifier's loss, repeats bit for bit from a seed, and leaks no tensor.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PEER_NAMES, createPeer, flatLayout, readFlat, runGeneration, writeFlat } from '../examples/benchmarks/peers/index.js';
import type { PeerInit } from '../examples/benchmarks/peers/index.js';
import { symmetricEigen } from '../examples/benchmarks/peers/cma-es.js';
import { batchLoss } from '../examples/benchmarks/peers/model-objective.js';
import { nesUtilities } from '../examples/benchmarks/peers/snes.js';
import { centredRanks } from '../examples/benchmarks/peers/strategy.js';
import { CARTPOLE_TASK, initialMlp, mlpPolicy } from '../examples/benchmarks/peers/policy-tasks.js';
import { runPolicy } from '../examples/benchmarks/peers/run-policy.js';
import { initialState } from '../examples/cartpole/cartpole.js';
import { createPolicyNet, hostPolicy, readPolicyWeights } from '../examples/cartpole/policy.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

// An ill-conditioned quadratic with its minimum at (1, …, 1): f(x) = Σ (i + 1)/D · (x_i − 1)², f(0) = (D + 1)/2.
const D = 10;
const quadratic = (x: Float32Array) => x.reduce((s, v, i) => s + ((i + 1) / D) * (v - 1) ** 2, 0);

// Settings per peer that make a short run move: the quadratic's minimum is at distance √10 from the start.
const QUADRATIC: Record<string, { settings: Record<string, number>; generations: number }> = {
  'open-es': { settings: { popSize: 20, lr: 0.05, sigma: 0.1 }, generations: 150 },
  snes: { settings: { sigma: 0.3 }, generations: 150 },
  'cma-es': { settings: { sigma: 0.5 }, generations: 80 },
  spsa: { settings: { lr: 0.05, eps: 1e-3 }, generations: 300 },
  'forward-diff': { settings: { fraction: 0.3, lr: 0.05, mu: 1e-3 }, generations: 100 },
  genetic: { settings: { popSize: 20, mutationRate: 0.3, mutationStd: 0.1 }, generations: 100 },
};

// On the tiny classifier (63 weights, 64 examples, one fixed batch).
const CLASSIFIER: Record<string, { settings: Record<string, number>; generations: number }> = {
  'open-es': { settings: { popSize: 16, lr: 0.03 }, generations: 25 },
  snes: { settings: { sigma: 0.1 }, generations: 25 },
  'cma-es': { settings: { sigma: 0.2 }, generations: 25 },
  spsa: { settings: { lr: 0.01, eps: 1e-3 }, generations: 100 },
  'forward-diff': { settings: { fraction: 0.2, lr: 0.05 }, generations: 20 },
  genetic: { settings: { popSize: 16, mutationRate: 0.2, mutationStd: 0.1 }, generations: 25 },
};

function runQuadratic(name: string, seed: number): { start: number; end: number; solution: Float32Array } {
  const { settings, generations } = QUADRATIC[name]!;
  const start = new Float32Array(D);
  const s = createPeer(name, { start, seed, settings, groups: [4, 6] });
  for (let g = 0; g < generations; g++) runGeneration(s, quadratic);
  return { start: quadratic(start), end: quadratic(s.solution()), solution: Float32Array.from(s.solution()) };
}

function runClassifier(name: string, seed: number): { start: number; end: number; solution: Float32Array } {
  const { settings, generations } = CLASSIFIER[name]!;
  const model = tinyDense(3);
  const { x, y } = toyData(64, [4], 11);
  try {
    const layout = flatLayout(model);
    const init: PeerInit = { start: readFlat(layout), seed, settings, groups: layout.variables.map((v) => v.size) };
    const loss = (p: Float32Array) => batchLoss(model, layout, p, x, y);
    const start = loss(init.start);
    const s = createPeer(name, init);
    for (let g = 0; g < generations; g++) runGeneration(s, loss);
    const solution = Float32Array.from(s.solution());
    return { start, end: loss(solution), solution };
  } finally {
    model.dispose();
    tf.dispose([x, y]);
  }
}

describe.each(PEER_NAMES)('peer %s', (name) => {
  it('lowers a quadratic to under a quarter of its starting value', () => {
    const r = runQuadratic(name, 1);
    expect(r.end).toBeLessThan(r.start / 4);
  });

  it('repeats bit for bit from a seed, and another seed gives another run', () => {
    const a = runQuadratic(name, 5);
    const b = runQuadratic(name, 5);
    const c = runQuadratic(name, 6);
    expect(Array.from(b.solution)).toEqual(Array.from(a.solution));
    expect(Array.from(c.solution)).not.toEqual(Array.from(a.solution));
  });

  it('lowers a tiny tfjs classifier\'s loss on its batch, repeats bit for bit, and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    const a = runClassifier(name, 2);
    const b = runClassifier(name, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(a.end).toBeLessThan(a.start * 0.9);
    expect(Array.from(b.solution)).toEqual(Array.from(a.solution));
  });

  it('rejects an unknown setting and a candidate asked out of order', () => {
    expect(() => createPeer(name, { start: new Float32Array(4), seed: 1, settings: { nope: 1 } })).toThrow(/unknown setting "nope"/);
    const s = createPeer(name, { start: new Float32Array(4), seed: 1 });
    expect(() => s.candidate(0)).toThrow(/out of order/);
    s.ask();
    expect(() => s.candidate(1)).toThrow(/out of order/);
  });
});

describe('peer helpers', () => {
  it('centred ranks: +0.5 for the lowest loss, −0.5 for the highest, evenly between', () => {
    // Losses 3, 1, 2: ranks 2, 0, 1 → 0.5 − rank/2 = −0.5, 0.5, 0.
    expect(Array.from(centredRanks([3, 1, 2]))).toEqual([-0.5, 0.5, 0]);
  });

  it('NES utilities sum to zero and decrease with rank', () => {
    const u = nesUtilities(8);
    expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    for (let i = 1; i < 8; i++) expect(u[i]!).toBeLessThanOrEqual(u[i - 1]!);
    // ln(5) − ln(1) over Σ_{i=1..4} (ln 5 − ln i) = ln 5 / (4 ln 5 − ln 24), minus 1/8.
    expect(u[0]!).toBeCloseTo(Math.log(5) / (4 * Math.log(5) - Math.log(24)) - 1 / 8, 12);
  });

  it('the Jacobi eigendecomposition rebuilds a symmetric matrix: V diag(λ) Vᵀ = A', () => {
    const n = 4;
    const a = Float64Array.from([4, 1, 0.5, 0, 1, 3, 0.2, 0.1, 0.5, 0.2, 2, 0.3, 0, 0.1, 0.3, 1]);
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
        expect(s).toBeCloseTo(a[i * n + j]!, 10);
      }
    }
  });

  it('reads and writes a model\'s flat weights exactly, without leaking tensors', () => {
    const model = tinyDense(4);
    const before = tf.memory().numTensors;
    const layout = flatLayout(model);
    const w = readFlat(layout);
    expect(w.length).toBe(63);
    const changed = Float32Array.from(w, (v, i) => v + i / 64);
    writeFlat(layout, changed);
    changed[0] = 99; // the model holds its own copy
    expect(readFlat(layout)[0]).toBe(Math.fround(w[0]!));
    expect(readFlat(layout)[5]).toBe(Math.fround(w[5]! + 5 / 64));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('control tasks', () => {
  it('the flat policy network acts as the CartPole example\'s network on the same weights', () => {
    const net = createPolicyNet({ hidden: 8, seed: 3, name: 'peers-mlp' });
    const w = readPolicyWeights(net);
    const flat = Float32Array.from([...w.w1, ...w.b1, ...w.w2, ...w.b2]);
    const ours = mlpPolicy([4, 8, 2], flat);
    const theirs = hostPolicy(w);
    for (let k = 0; k < 50; k++) {
      const s = initialState(`mlp/${k}`);
      const big = { x: 20 * s.x, xDot: 20 * s.xDot, theta: 20 * s.theta, thetaDot: 20 * s.thetaDot };
      expect(ours.act([big.x, big.xDot, big.theta, big.thetaDot])).toBe(theirs(big));
    }
    net.dispose();
    expect(initialMlp([4, 8, 2], 1)).toEqual(initialMlp([4, 8, 2], 1));
  });

  it('CMA-ES solves a seeded CartPole run, and the run repeats step for step', () => {
    const run = () => runPolicy({ task: CARTPOLE_TASK, method: 'cma-es', settings: {}, seed: 1, hidden: 8, episodes: 5, evalEpisodes: 20, budgetSeconds: 30 });
    const a = run();
    const b = run();
    expect(a.solved).toBe(true);
    expect(b.generations).toBe(a.generations);
    expect(b.trainEnvSteps).toBe(a.trainEnvSteps);
    expect(b.evals.map((e) => e.meanReturn)).toEqual(a.evals.map((e) => e.meanReturn));
  });

  it('RSO through the same runner: a seeded CartPole run solves, repeats step for step, and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    const run = () => runPolicy({ task: CARTPOLE_TASK, method: 'rso', settings: { cycles: 20 }, seed: 3, hidden: 8, episodes: 5, evalEpisodes: 20, budgetSeconds: 30 });
    const a = run();
    const b = run();
    expect(tf.memory().numTensors).toBe(before);
    expect(a.solved).toBe(true);
    expect(b.trainEnvSteps).toBe(a.trainEnvSteps);
    expect(b.evals.map((e) => e.meanReturn)).toEqual(a.evals.map((e) => e.meanReturn));
  });
});
