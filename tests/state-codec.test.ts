import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, successRule, tieWidening } from '../src/index.js';
import type { NamedTensor, RSOConfig, SearchState, SigmaAdaptation } from '../src/index.js';
import { createRng } from '../src/base/rng.js';
import { decodePart, encodePart, sortParts } from '../src/base/state-codec.js';
import type { StatePart } from '../src/base/state-codec.js';
import { searchPart, sigmaPart } from '../src/search/state-parts.js';
import { sigmaAdaptationPart } from '../src/search/sigma-adapter.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

/** fast-check seeds of the properties below. */
const SEEDS = { roundTrip: 4101, adaptRoundTrip: 4102, corrupt: 4103 } as const;
const MAX_COUNTER = 2 ** 31 - 1;

/** A valid search state: counters anywhere in their range, the generator after some draws of some seed. */
const searchStateArb: fc.Arbitrary<SearchState> = fc
  .record({
    cycle: fc.integer({ min: 0, max: MAX_COUNTER }),
    group: fc.integer({ min: 0, max: MAX_COUNTER }),
    index: fc.integer({ min: 0, max: MAX_COUNTER }),
    step: fc.integer({ min: 0, max: MAX_COUNTER }),
    batch: fc.integer({ min: 0, max: MAX_COUNTER }),
    seed: fc.integer(),
    draws: fc.nat(40),
  })
  .map(({ seed, draws, ...counters }) => {
    const rng = createRng(seed);
    for (let k = 0; k < draws; k++) rng.next();
    return { ...counters, rng: rng.state() };
  });

/** Valid base σ: normal, finite, positive float32 values. */
const sigmasArb = fc.array(fc.float({ min: Math.fround(1e-37), max: Math.fround(3e38), noNaN: true }), { maxLength: 8 }).map((a) => Float32Array.from(a));

const WINDOW = 5;
const RULES: readonly SigmaAdaptation[] = [successRule({ window: WINDOW }), tieWidening({ window: WINDOW })];

/** A valid packed adaptation state of `rule` for n tensors: [multipliers…, steps…, moves…(, ties…)]. */
function adaptArb(rule: SigmaAdaptation): fc.Arbitrary<{ n: number; packed: Float32Array }> {
  const perTensor = fc
    .record({ m: fc.float({ min: Math.fround(1e-3), max: 1e3, noNaN: true }), steps: fc.integer({ min: 0, max: WINDOW - 1 }), a: fc.nat(), b: fc.nat() })
    .map(({ m, steps, a, b }) => ({ m, steps, moves: a % (steps + 1), ties: b % (steps + 1) }));
  return fc.array(perTensor, { maxLength: 6 }).map((ts) => {
    const columns = [ts.map((t) => t.m), ts.map((t) => t.steps), ts.map((t) => t.moves), ...(rule.countsTies === true ? [ts.map((t) => t.ties)] : [])];
    return { n: ts.length, packed: Float32Array.from(columns.flat()) };
  });
}

/** Encodes through the codec and decodes the saved values back. */
function roundTrip<S>(part: StatePart<S>, state: S): S {
  const saved = encodePart(part, state);
  expect(saved.name).toBe(`rso/${part.name}`);
  return decodePart(part, Array.from(saved.values));
}

describe('state codec: each part round-trips', () => {
  it('rso/search and rso/sigma: decode(encode(s)) equals s', () => {
    fc.assert(
      fc.property(searchStateArb, sigmasArb, (state, sigmas) => {
        expect(roundTrip(searchPart, state)).toEqual(state);
        expect(roundTrip(sigmaPart, sigmas)).toEqual(sigmas);
      }),
      { seed: SEEDS.roundTrip, numRuns: 200 },
    );
  });

  it('rso/sigmaAdaptation: encode(decode(v)) equals v for every built-in rule', () => {
    for (const rule of RULES) {
      fc.assert(
        fc.property(adaptArb(rule), ({ n, packed }) => {
          const part = sigmaAdaptationPart(rule, n);
          expect(part.encode(decodePart(part, packed))).toEqual(packed);
          expect(part.encode(roundTrip(part, decodePart(part, packed)))).toEqual(packed);
        }),
        { seed: SEEDS.adaptRoundTrip, numRuns: 150 },
      );
    }
  });
});

type Corruption = 'short' | 'long' | 'nan';

/** Damages saved values: one value fewer, one more, or a NaN at `at` (modulo the length). */
function corrupt(values: ArrayLike<number>, how: Corruption, at: number): number[] {
  const v = Array.from(values);
  if (how === 'short') return v.slice(0, -1);
  if (how === 'long') return [...v, 0];
  v[at % v.length] = NaN;
  return v;
}

