import type * as tf from '@tensorflow/tfjs-core';
import type { ModelFitArgs } from '@tensorflow/tfjs-layers';
import { createPolicy } from '../policies/registry.js';
import type { PolicyConfig } from '../policies/registry.js';
import { constantSchedule } from '../policies/schedules/index.js';
import { MAX_CYCLES } from '../config/config.js';
import type { Schedule } from '../policies/schedules/index.js';
import { quote, rejectUnknown, requireBoolean, requireInteger, requireNonNegative } from '../base/validate.js';
import type { LossSpec } from './losses.js';
import type { WorkerPool } from '../engine/shard-pool.js';

/** tfjs callbacks, exactly as `model.fit` takes them: callback objects (e.g. `tf.callbacks.earlyStopping()`) or plain hooks. */
export type RSOCallbacks = ModelFitArgs['callbacks'];

/** Model inputs or targets as `model.fit` takes them: one tensor, one per input (output) in order, or a map by name. */
export type TensorsOrMap = tf.Tensor | readonly tf.Tensor[] | { readonly [name: string]: tf.Tensor };

/**
 * Arguments of {@link RSOOptimizer.fit}. They mirror `model.fit`, in RSO units: an epoch is one cycle.
 */
export interface RSOFitArgs {
  /**
   * Examples per mini-batch; each batch feeds `stepsPerBatch` steps (default 1000). The last batch of a pass may
   * be smaller. A schedule over the cycle count gives each cycle its own size (small batches early, for example
   * `piecewiseSchedule({ boundaries: [1, 2], values: [250, 500, 1000] })`); its horizon is the optimizer's
   * planned `cycles`.
   */
  readonly batchSize?: number | Schedule | PolicyConfig;
  /**
   * Cycles to run from the current position, an integer in 1…{@link MAX_CYCLES} (default: the rest of the planned
   * `cycles`, at least 1).
   */
  readonly cycles?: number;
  /** Stop after this many steps in this call (held to the step, also with `stepsPerBatch` > 1). */
  readonly maxSteps?: number;
  /** Stop once this many seconds have passed (checked after each step). */
  readonly timeBudgetSeconds?: number;
  /**
   * Loss for a model that is not compiled yet: `rso.fit` compiles it with this optimizer and this loss. A compiled
   * model trains on its compiled loss; passing a different one is an error.
   */
  readonly loss?: LossSpec | readonly LossSpec[] | { readonly [outputName: string]: LossSpec };
  /** Weight of each output's loss in the total, in output order or by output name (default 1 each). */
  readonly lossWeights?: readonly number[] | { readonly [outputName: string]: number };
  /** `'mean'` (default) or `'sum'` over the batch, as in the authors' script; decisions agree up to rounding. */
  readonly lossReduction?: 'mean' | 'sum';
  /** Shuffle the training set once per cycle, from the optimizer's seed (default true); batches are consecutive chunks. */
  readonly shuffle?: boolean;
  /** Held-out data `[x, y]`, evaluated at the end of every cycle. */
  readonly validationData?: readonly [TensorsOrMap, TensorsOrMap];
  /** Fraction of the training data (taken from the end) to hold out instead. */
  readonly validationSplit?: number;
  /** Batch size for validation forward passes (default 1000). */
  readonly validationBatchSize?: number;
  /** Examples, drawn at random (seeded) from the training set, to re-estimate BN statistics (default 2000, the authors' value; 0 skips). */
  readonly batchNormSamples?: number;
  /** tfjs callbacks: `onTrainBegin`, `onEpochBegin` (a cycle), `onBatchBegin`/`onBatchEnd` (a mini-batch), … */
  readonly callbacks?: RSOCallbacks;
  /**
   * 1 (default) logs one line per cycle with `console.log` (its loss and metrics, steps and seconds), in Node and
   * in a browser alike; 0 logs nothing. For a terminal progress bar, pass `verbose: 0` and
   * `callbacks: [progressBar()]` from `tfjs-rso/node`.
   */
  readonly verbose?: 0 | 1;
  /** How often to yield to the event loop, as `model.fit`'s `yieldEvery`: `'auto'` (default, every 125 ms), `'batch'`, `'epoch'`, `'never'` or milliseconds. */
  readonly yieldEvery?: 'auto' | 'batch' | 'epoch' | 'never' | number;
  /**
   * How candidates are evaluated: `'model'` runs only the part of the graph above the searched layer from cached
   * inputs; `'closure'` runs the whole model per candidate, exactly like `model.fit`. `'auto'` (default) picks
   * `'model'` where the model engine supports the model. Both make the same decisions.
   */
  readonly engine?: 'auto' | 'model' | 'closure';
  /** Backend memory for cached layer inputs of the model engine, in bytes (default 1 GiB). */
  readonly cacheBytes?: number;
  /** Host memory for further cached layer inputs, in bytes (default 8 GiB); beyond both, inputs are recomputed. */
  readonly hostCacheBytes?: number;
  /**
   * Model engine: evaluate the three candidates of a conv or hidden Dense step in one pass through the layers
   * above the next one, stacked along the batch axis, instead of one pass each (default false). The losses are
   * the same up to float rounding; whether it is faster depends on the backend (see docs/benchmarks.md).
   */
  readonly batchCandidates?: boolean;
  /**
   * Threads that share each step, model engine only: a {@link WorkerPool} such as `nodeWorkers(2)` from
   * `tfjs-rso/node`, or 1 (the default) for none. The decisions are those of one thread up to float rounding.
   */
  readonly workers?: number | WorkerPool;
}

