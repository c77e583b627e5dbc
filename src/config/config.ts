import { createPolicy, isPolicyOf } from '../policies/registry.js';
import type { ConfigValue, PolicyConfig, PolicyKind } from '../policies/registry.js';
import { linearSchedule } from '../policies/schedules/index.js';
import type { Schedule } from '../policies/schedules/index.js';
import { normalDistribution } from '../policies/distributions/index.js';
import type { PerturbationDistribution } from '../policies/distributions/index.js';
import { outputToInput } from '../policies/layer-order/index.js';
import type { LayerOrder } from '../policies/layer-order/index.js';
import { fixedSigma, heSigma, initStdSigma } from '../policies/sigma/index.js';
import type { SigmaRule } from '../policies/sigma/index.js';
import { fullSweep } from '../policies/coordinates/index.js';
import type { CoordinateSelection } from '../policies/coordinates/index.js';
import { greedyAcceptance } from '../policies/acceptance/index.js';
import type { AcceptanceRule } from '../policies/acceptance/index.js';
import { constantSchedule } from '../policies/schedules/index.js';
// The grid factories register themselves here, so that a worker thread that parses a config knows them.
import '../policies/grids/index.js';
import type { WeightGrid } from '../policies/grids/index.js';
import '../policies/sigma-adaptation/index.js';
import '../policies/moves/index.js';
import '../policies/probe-reuse/index.js';
import type { ProbeReuse } from '../policies/probe-reuse/index.js';
import type { MovePolicy } from '../policies/moves/index.js';
import type { SigmaAdaptation } from '../policies/sigma-adaptation/index.js';
import '../policies/early-rejection/index.js';
import type { EarlyRejection } from '../policies/early-rejection/index.js';
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

const KNOWN_FIELDS = [
  'seed', 'cycles', 'sigma', 'sigmaBase', 'bnSigma', 'distribution', 'layerOrder', 'stepsPerBatch',
  'coordinates', 'acceptance', 'weightDecay', 'mergeNormalization', 'grid', 'sigmaAdaptation', 'moves',
  'earlyRejection', 'probeReuse',
] as const;

/** Names from other optimizers and trainers, mapped to the RSO field that plays their part. */
const FIELD_HINTS: Readonly<Record<string, string>> = {
  epochs: 'cycles',
  learningRate: 'sigma',
  lr: 'sigma',
  randomSeed: 'seed',
  decay: 'weightDecay',
  noise: 'distribution',
  quantization: 'grid',
  grids: 'grid',
};

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

function isPolicyConfig(v: unknown): v is PolicyConfig {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && !hasMethods(v);
}

function hasMethods(v: object): boolean {
  return Object.values(v).some((x) => typeof x === 'function');
}

function policy<T>(kind: PolicyKind, field: string, value: unknown, fallback: () => T): T {
  if (value === undefined || value === null) return fallback();
  if (isPolicyConfig(value) && typeof value !== 'function') return createPolicy<T>(kind, value, field);
  if (isPolicyOf(kind, value)) return value as T;
  throw new TypeError(`${field}: expected a ${kind} policy or its config {"name": ...}, got ${describe(value)}`);
}

const describe = quote;

/**
 * Parses and validates an optimizer config. Errors name the field and quote the value. A field set to
 * `undefined` or `null` takes its default.
 *
 * @param input - User options or a saved config.
 * @returns The resolved config.
 */