/** Expects decoding `values` to throw a RangeError whose message starts with the part's weight name. */
function expectRefused<S>(part: StatePart<S>, values: readonly number[]): void {
  let thrown: unknown = null;
  try {
    decodePart(part, values);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(RangeError);
  expect((thrown as Error).message.startsWith(`rso/${part.name}`), (thrown as Error).message).toBe(true);
}

describe('state codec: a damaged part is refused, naming the part', () => {
  it('wrong length or a NaN anywhere in rso/search, rso/sigma or rso/sigmaAdaptation', () => {
    const how = fc.constantFrom<Corruption>('short', 'long', 'nan');
    const rule = fc.constantFrom(...RULES);
    const adapt = rule.chain((r) => adaptArb(r).filter((a) => a.n > 0).map((a) => ({ rule: r, ...a })));
    fc.assert(
      fc.property(searchStateArb, sigmasArb.filter((s) => s.length > 0), adapt, how, fc.nat(), (state, sigmas, a, damage, at) => {
        expectRefused(searchPart, corrupt(searchPart.encode(state), damage, at));
        // One σ fewer or more is a valid list of σ for another model: the count is checked against the model.
        if (damage === 'nan') expectRefused(sigmaPart, corrupt(sigmas, damage, at));
        expectRefused(sigmaAdaptationPart(a.rule, a.n), corrupt(a.packed, damage, at));
      }),
      { seed: SEEDS.corrupt, numRuns: 200 },
    );
  });

  it('the part list: an unknown rso/* part, one saved twice, or a missing one', () => {
    const saved = (names: string[]) => new Map(names.map((n) => [n, [0]]));
    expect(() => sortParts(saved(['iter', 'rso/search', 'rso/sigma', 'rso/momentum']), ['search', 'sigma'], ['search', 'sigma'])).toThrow(
      /unknown state part "rso\/momentum"; this optimizer's parts are "rso\/search", "rso\/sigma"/,
    );
    expect(() => sortParts(saved(['rso/search', 'rso/state', 'rso/sigma']), ['search', 'sigma'], [], { 'rso/state': 'search' })).toThrow(
      /state part "rso\/search" is saved twice \(once as "rso\/state"\)/,
    );
    expect(() => sortParts(saved(['rso/search']), ['search', 'sigma'], ['search', 'sigma'])).toThrow(/missing state part "rso\/sigma"; got \[rso\/search\]/);
    expect([...sortParts(saved(['iter', 'rso/state', 'rso/sigma']), ['search', 'sigma'], ['search'], { 'rso/state': 'search' }).keys()]).toEqual(['search', 'sigma']);
  });
});

/** Two variables in two layers (groups of 3 and 2 scalars), and a loss with no ties. */
let problems = 0;
function problem(values: readonly (readonly number[])[] = [[0.5, -0.2, 0.1], [0.3, 0.7]]) {
  const tag = `p${problems++}`;
  const vars = [tf.variable(tf.tensor1d(values[0]!.slice()), true, `${tag}_a/kernel`), tf.variable(tf.tensor1d(values[1]!.slice()), true, `${tag}_b/kernel`)];
  const loss = () => tf.tidy(() => tf.add(tf.sum(tf.square(tf.sub(vars[0]!, 0.25))), tf.sum(tf.abs(tf.add(vars[1]!, 0.1)))) as tf.Scalar);
  return { vars, run: (opt: RSOOptimizer, steps: number) => Array.from({ length: steps }, () => opt.minimize(loss, false, vars)) };
}

const named = (parts: { name: string; dtype: string; values: number[] }[]): NamedTensor[] =>
  parts.map((w) => ({ name: w.name, tensor: w.name === 'iter' ? tf.scalar(w.values[0]!, 'int32') : tf.tensor1d(w.values, w.dtype as 'int32' | 'float32') }));

/** The weights of `opt` as plain data (names, dtypes, values), freeing nothing the optimizer owns. */
async function plain(opt: RSOOptimizer) {
  return (await opt.getWeights()).map((w) => ({ name: w.name, dtype: w.tensor.dtype, values: Array.from(w.tensor.dataSync()) }));
}

/** A state saved by the version before the codec (rso/state, rso/sigma, rso/adapt), with the config and weights. */
interface OldSave {
  readonly config: RSOConfig;
  readonly steps: number;
  readonly weights: { name: string; dtype: string; values: number[] }[];
  readonly variables: number[][];
}
const OLD: OldSave = JSON.parse(readFileSync(new URL('./fixtures/state-before-codec.json', import.meta.url), 'utf8')) as OldSave;

describe('saved state of older versions', () => {
  it('loads rso/state, rso/sigma and rso/adapt, and continues as an uninterrupted run', async () => {
    expect(OLD.weights.map((w) => w.name)).toEqual(['iter', 'rso/state', 'rso/sigma', 'rso/adapt']);
    // The uninterrupted run today saves the same values under the parts' names.
    const straight = problem();
    const uninterrupted = new RSOOptimizer(OLD.config);
    straight.run(uninterrupted, OLD.steps);
    const renamed = { 'rso/state': 'rso/search', 'rso/adapt': 'rso/sigmaAdaptation' } as Record<string, string>;
    expect(await plain(uninterrupted)).toEqual(OLD.weights.map((w) => ({ ...w, name: renamed[w.name] ?? w.name })));
    straight.run(uninterrupted, 6);

    const resumed = problem(OLD.variables);
    const opt = new RSOOptimizer(OLD.config);
    const old = named(OLD.weights);
    const before = tf.memory().numTensors;
    await opt.setWeights(old);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(old.map((w) => w.tensor));
    resumed.run(opt, 6);
    expect(resumed.vars.map((v) => Array.from(v.dataSync()))).toEqual(straight.vars.map((v) => Array.from(v.dataSync())));
    expect(await plain(opt)).toEqual(await plain(uninterrupted));
    for (const o of [opt, uninterrupted]) o.dispose();
    tf.dispose([...resumed.vars, ...straight.vars]);
  });
});

describe('RSOOptimizer.setWeights refuses, naming the part', () => {
  it('an out-of-range cursor (rso/search), an unknown part, and σ adaptation saved for a config without it', async () => {
    const p = problem();
    const opt = new RSOOptimizer({ seed: 3, sigmaAdaptation: successRule({ window: 3 }) });
    p.run(opt, 4);
    const saved = await plain(opt);
    const withGroup = (g: number) => saved.map((w) => (w.name === 'rso/search' ? { ...w, values: w.values.map((v, i) => (i === 2 ? g : v)) } : w));
    const check = async (target: RSOOptimizer, weights: typeof saved, message: RegExp) => {
      const tensors = named(weights);
      await expect(target.setWeights(tensors)).rejects.toThrow(message);
      tf.dispose(tensors.map((w) => w.tensor));
    };
    await check(opt, withGroup(2), /RSOOptimizer\.setWeights: rso\/search: RSO state: cursor group 2 is out of range; the model has 2 weight groups/);
    await check(opt, withGroup(-1), /RSOOptimizer\.setWeights: rso\/search: RSO state: group must be an integer/);
    await check(opt, [...saved, { name: 'rso/momentum', dtype: 'float32', values: [1] }], /unknown state part "rso\/momentum"/);
    await check(new RSOOptimizer({ seed: 3 }), saved, /unknown state part "rso\/sigmaAdaptation"; this optimizer's parts are "rso\/search", "rso\/sigma"/);
    await check(opt, saved.map((w) => (w.name === 'rso/sigmaAdaptation' ? { ...w, values: [...w.values.slice(0, -1), 7] } : w)), /rso\/sigmaAdaptation: the window moves of tensor 1 must be an integer in 0…\d, got 7/);
    // Nothing changed: the optimizer saves what it saved before.
    expect(await plain(opt)).toEqual(saved);
    opt.dispose();
    tf.dispose(p.vars);
  });

  it("a user's σ adaptation, written outside src/, is saved and restored through its part", async () => {
    // Triples σ after a window of 2 steps with a move, and thirds it otherwise.
    const tripling: SigmaAdaptation = { window: 2, update: (m, moved) => (moved > 0 ? m * 3 : m / 3) };
    const a = problem();
    const first = new RSOOptimizer({ seed: 5, sigmaAdaptation: tripling });
    a.run(first, 5);
    const saved = await plain(first);
    expect(saved.map((w) => w.name)).toEqual(['iter', 'rso/search', 'rso/sigma', 'rso/sigmaAdaptation']);
    expect(saved[3]!.values.slice(0, 2).some((m) => m !== 1)).toBe(true);
    const b = problem(a.vars.map((v) => Array.from(v.dataSync())));
    const second = new RSOOptimizer({ seed: 5, sigmaAdaptation: tripling });
    const tensors = named(saved);
    await second.setWeights(tensors);
    tf.dispose(tensors.map((w) => w.tensor));
    a.run(first, 4);
    b.run(second, 4);
    expect(b.vars.map((v) => Array.from(v.dataSync()))).toEqual(a.vars.map((v) => Array.from(v.dataSync())));
    expect(await plain(second)).toEqual(await plain(first));
    for (const o of [first, second]) o.dispose();
    tf.dispose([...a.vars, ...b.vars]);
  });
});