/** Options of the model engine, passed through whole. */
export interface EngineOptions {
  readonly cacheBytes?: number;
  readonly hostCacheBytes?: number;
  readonly batchCandidates?: boolean;
  readonly [option: string]: number | boolean | undefined;
}

/** {@link RSOFitArgs} checked, with defaults filled in (the data and the loss are checked against the model elsewhere). */
export interface FitOptions {
  /** The batch size per cycle (a constant schedule for a number). */
  readonly batchSize: Schedule;
  readonly cycles: number | undefined;
  readonly maxSteps: number;
  readonly timeBudgetSeconds: number;
  readonly lossReduction: 'mean' | 'sum';
  readonly shuffle: boolean;
  readonly validationSplit: number;
  readonly validationBatchSize: number;
  readonly batchNormSamples: number;
  readonly verbose: 0 | 1;
  readonly yieldEvery: 'batch' | 'epoch' | 'never' | number;
  readonly engine: 'auto' | 'model' | 'closure';
  readonly engineOptions: EngineOptions;
  /** The pool, or null for one thread. */
  readonly workers: WorkerPool | null;
}

const KNOWN: readonly (keyof RSOFitArgs)[] = [
  'batchSize', 'cycles', 'maxSteps', 'timeBudgetSeconds', 'loss', 'lossWeights', 'lossReduction', 'shuffle',
  'validationData', 'validationSplit', 'validationBatchSize', 'batchNormSamples', 'callbacks', 'verbose',
  'yieldEvery', 'engine', 'cacheBytes', 'hostCacheBytes', 'batchCandidates', 'workers',
];

/** `model.fit` arguments that rso.fit spells differently or does not take, with what to do instead. */
const FOREIGN: Readonly<Record<string, string>> = {
  epochs: 'rso.fit counts cycles: use cycles (one cycle visits every weight once)',
  initialEpoch: 'rso.fit continues from the optimizer\'s own cycle; restore a saved optimizer to resume',
  stepsPerEpoch: 'a cycle has one step per weight: use maxSteps to stop early',
  validationSteps: 'validation runs over all of validationData',
  classWeight: 'class weights are not supported by rso.fit; weight the classes inside a custom loss function',
  sampleWeight: 'sample weights are not supported by rso.fit; weight the examples inside a custom loss function',
};

