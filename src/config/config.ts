import type { ConfigValue, PolicyConfig } from '../policies/registry.js';
import { configField, policyConfig, policyField, readPolicy } from '../policies/config-field.js';
import type { ConfigField } from '../policies/config-field.js';
import { constantSchedule, linearSchedule } from '../policies/schedules/index.js';
import type { Schedule } from '../policies/schedules/index.js';
import type { PerturbationDistribution } from '../policies/distributions/index.js';
import type { LayerOrder } from '../policies/layer-order/index.js';
import { fixedSigma, heSigma, initStdSigma } from '../policies/sigma/index.js';
import type { SigmaRule } from '../policies/sigma/index.js';
import type { CoordinateSelection } from '../policies/coordinates/index.js';
import type { AcceptanceRule } from '../policies/acceptance/index.js';
import type { WeightGrid } from '../policies/grids/index.js';
import type { ProbeReuse } from '../policies/probe-reuse/index.js';
import type { MovePolicy } from '../policies/moves/index.js';
import type { SigmaAdaptation } from '../policies/sigma-adaptation/index.js';
import type { EarlyRejection } from '../policies/early-rejection/index.js';
// Each policy kind declares its config field next to itself; importing it also registers the kind's built-ins, so
// that a worker thread that parses a config knows them.
import { distributionField } from '../policies/distributions/index.js';
import { layerOrderField } from '../policies/layer-order/index.js';
import { coordinatesField } from '../policies/coordinates/index.js';
import { acceptanceField } from '../policies/acceptance/index.js';
import { sigmaAdaptationField } from '../policies/sigma-adaptation/index.js';
import '../policies/moves/index.js';
import { movesField } from '../policies/moves/moves-field.js';
import { earlyRejectionField } from '../policies/early-rejection/index.js';
import { probeReuseField } from '../policies/probe-reuse/index.js';
import { gridField } from '../policies/grids/index.js';
import { quote, rejectUnknown, requireBoolean, suggest, requireFinite, requireInteger, requireNonNegative, requireSigma } from '../base/validate.js';

/** Planned cycles of the paper's MNIST run. arXiv:2005.05955, MNIST experiments. */
export const PAPER_CYCLES = 50;

/**
 * Most cycles a config may plan, and an `rso.fit` call may run: a bound a run can honour. The paper plans 50; a
 * million cycles of even a tiny model is more steps than the int32 step counter of a saved state can count.
 */
export const MAX_CYCLES = 1_000_000;

/**
 * Options of {@link RSOOptimizer}. Every field is optional; the defaults are the paper's.
 *
 * @remarks Each policy field takes either a policy object (built-in or your own) or, as in a saved config,
 * its JSON form `{ name, ...params }`.
 */
