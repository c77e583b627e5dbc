import { describe, expect, it } from 'vitest';
import {
  RSOOptimizer,
  constantSchedule,
  cosineSchedule,
  createPolicy,
  discreteDistribution,
  exponentialSchedule,
  fixedSigma,
  heSigma,
  initStdSigma,
  linearSchedule,
  piecewiseSchedule,
  policyNames,
  POLICY_KINDS,
  randomSubset,
} from '../src/index.js';
import type { PolicyConfig, PolicyKind, RSOConfig } from '../src/index.js';
import { rejectUnknown, suggest } from '../src/base/validate.js';
import { CONFIG_FIELDS, KNOWN_FIELDS, parseConfig, serializeConfig } from '../src/config/config.js';

/** Unknown or wrong-typed arguments are errors that name the field and suggest the right one. */
describe('did-you-mean helpers', () => {
  it('suggest picks the closest known name, or nothing when none is close', () => {
    expect(suggest('form', ['from', 'to', 'steps'])).toBe(' (did you mean "from"?)');
    expect(suggest('cycle', ['seed', 'cycles'])).toBe(' (did you mean "cycles"?)');
    expect(suggest('weight_decay', ['seed', 'weightDecay'])).toBe(' (did you mean "weightDecay"?)');
    expect(suggest('epochs', ['seed', 'cycles'])).toBe('');
    expect(suggest('x', [])).toBe('');
  });

  it('rejectUnknown names the key, uses a hint for foreign names, and lists the known ones', () => {
    expect(() => rejectUnknown('fit args', { epochs: 1 }, ['cycles', 'batchSize'], { epochs: 'cycles' })).toThrow(
      new RangeError('fit args: unknown field "epochs" (did you mean "cycles"?); known fields: cycles, batchSize'),
    );
    expect(() => rejectUnknown('fit args', { batchsize: 1 }, ['cycles', 'batchSize'])).toThrow(/unknown field "batchsize" \(did you mean "batchSize"\?\)/);
    expect(() => rejectUnknown('fit args', { cycles: 1, batchSize: 2 }, ['cycles', 'batchSize'])).not.toThrow();
  });
});

describe('RSOOptimizer config fields', () => {
  it('a typo in a policy parameter is a RangeError naming it and suggesting the right one', () => {
    const make = () => new RSOOptimizer({ sigma: { name: 'linear', form: 5 } });
    expect(make).toThrow(RangeError);
    expect(make).toThrow(/sigma: linearSchedule: unknown field "form" \(did you mean "from"\?\); known fields: from, to, steps/);
  });

  it('unknown top-level fields suggest the closest known field, and `epochs` points to `cycles`', () => {
    expect(() => new RSOOptimizer({ epochs: 1 } as RSOConfig)).toThrow(/RSOOptimizer config: unknown field "epochs" \(did you mean "cycles"\?\)/);
    expect(() => new RSOOptimizer({ stepPerBatch: 2 } as RSOConfig)).toThrow(/unknown field "stepPerBatch" \(did you mean "stepsPerBatch"\?\)/);
    expect(() => new RSOOptimizer({ sigmaa: 1 } as RSOConfig)).toThrow(/unknown field "sigmaa" \(did you mean "sigma"\?\)/);
  });

  it('a non-boolean mergeNormalization is an error that quotes the value', () => {
    expect(() => new RSOOptimizer({ mergeNormalization: 'false' as unknown as boolean })).toThrow(/mergeNormalization must be true or false, got "false"/);
    expect(() => new RSOOptimizer({ mergeNormalization: 0 as unknown as boolean })).toThrow(/mergeNormalization must be true or false, got 0/);
    expect(new RSOOptimizer({ mergeNormalization: false }).config.mergeNormalization).toBe(false);
  });

  it('σ values that float32 cannot hold are rejected', () => {
    expect(() => new RSOOptimizer({ bnSigma: 1e300 })).toThrow(/bnSigma must be > 0 and finite in float32/);
    expect(() => new RSOOptimizer({ sigmaBase: 1e-50 })).toThrow(/sigmaBase must be > 0 and finite in float32/);
  });

  it('stepsPerBatch above the int32 step counter is rejected', () => {
    expect(() => new RSOOptimizer({ stepsPerBatch: 1e20 })).toThrow(/stepsPerBatch must be an integer ≤ 2147483647, got 100000000000000000000/);
  });
});

/** The field declarations are the one list: the known fields, the hints, the defaults and the saved form come from them. */
describe('every declared config field', () => {
  const defaults = serializeConfig(parseConfig({}));

  it('is a known field, once, and nothing else is', () => {
    expect(KNOWN_FIELDS).toEqual(CONFIG_FIELDS.map((f) => f.name));
    expect(new Set(KNOWN_FIELDS).size).toBe(KNOWN_FIELDS.length);
    expect(() => new RSOOptimizer({ bogusField: 1 } as RSOConfig)).toThrow(`; known fields: ${KNOWN_FIELDS.join(', ')}`);
  });

  it('has hints that are no known field and point to one field each', () => {
    const hints = CONFIG_FIELDS.flatMap((f) => f.hints);
    expect(hints.filter((h) => KNOWN_FIELDS.includes(h))).toEqual([]);
    expect(new Set(hints).size).toBe(hints.length);
  });

  for (const f of CONFIG_FIELDS) {
    it(`${f.name}: null and undefined give the default, which is saved only when the field is not optional`, () => {
      for (const missing of [null, undefined]) {
        expect(serializeConfig(parseConfig({ [f.name]: missing } as RSOConfig))).toEqual(defaults);
      }
      expect(Object.prototype.hasOwnProperty.call(defaults, f.name)).toBe(!f.optional);
    });

    for (const hint of f.hints) {
      it(`${f.name}: the foreign name "${hint}" points to it`, () => {
        expect(() => parseConfig({ [hint]: 1 } as RSOConfig)).toThrow(`unknown field "${hint}" (did you mean "${f.name}"?)`);
      });
    }
  }
});