const YIELD_AUTO_MS = 125; // tfjs-layers' DEFAULT_YIELD_EVERY_MS, what model.fit's 'auto' means

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new RangeError(`${field} must be ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function parseYieldEvery(value: unknown): FitOptions['yieldEvery'] {
  if (typeof value === 'number') return requireNonNegative('yieldEvery', value);
  const mode = oneOf('yieldEvery', value, ['auto', 'batch', 'epoch', 'never'], 'auto');
  return mode === 'auto' ? YIELD_AUTO_MS : mode;
}

function parseWorkers(value: unknown): WorkerPool | null {
  if (value === undefined || value === 1) return null;
  if (typeof value === 'number') {
    requireInteger('workers', value, 1);
    throw new RangeError(`workers: ${value} threads need a worker pool; in Node pass nodeWorkers(${value}) from 'tfjs-rso/node'`);
  }
  const pool = value as WorkerPool;
  if (pool === null || typeof pool !== 'object' || typeof pool.start !== 'function' || !Number.isInteger(pool.size) || pool.size < 1) {
    throw new TypeError(`workers must be 1 or a worker pool such as nodeWorkers(2) from 'tfjs-rso/node', got ${String(value)}`);
  }
  return pool.size === 1 ? null : pool;
}

function checkCallbacks(value: unknown): void {
  if (value === undefined) return;
  const list = Array.isArray(value) ? value : [value];
  list.forEach((c, i) => {
    if (c === null || typeof c !== 'object') {
      throw new TypeError(`callbacks${Array.isArray(value) ? `[${i}]` : ''} must be a tfjs callback object or an object of hooks, got ${String(c)}`);
    }
    for (const [key, hook] of Object.entries(c as object)) {
      if (key.startsWith('on') && hook !== undefined && typeof hook !== 'function') {
        throw new TypeError(`callbacks${Array.isArray(value) ? `[${i}]` : ''}.${key} must be a function, got ${typeof hook}`);
      }
    }
  });
}

/**
 * Checks every argument of {@link RSOOptimizer.fit} that does not need the model, and fills in defaults.
 *
 * @param args - The user's arguments.
 * @returns The parsed options.
 * @throws RangeError or TypeError naming the field, for unknown, wrong-typed or out-of-range arguments.
 */
export function parseFitArgs(args: RSOFitArgs): FitOptions {
  if (args === null || typeof args !== 'object') throw new TypeError(`rso.fit: args must be an object, got ${String(args)}`);
  rejectUnknown('rso.fit', args, KNOWN, FOREIGN);
  const optional = (v: unknown, parse: (v: unknown) => number, fallback: number) => (v === undefined ? fallback : parse(v));
  const verbose = args.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1) throw new RangeError(`verbose must be 0 or 1, got ${JSON.stringify(verbose)}`);
  const validationSplit = optional(args.validationSplit, (v) => requireNonNegative('validationSplit', v), 0);
  if (validationSplit >= 1) throw new RangeError(`validationSplit must be < 1, got ${validationSplit}`);
  if (args.validationSplit !== undefined && args.validationData !== undefined) {
    throw new RangeError('rso.fit: give validationData or validationSplit, not both');
  }
  checkCallbacks(args.callbacks);
  const engineOptions: EngineOptions = {
    ...(args.cacheBytes === undefined ? {} : { cacheBytes: requireNonNegative('cacheBytes', args.cacheBytes) }),
    ...(args.hostCacheBytes === undefined ? {} : { hostCacheBytes: requireNonNegative('hostCacheBytes', args.hostCacheBytes) }),
    ...(args.batchCandidates === undefined ? {} : { batchCandidates: requireBoolean('batchCandidates', args.batchCandidates) }),
  };
  const engine = oneOf('engine', args.engine, ['auto', 'model', 'closure'], 'auto');
  const workers = parseWorkers(args.workers);
  if (workers !== null && engine === 'closure') throw new RangeError(`rso.fit: workers needs the model engine, not engine 'closure'`);
  const batchSize = parseBatchSize(args.batchSize);
  if (workers !== null) scheduleForWorkers(batchSize);
  return {
    batchSize,
    cycles: args.cycles === undefined ? undefined : requireInteger('cycles', args.cycles, 1, MAX_CYCLES),
    maxSteps: optional(args.maxSteps, (v) => requireInteger('maxSteps', v, 1), Infinity),
    timeBudgetSeconds: optional(args.timeBudgetSeconds, (v) => requireNonNegative('timeBudgetSeconds', v, true), Infinity),
    lossReduction: oneOf('lossReduction', args.lossReduction, ['mean', 'sum'], 'mean'),
    shuffle: args.shuffle === undefined ? true : requireBoolean('shuffle', args.shuffle),
    validationSplit,
    validationBatchSize: requireInteger('validationBatchSize', args.validationBatchSize ?? 1000, 1),
    batchNormSamples: requireInteger('batchNormSamples', args.batchNormSamples ?? 2000, 0),
    verbose,
    yieldEvery: parseYieldEvery(args.yieldEvery),
    engine,
    engineOptions,
    workers,
  };
}

/** A number, a schedule or a schedule's config, as the batch size per cycle. */
function parseBatchSize(value: RSOFitArgs['batchSize']): Schedule {
  if (value === undefined || typeof value === 'number') return constantSchedule({ value: requireInteger('batchSize', value ?? 1000, 1) });
  if (typeof value === 'function') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string') return createPolicy<Schedule>('schedule', value as PolicyConfig, 'batchSize');
  throw new RangeError(`batchSize must be an integer ≥ 1, a schedule or its config {"name": ...}, got ${quote(value)}`);
}

/** The batch-size schedule as a worker receives it: a number, or a built-in or registered schedule's config. */
export function scheduleForWorkers(schedule: Schedule): number | PolicyConfig {
  const config = schedule.config;
  if (config === undefined) {
    throw new RangeError("rso.fit: worker threads need a batchSize schedule they can rebuild: a number, or a built-in or registered schedule with a config");
  }
  return config['name'] === 'constant' && typeof config['value'] === 'number' ? config['value'] : config;
}
