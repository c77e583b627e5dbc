/**
 * Property-based robustness suite: random optimizer configs and random saved states, valid
 * and invalid. For every case, one of two outcomes:
 * - a RangeError or TypeError whose message names the bad field; or
 * - a correct short run (a few `minimize` steps on a tiny model, cpu backend) with every weight finite and no leaked
 *   tensor.
 * Every case is labelled when drawn: which fields are bad, and whether the error is due when the optimizer is
 * built or when it runs. The seeds are fixed so that every run draws the same cases.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { NamedTensor, RSOConfig } from '../src/index.js';
import { KNOWN_FIELDS } from '../src/config/config.js';
import { tinyDense, toyData, useCpu, weightsOf } from './helpers.js';

/** fast-check seeds of the three properties. */
const CONFIG_SEED = 20260511;
const STATE_SEED = 1105;
const ROUND_TRIP_SEED = 42;
const CONFIG_RUNS = 400;
const STATE_RUNS = 300;
const ROUND_TRIP_RUNS = 200;

/** When a drawn value must fail: never, when the optimizer is built, or on its first steps. */
type Verdict = 'ok' | 'config' | 'run';
interface Drawn {
  readonly value: unknown;
  readonly verdict: Verdict;
}

const ok = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<Drawn> => arb.map((value) => ({ value, verdict: 'ok' as const }));
const okOf = (...values: unknown[]): fc.Arbitrary<Drawn> => ok(fc.constantFrom(...values));
const badOf = (...values: unknown[]): fc.Arbitrary<Drawn> => fc.constantFrom(...values).map((value) => ({ value, verdict: 'config' as const }));
const runBadOf = (...values: unknown[]): fc.Arbitrary<Drawn> => fc.constantFrom(...values).map((value) => ({ value, verdict: 'run' as const }));
const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((v) => !Object.is(v, -0));

/** A field's draws: each valid draw 24 times as often as each invalid one, so that about half the configs are valid. */
const field = (valid: fc.Arbitrary<Drawn>[], invalid: fc.Arbitrary<Drawn>[]): fc.Arbitrary<Drawn> =>
  fc.oneof(...valid.map((arbitrary) => ({ arbitrary, weight: 24 })), ...invalid.map((arbitrary) => ({ arbitrary, weight: 1 })));