export function parseConfig(input: RSOConfig = {}): ResolvedConfig {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`RSOOptimizer config must be an object, got ${describe(input)}`);
  }
  rejectUnknown('RSOOptimizer config', input, KNOWN_FIELDS, FIELD_HINTS);
  const seed = requireFinite('seed', input.seed ?? 0);
  const cycles = requireInteger('cycles', input.cycles ?? PAPER_CYCLES, 1, MAX_CYCLES);
  const weightDecay = requireNonNegative('weightDecay', input.weightDecay ?? 0);
  if (weightDecay >= 1) throw new RangeError(`weightDecay must be < 1, got ${weightDecay}`);
  const bnSigma = input.bnSigma === undefined || input.bnSigma === null ? undefined : requireSigma('bnSigma', input.bnSigma);

  let sigmaBase: SigmaRule;
  const sb = input.sigmaBase;
  if (sb === undefined || sb === 'initStd') sigmaBase = initStdSigma();
  else if (sb === 'he') sigmaBase = heSigma();
  else if (typeof sb === 'number') {
    requireSigma('sigmaBase', sb);
    sigmaBase = fixedSigma({ value: sb });
  } else if (typeof sb === 'string') {
    throw new RangeError(`sigmaBase: unknown rule "${sb}"${suggest(sb, ['initStd', 'he'])}; use 'initStd', 'he', a number or a SigmaRule`);
  } else sigmaBase = policy<SigmaRule>('sigmaRule', 'sigmaBase', sb, initStdSigma);

  let stepsPerBatch: Schedule;
  const spb = input.stepsPerBatch;
  if (typeof spb === 'number') {
    requireInteger('stepsPerBatch', spb, 1, MAX_STEPS_PER_BATCH);
    stepsPerBatch = constantSchedule({ value: spb });
  } else {
    stepsPerBatch = policy<Schedule>('schedule', 'stepsPerBatch', spb, () => constantSchedule({ value: 1 }));
  }

  const earlyRejection = policy<EarlyRejection | null>('earlyRejection', 'earlyRejection', input.earlyRejection, () => null);
  const probeReuse = policy<ProbeReuse | null>('probeReuse', 'probeReuse', input.probeReuse, () => null);
  if (earlyRejection !== null && probeReuse !== null) {
    throw new RangeError('probeReuse: cannot be combined with earlyRejection (a step decided on part of the batch has no full-batch losses to reuse); leave one of them out');
  }
  const sigma = policy<Schedule>('schedule', 'sigma', input.sigma, () => linearSchedule({ from: 1, to: 0.1 }));
  checkSchedules(sigma, stepsPerBatch, cycles);
  return {
    seed,
    cycles,
    sigma,
    sigmaBase,
    bnSigma,
    distribution: policy('distribution', 'distribution', input.distribution, normalDistribution),
    layerOrder: policy('layerOrder', 'layerOrder', input.layerOrder, outputToInput),
    stepsPerBatch,
    coordinates: policy('coordinates', 'coordinates', input.coordinates, fullSweep),
    acceptance: policy('acceptance', 'acceptance', input.acceptance, greedyAcceptance),
    weightDecay,
    mergeNormalization: input.mergeNormalization === undefined || input.mergeNormalization === null ? true : requireBoolean('mergeNormalization', input.mergeNormalization),
    grids: parseGrids(input.grid),
    sigmaAdaptation: policy<SigmaAdaptation | null>('sigmaAdaptation', 'sigmaAdaptation', input.sigmaAdaptation, () => null),
    moves: policy<MovePolicy | null>('moves', 'moves', input.moves, () => null),
    earlyRejection,
    probeReuse,
  };
}

function parseGrids(value: RSOConfig['grid'] | null): WeightGrid[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? (value as readonly unknown[]) : [value];
  return list.map((g, i) => {
    const field = Array.isArray(value) ? `grid[${i}]` : 'grid';
    const missing = (): never => {
      throw new TypeError(`${field}: expected a weightGrid policy or its config {"name": ...}, got ${describe(g)}`);
    };
    return policy<WeightGrid>('weightGrid', field, g, missing);
  });
}

function policyConfig(field: string, p: { readonly config?: PolicyConfig }): PolicyConfig {
  if (p.config === undefined) {
    throw new TypeError(
      `RSOOptimizer.getConfig: the "${field}" policy is a custom one without a config, so it cannot be saved. ` +
        `Register a factory with registerPolicy() and give the policy a { name, ...params } config.`,
    );
  }
  return p.config;
}

/**
 * Serializes a resolved config to plain JSON that {@link parseConfig} reads back.
 *
 * @param c - The resolved config.
 * @returns JSON-safe config.
 */
export function serializeConfig(c: ResolvedConfig): { [key: string]: ConfigValue } {
  const out: { [key: string]: ConfigValue } = {
    seed: c.seed,
    cycles: c.cycles,
    sigma: policyConfig('sigma', c.sigma),
    sigmaBase: policyConfig('sigmaBase', c.sigmaBase),
    distribution: policyConfig('distribution', c.distribution),
    layerOrder: policyConfig('layerOrder', c.layerOrder),
    stepsPerBatch: policyConfig('stepsPerBatch', c.stepsPerBatch),
    coordinates: policyConfig('coordinates', c.coordinates),
    acceptance: policyConfig('acceptance', c.acceptance),
    weightDecay: c.weightDecay,
    mergeNormalization: c.mergeNormalization,
  };
  if (c.bnSigma !== undefined) out['bnSigma'] = c.bnSigma;
  if (c.sigmaAdaptation !== null) out['sigmaAdaptation'] = policyConfig('sigmaAdaptation', c.sigmaAdaptation);
  if (c.moves !== null) out['moves'] = policyConfig('moves', c.moves);
  if (c.earlyRejection !== null) out['earlyRejection'] = policyConfig('earlyRejection', c.earlyRejection);
  if (c.probeReuse !== null) out['probeReuse'] = policyConfig('probeReuse', c.probeReuse);
  if (c.grids.length > 0) out['grid'] = c.grids.map((g, i) => policyConfig(`grid[${i}]`, g));
  return out;
}