/** Every built-in policy, by kind, with a config that has an extra unknown key. */
const kinds: readonly PolicyKind[] = POLICY_KINDS;
const validParams: Record<string, Record<string, PolicyConfig>> = {
  schedule: { piecewise: { name: 'piecewise', boundaries: [1], values: [1, 0.5] } },
  distribution: { discrete: { name: 'discrete', values: [1] } },
  sigmaRule: { fixed: { name: 'fixed', value: 0.1 } },
  coordinates: {
    randomSubset: { name: 'randomSubset', fraction: 0.5 },
    rankedSubset: { name: 'rankedSubset', fraction: 0.5, tensors: [{ name: 'dense/kernel', costs: [0.3, 0.1] }] },
  },
  weightGrid: { uniform: { name: 'uniform', bits: 3 }, fitted: { name: 'fitted', bits: 2, tensors: [{ name: 'dense/kernel', steps: [0.1, 0.2] }] } },
};

describe('every built-in policy factory rejects unknown and wrong-typed parameters', () => {
  it('covers every policy kind, each with at least one built-in', () => {
    for (const kind of kinds) expect(policyNames(kind).length, kind).toBeGreaterThan(0);
  });

  for (const kind of kinds) {
    for (const name of policyNames(kind)) {
      it(`${kind} "${name}" rejects an unknown parameter, naming it`, () => {
        const base = validParams[kind]?.[name] ?? { name };
        expect(() => createPolicy(kind, base)).not.toThrow();
        expect(() => createPolicy(kind, { ...base, bogusParam: 1 }, 'field')).toThrow(RangeError);
        expect(() => createPolicy(kind, { ...base, bogusParam: 1 }, 'field')).toThrow(/^field: .*unknown field "bogusParam"/);
      });
    }
  }

  it('wrong-typed parameters name the parameter and quote the value', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => constantSchedule({ value: '1' as unknown as number }), /constantSchedule.value must be a finite number, got "1"/],
      [() => linearSchedule({ to: null as unknown as number }), /linearSchedule.to must be a value or left out, got null/],
      [() => linearSchedule({ steps: 2.5 }), /linearSchedule.steps must be an integer ≥ 1, got 2.5/],
      [() => cosineSchedule({ from: NaN }), /cosineSchedule.from must be a finite number, got NaN/],
      [() => exponentialSchedule({ rate: -1 }), /exponentialSchedule.rate must be > 0, got -1/],
      [() => piecewiseSchedule({ boundaries: 5 as unknown as number[], values: [1] }), /piecewiseSchedule.boundaries must be an array, got 5/],
      [() => piecewiseSchedule({ boundaries: [1], values: ['a'] as unknown as number[] }), /piecewiseSchedule.values\[0\] must be a finite number, got "a"/],
      [() => discreteDistribution({ values: 'abc' as unknown as number[] }), /discreteDistribution.values must be an array, got "abc"/],
      [() => randomSubset({ fraction: true as unknown as number }), /randomSubset.fraction must be a finite number, got true/],
      [() => randomSubset({ fraction: [] }), /randomSubset.fraction must list at least one share, got \[\]/],
      [() => randomSubset({ fraction: [0.5, 2] }), /randomSubset.fraction\[1\] must be ≤ 1, got 2/],
      [() => randomSubset({ fraction: [0.5, '1'] as unknown as number[] }), /randomSubset.fraction\[1\] must be a finite number, got "1"/],
      [() => fixedSigma({ value: Infinity }), /fixedSigma.value must be a finite number, got Infinity/],
      [() => heSigma({ constant: 0 }), /heSigma.constant must be > 0, got 0/],
      [() => initStdSigma({ constant: -1 }), /initStdSigma.constant must be > 0, got -1/],
      [() => linearSchedule(5 as unknown as object), /linearSchedule: options must be an object/],
    ];
    for (const [make, message] of cases) expect(make).toThrow(message);
  });

  it('the config path names the optimizer field too', () => {
    expect(() => new RSOOptimizer({ coordinates: { name: 'randomSubset', fraction: '0.5' } })).toThrow(/coordinates: randomSubset.fraction must be a finite number, got "0.5"/);
    expect(() => new RSOOptimizer({ distribution: { name: 'normal', scale: 2 } })).toThrow(/distribution: normalDistribution: unknown field "scale"; it takes no fields/);
    expect(() => new RSOOptimizer({ sigma: { name: 'linaer' } })).toThrow(/sigma: unknown schedule "linaer" \(did you mean "linear"\?\)/);
  });
});