/** Every field of RSOConfig: valid draws (some of them extreme), and invalid ones. */
const fieldArbs = {
  seed: field([ok(fc.integer()), ok(finite(-1e300, 1e300)), okOf(null)], [badOf(NaN, Infinity, -Infinity, '42', true, {}, [])]),
  cycles: field([ok(fc.integer({ min: 1, max: 1000 })), okOf(1_000_000)], [badOf(0, -3, 2.5, NaN, Infinity, '5', false, 1_000_001, 1e12, 1e308, 2 ** 53 + 2)]),
  sigma: field(
    [
      okOf(
        { name: 'linear' },
        { name: 'linear', from: 2, to: 0.5, steps: 3 },
        { name: 'cosine', from: 1, to: 0 },
        { name: 'constant', value: 0.5 },
        { name: 'constant', value: 1e6 },
        // Finite, but every draw overflows float32: the candidates fall back to w, and nothing moves.
        { name: 'constant', value: 1e308 },
        { name: 'exponential', rate: 0.5 },
        { name: 'piecewise', boundaries: [1], values: [1, 0.5] },
      ),
    ],
    [
      badOf(
        { name: 'linear', form: 5 },
        { name: 'linear', steps: 0 },
        { name: 'linear', from: '1' },
        { name: 'cosine', to: NaN },
        { name: 'piecewise', boundaries: [2, 1], values: [1, 1, 1] },
        { name: 'piecewise', boundaries: [1] },
        { name: 'zigzag' },
        { name: 3 },
        5,
        'linear',
        // Refused when built, not at the first step: a factor < 0, or 0 all through the plan.
        { name: 'constant', value: -1 },
        { name: 'linear', from: -1 },
        { name: 'constant', value: 0 },
      ),
    ],
  ),
  sigmaBase: field(
    [okOf('initStd', 'he', { name: 'fixed', value: 0.1 }, { name: 'initStd' }, { name: 'he', constant: 0.2 }), ok(finite(1e-3, 2))],
    [badOf('xavier', 0, -1, NaN, Infinity, 1e300, 1e-45, 1e-39, { name: 'fixed', value: 1e-40 }, { name: 'fixed' }, { name: 'fixed', value: '0.1' }, { name: 'he', konstant: 1 }, { name: 'nope' }, true, [])],
  ),
  bnSigma: field([ok(finite(1e-3, 10))], [badOf(0, -1, NaN, Infinity, 1e300, 1e-50, 'x')]),
  distribution: field(
    [okOf({ name: 'normal' }, { name: 'uniform' }, { name: 'laplace' }, { name: 'rademacher' }, { name: 'discrete', values: [0.5, 1] })],
    [badOf({ name: 'normal', scale: 1 }, { name: 'cauchy' }, { name: 'discrete', values: [] }, { name: 'discrete', values: [0] }, { name: 'discrete', values: [0, 0] }, { name: 'discrete', values: ['a'] }, { name: 'discrete' }, 'normal')],
  ),
  layerOrder: field([okOf({ name: 'outputToInput' }, { name: 'inputToOutput' }, { name: 'shuffled' })], [badOf({ name: 'shuffled', seed: 1 }, { name: 'middleOut' }, 1)]),
  stepsPerBatch: field(
    [okOf(1, 2, 3, { name: 'constant', value: 2 }, { name: 'piecewise', boundaries: [1], values: [1, 2] })],
    [
      badOf(0, -1, 1.5, NaN, 1e20, 2 ** 31, '2', { name: 'constant', value: NaN }, { name: 'constant', valeu: 2 }),
      // Refused when built, not at the first fit.
      badOf({ name: 'constant', value: 0 }, { name: 'constant', value: -2 }, { name: 'constant', value: 1e20 }),
    ],
  ),
  coordinates: field(
    [okOf({ name: 'fullSweep' }), ok(finite(0.05, 1).map((fraction) => ({ name: 'randomSubset', fraction })))],
    [badOf({ name: 'randomSubset', fraction: 0 }, { name: 'randomSubset', fraction: 1.5 }, { name: 'randomSubset', fraction: [] }, { name: 'randomSubset', fraction: [0.5, 0] }, { name: 'randomSubset', fraction: '0.5' }, { name: 'randomSubset' }, { name: 'fullSweep', fraction: 1 }, { name: 'random' }), runBadOf({ name: 'randomSubset', fraction: [0.5] }, { name: 'randomSubset', fraction: [0.5, 1, 1, 1] })],
  ),
  acceptance: field([okOf({ name: 'greedy' })], [badOf({ name: 'greedy', eps: 0.1 }, { name: 'metropolis' })]),
  weightDecay: field([ok(finite(0, 0.5)), okOf(0, 0.999)], [badOf(1, 1.5, -0.1, NaN, Infinity, '0')]),
  mergeNormalization: field([ok(fc.boolean()), okOf(null)], [badOf('true', 1, 0, {})]),
};
type Field = keyof typeof fieldArbs;
const FIELDS = Object.keys(fieldArbs) as Field[];

/**
 * Valid draws of every config field, for the round trip: the valid ones above (`null` left out: it is not saved),
 * and the fields whose policies need a model they support to run (grids, σ adaptation, moves, early rejection,
 * probe reuse). A declared field missing here fails the coverage test.
 */
const positive = (min: number, max: number) => finite(min, max).filter((v) => v > 0);
const roundTripArbs: Record<string, fc.Arbitrary<Drawn>> = {
  ...Object.fromEntries(FIELDS.map((f) => [f, fieldArbs[f].filter((d) => d.verdict === 'ok' && d.value !== null)])),
  grid: fc.oneof(
    okOf({ name: 'binary' }, { name: 'ternary', stds: 0.5 }, { name: 'binary', layers: [{ name: 'dense' }] }, [{ name: 'ternary', layers: [{ name: 'dense' }] }, { name: 'binary' }]),
    ok(fc.integer({ min: 2, max: 8 }).map((bits) => ({ name: 'uniform', bits }))),
    ok(fc.integer({ min: 1, max: 8 }).map((bits) => ({ name: 'fitted', bits, tensors: [{ name: 'dense/kernel', steps: [0.1] }] }))),
  ),
  sigmaAdaptation: fc.oneof(
    okOf({ name: 'successRule' }, { name: 'tieWidening' }),
    ok(fc.record({ target: positive(0.01, 0.9), window: fc.integer({ min: 1, max: 1000 }) }).map((o) => ({ name: 'successRule', ...o }))),
    ok(fc.record({ factor: finite(1.01, 10), max: finite(1, 1e6), window: fc.integer({ min: 1, max: 1000 }) }).map((o) => ({ name: 'tieWidening', ...o }))),
  ),
  moves: fc.oneof(okOf({ name: 'channelBlocks' }, { name: 'unitMoves', norm: 2 }), ok(fc.integer({ min: 1, max: 64 }).map((k) => ({ name: 'sparseDirection', k })))),
  earlyRejection: fc.oneof(okOf({ name: 'earlyRejection' }, { name: 'earlyRejection', stages: [0.5, 1] }), ok(positive(0.001, 0.5).map((errorRate) => ({ name: 'earlyRejection', errorRate })))),
  probeReuse: fc.oneof(okOf({ name: 'parabolicStep' }), ok(positive(0.01, 4).map((maxStep) => ({ name: 'parabolicStep', maxStep })))),
};