export interface RSOConfig {
  /** Seed of the optimizer's one random generator (default 0). Same seed, init and data ⇒ same weights. */
  readonly seed?: number;
  /** Planned number of cycles, an integer in 1…{@link MAX_CYCLES}; the σ schedule anneals over it (default 50, the paper's MNIST run). */
  readonly cycles?: number;
  /** σ factor per cycle (default `linearSchedule({ from: 1, to: 0.1 })` over `cycles`). */
  readonly sigma?: Schedule | PolicyConfig;
  /** Base σ per tensor: `'initStd'` (default, Algorithm 1), `'he'`, a fixed number, or a {@link SigmaRule}. */
  readonly sigmaBase?: 'initStd' | 'he' | number | SigmaRule | PolicyConfig;
  /** A fixed σ for BN gamma and beta, overriding `sigmaBase` for them (the authors' script: 0.167). */
  readonly bnSigma?: number;
  /** Perturbation distribution (default `normalDistribution()`). */
  readonly distribution?: PerturbationDistribution | PolicyConfig;
  /** Order of the layers in a cycle (default `outputToInput()`). */
  readonly layerOrder?: LayerOrder | PolicyConfig;
  /** RSO steps per mini-batch handed over by `fit`, a number or a schedule over the batch count (default 1). */
  readonly stepsPerBatch?: number | Schedule | PolicyConfig;
  /** Which scalars a cycle visits (default `fullSweep()`). */
  readonly coordinates?: CoordinateSelection | PolicyConfig;
  /** Acceptance rule (default `greedyAcceptance()`). */
  readonly acceptance?: AcceptanceRule | PolicyConfig;
  /** Multiplicative weight decay per visit, w ← w·(1 − weightDecay) before the candidates (default 0; script: 1e-4). */
  readonly weightDecay?: number;
  /** Search a BN layer together with the layer before it, kernel first then beta, gamma (default true). */
  readonly mergeNormalization?: boolean;
  /**
   * Discrete weights: a weight grid ({@link binaryGrid}, {@link ternaryGrid}, {@link uniformGrid}), or a list of
   * grids for different layers (default none: every weight is continuous). The covered weights are snapped to
   * the grid when the optimizer binds, each step tries their grid neighbours, and weight decay skips them.
   */
  readonly grid?: WeightGrid | PolicyConfig | readonly (WeightGrid | PolicyConfig)[];
  /**
   * Adapts each tensor's σ from how often its steps move the weight, e.g. {@link successRule} (default none: σ
   * follows `sigmaBase` and the `sigma` schedule alone, as in the paper).
   */
  readonly sigmaAdaptation?: SigmaAdaptation | PolicyConfig;
  /**
   * How a step moves the weights, e.g. {@link channelBlocks} (default: the scalar under the cursor alone, as in the
   * paper).
   */
  readonly moves?: MovePolicy | PolicyConfig;
  /**
   * Evaluates each step on growing prefixes of its mini-batch and stops once a paired test settles the decision,
   * e.g. {@link earlyRejection} (default none: every step evaluates the whole batch, as in the paper). Works with
   * `rso.fit` on a loss compiled by name; `minimize` (`model.fit`) throws when it is set.
   */
  readonly earlyRejection?: EarlyRejection | PolicyConfig;
  /**
   * Uses a step's three losses to choose where the weight goes, e.g. {@link parabolicStep} (default none: the
   * acceptance rule keeps one of w, w + Δ, w − Δ, as in the paper). Cannot be combined with `earlyRejection`.
   */
  readonly probeReuse?: ProbeReuse | PolicyConfig;
}

/** A fully parsed configuration: every policy is an object. */
export interface ResolvedConfig {
  /** See {@link RSOConfig.seed}. */
  readonly seed: number;
  /** See {@link RSOConfig.cycles}. */
  readonly cycles: number;
  /** See {@link RSOConfig.sigma}. */
  readonly sigma: Schedule;
  /** See {@link RSOConfig.sigmaBase}. */
  readonly sigmaBase: SigmaRule;
  /** See {@link RSOConfig.bnSigma}. */
  readonly bnSigma: number | undefined;
  /** See {@link RSOConfig.distribution}. */
  readonly distribution: PerturbationDistribution;
  /** See {@link RSOConfig.layerOrder}. */
  readonly layerOrder: LayerOrder;
  /** See {@link RSOConfig.stepsPerBatch}. */
  readonly stepsPerBatch: Schedule;
  /** See {@link RSOConfig.coordinates}. */
  readonly coordinates: CoordinateSelection;
  /** See {@link RSOConfig.acceptance}. */
  readonly acceptance: AcceptanceRule;
  /** See {@link RSOConfig.weightDecay}. */
  readonly weightDecay: number;
  /** See {@link RSOConfig.mergeNormalization}. */
  readonly mergeNormalization: boolean;
  /** See {@link RSOConfig.grid}; empty when every weight is continuous. */
  readonly grids: readonly WeightGrid[];
  /** See {@link RSOConfig.sigmaAdaptation}; null for none. */
  readonly sigmaAdaptation: SigmaAdaptation | null;
  /** See {@link RSOConfig.moves}; null for scalar steps. */
  readonly moves: MovePolicy | null;
  /** See {@link RSOConfig.earlyRejection}; null for none. */
  readonly earlyRejection: EarlyRejection | null;
  /** See {@link RSOConfig.probeReuse}; null for none. */
  readonly probeReuse: ProbeReuse | null;
}

/** Most steps one mini-batch may run: the step counter is saved as an int32. */
export const MAX_STEPS_PER_BATCH = 2 ** 31 - 1;

/**
 * The σ factor of a cycle from the `sigma` schedule, checked.
 *
 * @param schedule - The σ schedule.
 * @param cycle - The cycle.
 * @param cycles - The planned cycles (the schedule's horizon).
 * @returns The factor.
 * @throws RangeError unless it is a finite number ≥ 0.
 */
