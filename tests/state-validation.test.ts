import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, createRng, restoreRng } from '../src/index.js';
import type { NamedTensor } from '../src/index.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

// Layout of rso/state: [version, cycle, group, index, step, batch, rng.i, rng.j, S[0..255]].
const FIELDS = { cycle: 1, group: 2, index: 3, step: 4, batch: 5, i: 6, j: 7 } as const;
const S0 = 8;

/** Two variables in two layers: two weight groups of 3 and 2 scalars. */
function makeVars(tag: string): tf.Variable[] {
  return [tf.variable(tf.tensor1d([0.5, -0.2, 0.1]), true, `${tag}_a/kernel`), tf.variable(tf.tensor1d([0.3, 0.7]), true, `${tag}_b/kernel`)];
}
const lossOf = (vars: tf.Variable[]) => () => tf.tidy(() => tf.add(tf.sum(tf.square(vars[0]!)), tf.sum(tf.square(vars[1]!))) as tf.Scalar);

/** The saved state of a fresh optimizer after `steps` steps, as plain arrays. */
async function savedState(steps: number, tag: string): Promise<{ state: number[]; sigma: number[] }> {
  const vars = makeVars(tag);
  const opt = new RSOOptimizer({ seed: 3 });
  for (let s = 0; s < steps; s++) opt.minimize(lossOf(vars), false, vars);
  const w = await opt.getWeights();
  const out = { state: Array.from(w[1]!.tensor.dataSync()), sigma: Array.from(w[2]!.tensor.dataSync()) };
  tf.dispose(w.map((x) => x.tensor));
  tf.dispose(vars);
  return out;
}

function weights(state: number[], sigma: number[], stateDtype: 'int32' | 'float32' = 'int32'): NamedTensor[] {
  return [
    { name: 'rso/state', tensor: tf.tensor1d(state, stateDtype) },
    { name: 'rso/sigma', tensor: tf.tensor1d(sigma, 'float32') },
  ];
}

/** A loaded state is validated in every field; a crafted file gets a clear error, never a hang. */
describe('loading a crafted optimizer state', () => {
  it('a table of zeros for the RNG is rejected, naming rng.S (today the first step loops forever)', async () => {
    const { state, sigma } = await savedState(2, 'zeros');
    const crafted = state.slice();
    crafted.fill(0, S0);
    const opt = new RSOOptimizer({ seed: 3 });
    await expect(opt.setWeights(weights(crafted, sigma))).rejects.toThrow(/RSO state: rng\.S must be a permutation of 0…255, got 0 twice \(S\[0\] and S\[1\]\)/);
    const dup = state.slice();
    dup[S0 + 5] = dup[S0 + 6]!;
    await expect(opt.setWeights(weights(dup, sigma))).rejects.toThrow(/rng\.S must be a permutation of 0…255/);
    const big = state.slice();
    big[S0 + 9] = 256;
    await expect(opt.setWeights(weights(big, sigma))).rejects.toThrow(/rng\.S must be a permutation of 0…255, got S\[9\] = 256/);
  });

  it('restoreRng rejects a table that is not a permutation, and indices outside 0…255', () => {
    const good = createRng(5).state();
    expect(() => restoreRng({ ...good, S: new Array<number>(256).fill(0) })).toThrow(/restoreRng: state\.S must be a permutation/);
    expect(() => restoreRng({ ...good, i: 256 })).toThrow(/restoreRng: state\.i must be an integer in 0…255, got 256/);
    expect(() => restoreRng({ ...good, j: -1 })).toThrow(/restoreRng: state\.j must be an integer in 0…255, got -1/);
    expect(() => restoreRng({ ...good, j: 1.5 })).toThrow(/state\.j must be an integer in 0…255, got 1.5/);
    expect(restoreRng(good).next()).toBe(createRng(5).next());
  });

  it('RNG indices and every counter must be integers in range', async () => {
    const { state, sigma } = await savedState(2, 'counters');
    const opt = new RSOOptimizer({ seed: 3 });
    const cases: [keyof typeof FIELDS, number, RegExp][] = [
      ['i', 300, /RSO state: rng\.i must be an integer in 0…255, got 300/],
      ['j', -4, /RSO state: rng\.j must be an integer in 0…255, got -4/],
      ['cycle', -1, /RSO state: cycle must be an integer in 0…2147483647, got -1/],
      ['step', -7, /RSO state: step must be an integer in 0…2147483647, got -7/],
      ['batch', 2.5, /RSO state: batch must be an integer in 0…2147483647, got 2.5/],
      ['group', NaN, /RSO state: group must be an integer in 0…2147483647, got NaN/],
      ['index', -2, /RSO state: index must be an integer in 0…2147483647, got -2/],
    ];
    for (const [field, value, message] of cases) {
      const crafted = state.slice();
      crafted[FIELDS[field]] = value;
      await expect(opt.setWeights(weights(crafted, sigma, 'float32'))).rejects.toThrow(message);
    }
    expect(opt.step).toBe(0);
  });

  it('σ must be finite and > 0 (NaN, Infinity and 0 are rejected, naming the entry)', async () => {
    const { state, sigma } = await savedState(1, 'sigma');
    const opt = new RSOOptimizer({ seed: 3 });
    for (const bad of [NaN, Infinity, 0, -0.5]) {
      const s = sigma.slice();
      s[1] = bad;
      await expect(opt.setWeights(weights(state, s))).rejects.toThrow(new RegExp(`rso/sigma\\[1\\] must be finite and > 0, got ${bad}`));
    }
    // Nothing was restored.
    expect(opt.step).toBe(0);
  });

  it('a cursor outside the bound model is rejected at once, and nothing changes', async () => {
    const vars = makeVars('bound');
    const opt = new RSOOptimizer({ seed: 3 });
    opt.minimize(lossOf(vars), false, vars);
    const before = opt.searchState();
    const { state, sigma } = await savedState(1, 'cursor');
    const farGroup = state.slice();
    farGroup[FIELDS.group] = 2;
    await expect(opt.setWeights(weights(farGroup, sigma))).rejects.toThrow(/RSO state: cursor group 2 is out of range; the model has 2 weight groups \(0…1\)/);
    const farIndex = state.slice();
    farIndex[FIELDS.group] = 0;
    farIndex[FIELDS.index] = 50;
    await expect(opt.setWeights(weights(farIndex, sigma))).rejects.toThrow(/RSO state: cursor index 50 is out of range; group 0 \("bound_b"\) visits 2 scalars in cycle 0/);
    expect(opt.searchState()).toEqual(before);
    // A valid state still loads and continues.
    await opt.setWeights(weights(state, sigma));
    expect(opt.step).toBe(1);
    opt.minimize(lossOf(vars), false, vars);
    expect(opt.step).toBe(2);
    tf.dispose(vars);
  });

  it('a cursor loaded before binding is checked when the optimizer binds', async () => {
    const { state, sigma } = await savedState(1, 'late');
    const crafted = state.slice();
    crafted[FIELDS.group] = 9;
    const opt = new RSOOptimizer({ seed: 3 });
    await opt.setWeights(weights(crafted, sigma));
    const vars = makeVars('late-bind');
    expect(() => opt.minimize(lossOf(vars), false, vars)).toThrow(/the restored state: cursor group 9 is out of range; the model has 2 weight groups/);
    expect(opt.weightGroups).toEqual([]);
    tf.dispose(vars);
  });
});