/** A drawn config: present fields (others missing), plus possibly one unknown key. */
const configArb = fc.record(
  {
    fields: fc.record(fieldArbs, { requiredKeys: [] }),
    // An unknown key in one config out of ten.
    unknown: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 9 },
      { arbitrary: fc.constantFrom('epochs', 'sigmaa', 'lr', 'cycle', 'batchSize', 'verbose', 'learning_rate'), weight: 1 },
    ),
  },
  { requiredKeys: ['fields'] },
);

const counts = { configCases: 0, configErrors: 0, runErrors: 0, runs: 0, stateCases: 0, stateErrors: 0, stateRuns: 0, roundTrips: 0 };

let model: tfl.Sequential;
let initial: tf.Tensor[];
let variables: tf.Variable[];
let x: tf.Tensor;
let y: tf.Tensor;

beforeAll(async () => {
  await useCpu();
  model = tinyDense(5);
  initial = model.getWeights().map((w) => tf.keep(w.clone()));
  variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  ({ x, y } = toyData(16, [4], 3));
});

afterAll(() => {
  console.log(
    `robustness properties: ${counts.configCases} config cases (${counts.configErrors} config errors, ${counts.runErrors} run errors, ${counts.runs} runs; seed ${CONFIG_SEED}), ` +
      `${counts.stateCases} saved states (${counts.stateErrors} errors, ${counts.stateRuns} runs; seed ${STATE_SEED}), ${counts.roundTrips} config round trips (seed ${ROUND_TRIP_SEED})`,
  );
  model.dispose();
  tf.dispose([...initial, x, y]);
});

const loss = () => tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);

/** A few minimize calls from the initial weights; checks every weight is finite and no tensor leaked. */
function shortRun(opt: RSOOptimizer, calls: number): void {
  model.setWeights(initial);
  const before = tf.memory().numTensors;
  try {
    for (let c = 0; c < calls; c++) {
      const cost = opt.minimize(loss, true, variables);
      cost?.dispose();
    }
  } finally {
    expect(tf.memory().numTensors).toBe(before);
  }
  expect(weightsOf(model).every(Number.isFinite)).toBe(true);
}

/** Asserts that `e` is a RangeError/TypeError whose message names one of `fields`. */
function expectNamedError(e: unknown, fields: readonly string[]): void {
  expect(e instanceof RangeError || e instanceof TypeError, `not a RangeError/TypeError: ${String(e)}`).toBe(true);
  const message = (e as Error).message;
  expect(fields.some((f) => message.includes(f)), `"${message}" names none of ${fields.join(', ')}`).toBe(true);
}

function buildConfig(drawn: { fields: Partial<Record<Field, Drawn>>; unknown?: string }): { config: Record<string, unknown>; configBad: string[]; runBad: string[] } {
  const config: Record<string, unknown> = {};
  const configBad: string[] = [];
  const runBad: string[] = [];
  for (const f of FIELDS) {
    const d = drawn.fields[f];
    if (d === undefined) continue;
    config[f] = d.value;
    if (d.verdict === 'config') configBad.push(f);
    if (d.verdict === 'run') runBad.push(f);
  }
  if (drawn.unknown !== undefined) {
    config[drawn.unknown] = 1;
    configBad.push(`"${drawn.unknown}"`);
  }
  return { config, configBad, runBad };
}