export function sigmaFactor(schedule: Schedule, cycle: number, cycles: number): number {
  const factor = schedule(cycle, cycles);
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 0) {
    throw new RangeError(`sigma: the schedule must return a finite number ≥ 0, got ${String(factor)} at cycle ${cycle}`);
  }
  return factor;
}

/**
 * The steps of a mini-batch from the `stepsPerBatch` schedule, rounded and checked.
 *
 * @param schedule - The `stepsPerBatch` schedule.
 * @param batch - Mini-batches consumed before this one.
 * @returns The step count.
 * @throws RangeError unless it rounds to an integer in 1…{@link MAX_STEPS_PER_BATCH}.
 */
export function stepsOfBatch(schedule: Schedule, batch: number): number {
  const raw = schedule(batch);
  const n = Math.round(raw);
  if (typeof raw !== 'number' || !Number.isFinite(raw) || n < 1 || n > MAX_STEPS_PER_BATCH) {
    throw new RangeError(`stepsPerBatch: the schedule must return a number in [1, ${MAX_STEPS_PER_BATCH}], got ${String(raw)} at batch ${batch}`);
  }
  return n;
}

/**
 * Checks, when the optimizer is built, what the schedules give where a run starts and ends: σ factors at the first
 * and the last planned cycle (finite, ≥ 0, not both 0: a run that would move no weight), and the first batch's
 * steps. A schedule that goes wrong in between still fails when that cycle or batch comes.
 */
function checkSchedules(sigma: Schedule, stepsPerBatch: Schedule, cycles: number): void {
  const first = sigmaFactor(sigma, 0, cycles);
  const last = sigmaFactor(sigma, cycles - 1, cycles);
  if (first === 0 && last === 0) {
    throw new RangeError(`sigma: the schedule is 0 at the first and the last planned cycle (0 and ${cycles - 1}), so no step would move a weight; give it a value > 0`);
  }
  stepsOfBatch(stepsPerBatch, 0);
}

/** `sigmaBase` given as a rule name or a number. */
function sigmaBaseOf(value: unknown): SigmaRule {
  if (value === 'initStd') return initStdSigma();
  if (value === 'he') return heSigma();
  if (typeof value === 'number') return fixedSigma({ value: requireSigma('sigmaBase', value) });
  if (typeof value === 'string') {
    throw new RangeError(`sigmaBase: unknown rule "${value}"${suggest(value, ['initStd', 'he'])}; use 'initStd', 'he', a number or a SigmaRule`);
  }
  return readPolicy<SigmaRule>('sigmaRule', 'sigmaBase', value);
}

/** `stepsPerBatch` given as a number or a schedule. */
function stepsPerBatchOf(value: unknown): Schedule {
  if (typeof value !== 'number') return readPolicy<Schedule>('schedule', 'stepsPerBatch', value);
  return constantSchedule({ value: requireInteger('stepsPerBatch', value, 1, MAX_STEPS_PER_BATCH) });
}

/** A field that holds a plain JSON value, written to a saved config as it is. */
function valueField<T extends ConfigValue, N extends string>(name: N, fallback: T, parse: (v: unknown) => T, hints?: readonly string[]): ConfigField<T, N> {
  return configField<T, N>({ name, fallback: () => fallback, parse, serialize: (v) => v, ...(hints === undefined ? {} : { hints }) });
}