describe('random optimizer configs', () => {
  it('give an error naming a bad field, or a correct short run', () => {
    fc.assert(
      fc.property(configArb, (drawn) => {
        counts.configCases++;
        const { config, configBad, runBad } = buildConfig(drawn);
        let opt: RSOOptimizer;
        try {
          opt = new RSOOptimizer(config as RSOConfig);
        } catch (e) {
          counts.configErrors++;
          expect(configBad.length, `valid config rejected: ${JSON.stringify(config)}: ${String(e)}`).toBeGreaterThan(0);
          expectNamedError(e, configBad);
          return;
        }
        expect(configBad, `invalid config accepted: ${JSON.stringify(config)}`).toEqual([]);
        try {
          shortRun(opt, 3);
        } catch (e) {
          counts.runErrors++;
          expect(runBad.length, `valid config failed to run: ${JSON.stringify(config)}: ${String(e)}`).toBeGreaterThan(0);
          expectNamedError(e, runBad);
          return;
        }
        expect(runBad, `a run with ${runBad.join(', ')} should fail`).toEqual([]);
        counts.runs++;
      }),
      { seed: CONFIG_SEED, numRuns: CONFIG_RUNS },
    );
  });

  it('has valid round-trip draws for every declared config field', () => {
    expect(Object.keys(roundTripArbs).sort()).toEqual([...KNOWN_FIELDS].sort());
  });

  it('round-trip through getConfig → fromConfig and JSON when valid, every given field saved', () => {
    const validConfig = fc
      .record(roundTripArbs, { requiredKeys: [] })
      // probeReuse cannot be combined with earlyRejection.
      .filter((fields) => fields.probeReuse === undefined || fields.earlyRejection === undefined);
    fc.assert(
      fc.property(validConfig, (fields) => {
        counts.roundTrips++;
        const config = Object.fromEntries(Object.entries(fields as Record<string, Drawn>).map(([k, d]) => [k, d.value]));
        const saved = new RSOOptimizer(config as RSOConfig).getConfig();
        // A field parsed but not saved would come back as its default: every given field is in the saved config.
        for (const key of Object.keys(config)) expect(saved, key).toHaveProperty(key);
        expect(RSOOptimizer.fromConfig(RSOOptimizer, saved).getConfig()).toEqual(saved);
        const json = JSON.parse(JSON.stringify(saved)) as tf.serialization.ConfigDict;
        expect(RSOOptimizer.fromConfig(RSOOptimizer, json).getConfig()).toEqual(saved);
      }),
      { seed: ROUND_TRIP_SEED, numRuns: ROUND_TRIP_RUNS },
    );
  });
});

// Layout of rso/state: [version, cycle, group, index, step, batch, rng.i, rng.j, S[0..255]].
const SLOT = { version: 0, cycle: 1, group: 2, index: 3, step: 4, batch: 5, i: 6, j: 7 } as const;
const S0 = 8;
/** What each mutated part is called in error messages. */
const NAMES = {
  version: 'RSO state: expected',
  length: 'RSO state: expected',
  cycle: 'cycle',
  group: 'group',
  index: 'index',
  step: 'step',
  batch: 'batch',
  i: 'rng.i',
  j: 'rng.j',
  S: 'rng.S',
  sigma: 'rso/sigma',
} as const;
type Part = keyof typeof NAMES;

interface Mutation {
  readonly part: Part;
  readonly bad: boolean;
  apply(state: number[], sigma: number[]): { state: number[]; sigma: number[] };
}

const setSlot = (part: keyof typeof SLOT, value: number, bad: boolean): Mutation => ({
  part,
  bad,
  apply: (state, sigma) => {
    const s = state.slice();
    s[SLOT[part]] = value;
    return { state: s, sigma };
  },
});

/** Built once the tiny model is bound: it has 3 weight groups (dense+bn merged, dense) — see the beforeAll. */
const mutationArb = (groups: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.constantFrom<[keyof typeof SLOT, number]>(['cycle', -1], ['step', 1.5], ['batch', NaN], ['cycle', 2 ** 31], ['step', -5]).map(([p, v]) => setSlot(p, v, true)),
    fc.tuple(fc.constantFrom<keyof typeof SLOT>('cycle', 'step', 'batch'), fc.integer({ min: 0, max: 1_000_000 })).map(([p, v]) => setSlot(p, v, false)),
    fc.integer({ min: 0, max: groups - 1 }).map((v) => setSlot('group', v, false)),
    fc.constantFrom(groups, groups + 7, -1, 0.5, NaN).map((v) => setSlot('group', v, true)),
    fc.constantFrom(1_000_000, -1, 2.5).map((v) => setSlot('index', v, true)),
    fc.tuple(fc.constantFrom<keyof typeof SLOT>('i', 'j'), fc.integer({ min: 0, max: 255 })).map(([p, v]) => setSlot(p, v, false)),
    fc.tuple(fc.constantFrom<keyof typeof SLOT>('i', 'j'), fc.constantFrom(256, -1, 3.5, NaN, 1e9)).map(([p, v]) => setSlot(p, v, true)),
    fc.constantFrom(2, 0, -1).map((v) => setSlot('version', v, true)),
    fc.constant<Mutation>({ part: 'length', bad: true, apply: (state, sigma) => ({ state: state.slice(0, -1), sigma }) }),
    // A random permutation is a valid ARC4 table.
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 255, maxLength: 255 }).map<Mutation>((draws) => ({
      part: 'S',
      bad: false,
      apply: (state, sigma) => {
        const p = Array.from({ length: 256 }, (_, k) => k);
        for (let k = 255; k > 0; k--) {
          const r = draws[k - 1]! % (k + 1);
          [p[k], p[r]] = [p[r]!, p[k]!];
        }
        const s = state.slice();
        s.splice(S0, 256, ...p);
        return { state: s, sigma };
      },
    })),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(-1, 256, NaN, 0.5, 'dup' as const, 'zeros' as const)).map<Mutation>(([at, v]) => ({
      part: 'S',
      bad: true,
      apply: (state, sigma) => {
        const s = state.slice();
        if (v === 'zeros') s.fill(0, S0);
        else if (v === 'dup') s[S0 + at] = s[S0 + ((at + 1) % 256)]!;
        else s[S0 + at] = v;
        return { state: s, sigma };
      },
    })),
    fc.array(finite(1e-3, 1), { minLength: 1, maxLength: 1 }).map<Mutation>(([v]) => ({
      part: 'sigma',
      bad: false,
      apply: (state, sigma) => ({ state, sigma: sigma.map(() => v!) }),
    })),
    fc.tuple(fc.nat(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0.5, 1e-50, 1e-39)).map<Mutation>(([at, v]) => ({
      part: 'sigma',
      bad: true,
      apply: (state, sigma) => {
        const s = sigma.slice();
        s[at % s.length] = v;
        return { state, sigma: s };
      },
    })),
    fc.constantFrom(1, -1).map<Mutation>((d) => ({
      part: 'sigma',
      bad: true,
      apply: (state, sigma) => ({ state, sigma: d > 0 ? [...sigma, 0.1] : sigma.slice(1) }),
    })),
    // An empty σ at step 5: it used to load as "never bound" and be recomputed from the trained weights.
    fc.constant<Mutation>({ part: 'sigma', bad: true, apply: (state) => ({ state, sigma: [] }) }),
  );

describe('random saved states', () => {
  it('give an error naming the bad field (at setWeights or at bind), or a correct short run', async () => {
    // A real saved state after 5 steps, and the tiny model's weight groups.
    model.setWeights(initial);
    const source = new RSOOptimizer({ seed: 9 });
    for (let s = 0; s < 5; s++) source.minimize(loss, false, variables);
    const groups = source.weightGroups.length;
    const w = await source.getWeights();
    const baseState = Array.from(w[1]!.tensor.dataSync());
    const baseSigma = Array.from(w[2]!.tensor.dataSync());
    tf.dispose(w.map((t) => t.tensor));

    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(mutationArb(groups), { minLength: 0, maxLength: 3, selector: (m) => m.part }), fc.boolean(), async (drawnMutations, bindFirst) => {
        // One mutation per part, the truncation last, so that no mutation undoes another.
        const mutations = [...drawnMutations].sort((a, b) => Number(a.part === 'length') - Number(b.part === 'length'));
        counts.stateCases++;
        let { state, sigma } = { state: baseState, sigma: baseSigma };
        for (const m of mutations) ({ state, sigma } = m.apply(state, sigma));
        const badParts = mutations.filter((m) => m.bad).map((m) => NAMES[m.part]);
        const opt = new RSOOptimizer({ seed: 9 });
        if (bindFirst) opt.bind(variables);
        const integral = state.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31);
        const named: NamedTensor[] = [
          { name: 'rso/state', tensor: tf.tensor1d(state, integral ? 'int32' : 'float32') },
          { name: 'rso/sigma', tensor: tf.tensor1d(sigma, 'float32') },
        ];
        const before = tf.memory().numTensors;
        try {
          await opt.setWeights(named);
          expect(tf.memory().numTensors).toBe(before);
          shortRun(opt, 2);
        } catch (e) {
          counts.stateErrors++;
          expect(badParts.length, `valid state rejected (${mutations.map((m) => m.part).join(', ')}): ${String(e)}`).toBeGreaterThan(0);
          expectNamedError(e, badParts);
          return;
        } finally {
          tf.dispose(named.map((n) => n.tensor));
        }
        expect(badParts, 'an invalid state was accepted and ran').toEqual([]);
        counts.stateRuns++;
      }),
      { seed: STATE_SEED, numRuns: STATE_RUNS },
    );
  });
});