/** The optimizer's own fields: seed, cycles, the σ schedule and base σ, steps per batch, weight decay, BN. */
const seedField = valueField('seed', 0, (v) => requireFinite('seed', v), ['randomSeed']);
const cyclesField = valueField('cycles', PAPER_CYCLES, (v) => requireInteger('cycles', v, 1, MAX_CYCLES), ['epochs']);
const sigmaField: ConfigField<Schedule, 'sigma'> = {
  ...policyField<Schedule, 'sigma'>('schedule', 'sigma', () => linearSchedule({ from: 1, to: 0.1 }), { hints: ['learningRate', 'lr'] }),
  check: (sigma, c) => checkSchedules(sigma, c['stepsPerBatch'] as Schedule, c['cycles'] as number),
};
const sigmaBaseField = configField({ name: 'sigmaBase', kind: 'sigmaRule', fallback: initStdSigma, parse: sigmaBaseOf, serialize: (p: SigmaRule) => policyConfig('sigmaBase', p) });
const bnSigmaField = configField<number | undefined, 'bnSigma'>({
  name: 'bnSigma',
  optional: true,
  fallback: () => undefined,
  parse: (v) => requireSigma('bnSigma', v),
  serialize: (v) => v,
});
const stepsPerBatchField = configField({
  name: 'stepsPerBatch',
  kind: 'schedule',
  fallback: () => constantSchedule({ value: 1 }),
  parse: stepsPerBatchOf,
  serialize: (p: Schedule) => policyConfig('stepsPerBatch', p),
});
const weightDecayField = valueField(
  'weightDecay',
  0,
  (v) => {
    const decay = requireNonNegative('weightDecay', v);
    if (decay >= 1) throw new RangeError(`weightDecay must be < 1, got ${decay}`);
    return decay;
  },
  ['decay'],
);
const mergeNormalizationField = valueField('mergeNormalization', true, (v) => requireBoolean('mergeNormalization', v));

/**
 * Every field of {@link RSOConfig}, in the order of the known-fields list and of {@link ResolvedConfig}: the
 * optimizer's own, and each policy kind's, declared next to the kind. A new kind adds its field here.
 */
export const CONFIG_FIELDS = [
  seedField,
  cyclesField,
  sigmaField,
  sigmaBaseField,
  bnSigmaField,
  distributionField,
  layerOrderField,
  stepsPerBatchField,
  coordinatesField,
  acceptanceField,
  weightDecayField,
  mergeNormalizationField,
  sigmaAdaptationField,
  movesField,
  earlyRejectionField,
  probeReuseField,
  gridField,
] as const;

type Field = (typeof CONFIG_FIELDS)[number];
/** The resolved config the declarations give, key by key. */
type Declared = { readonly [F in Field as F['key']]: ReturnType<F['fallback']> | ReturnType<F['parse']> };
// Compile-time agreement of the declarations with the documented interfaces: a field declared but missing from
// RSOConfig or ResolvedConfig, or typed differently there, fails `tsc`.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree: [Same<Field['name'], keyof RSOConfig>, Same<Declared, ResolvedConfig>] = [true, true];
void agree;

/** The names {@link parseConfig} accepts, for the known-fields list of an unknown-field error. */
export const KNOWN_FIELDS: readonly string[] = CONFIG_FIELDS.map((f) => f.name);

/** Names from other optimizers and trainers, mapped to the RSO field that plays their part. */
const FIELD_HINTS: Readonly<Record<string, string>> = Object.fromEntries(CONFIG_FIELDS.flatMap((f) => f.hints.map((h) => [h, f.name])));

/**
 * Parses and validates an optimizer config. Errors name the field and quote the value. A field set to
 * `undefined` or `null` takes its default.
 *
 * @param input - User options or a saved config.
 * @returns The resolved config.
 */
export function parseConfig(input: RSOConfig = {}): ResolvedConfig {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`RSOOptimizer config must be an object, got ${quote(input)}`);
  }
  rejectUnknown('RSOOptimizer config', input, KNOWN_FIELDS, FIELD_HINTS);
  const given = input as Readonly<Record<string, unknown>>;
  const resolved: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS as readonly ConfigField[]) {
    const value = given[f.name];
    resolved[f.key] = value === undefined || value === null ? f.fallback() : f.parse(value);
  }
  for (const f of CONFIG_FIELDS as readonly ConfigField[]) f.check?.(resolved[f.key], resolved);
  return resolved as unknown as ResolvedConfig;
}

/**
 * Serializes a resolved config to plain JSON that {@link parseConfig} reads back: the fields every config has, then
 * the optional ones that are set, each in declaration order.
 *
 * @param c - The resolved config.
 * @returns JSON-safe config.
 */
export function serializeConfig(c: ResolvedConfig): { [key: string]: ConfigValue } {
  const out: { [key: string]: ConfigValue } = {};
  const fields = CONFIG_FIELDS as readonly ConfigField[];
  for (const f of [...fields.filter((x) => !x.optional), ...fields.filter((x) => x.optional)]) {
    const value = f.serialize((c as unknown as Readonly<Record<string, unknown>>)[f.key]);
    if (value !== undefined) out[f.name] = value;
  }
  return out;
}
