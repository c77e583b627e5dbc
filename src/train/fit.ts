import * as tf from '@tensorflow/tfjs-core';
import { Callback, CallbackList, CustomCallback, History } from '@tensorflow/tfjs-layers';
import type { CustomCallbackArgs, LayersModel } from '@tensorflow/tfjs-layers';
import type { Trainee } from './trainee.js';
import { freezeVariables, otherVariables } from '../engine/weight-writer.js';
import { reestimateBatchNorm } from '../base/batch-norm.js';
import { batchSizes, makeBatcher } from './batcher.js';
import type { Batcher } from './batcher.js';
import { compiledMetrics, evaluateLogs, forward } from './evaluate.js';
import { parseFitArgs } from './fit-args.js';
import type { FitOptions, RSOFitArgs, TensorsOrMap } from './fit-args.js';
import { modelData, rowsOf, sampleInputs, sliceData } from './fit-data.js';
import type { DataSet } from './fit-data.js';
import { checkLossMatches, lossEntries, modelObjective, parseLossWeights } from './objective.js';
import type { Objective } from './objective.js';
import { consoleProgress } from './progress.js';
import type { Progress } from './progress.js';
import { checkBeforeCompile, chooseRunner } from './runners.js';
import type { BatchRunner } from './runners.js';
import { makeYielder } from './yielder.js';
import type { Yielder } from './yielder.js';

export type { RSOCallbacks, RSOFitArgs, TensorsOrMap } from './fit-args.js';

/** What is known once the arguments are checked against the model, before anything changes. */
interface Setup {
  readonly options: FitOptions;
  readonly compiled: boolean;
  readonly lossWeights: number[];
  readonly train: DataSet;
  readonly val: DataSet | null;
  /** The first cycle whose batch size was not checked before training (see {@link checkShards}). */
  readonly checkedUntil: number;
  /** Tensors made by the checks (slices, reshapes), disposed at the end. */
  readonly owned: tf.Tensor[];
}

/** The state of one `rso.fit` call. */
interface Run {
  readonly optimizer: Trainee;
  readonly model: LayersModel;
  readonly setup: Setup;
  readonly objective: Objective;
  readonly batcher: Batcher;
  readonly runner: BatchRunner;
  readonly callbacks: CallbackList;
  readonly history: History;
  readonly batchMetrics: boolean;
  readonly bnSample: tf.Tensor[] | null;
  readonly yielder: Yielder;
  readonly endCycle: number;
  readonly over: () => boolean;
  readonly progress: Progress | null;
  stopped: boolean;
}

interface TrainingFlag {
  isTraining: boolean;
}

/** The flags `model.fit` checks: a Sequential model's own, and that of the functional model it wraps. */
const trainingFlags = (model: LayersModel): TrainingFlag[] =>
  [model, (model as unknown as { model?: LayersModel }).model].filter((m) => m != null) as unknown as TrainingFlag[];

/** Checks everything about the call that can be checked without changing the model or the optimizer. */
function checkSetup(optimizer: Trainee, model: LayersModel, x: TensorsOrMap, y: TensorsOrMap, args: RSOFitArgs): Setup {
  const options = parseFitArgs(args);
  if (trainingFlags(model).some((f) => f.isTraining)) {
    throw new Error('Cannot start training because another fit() call is ongoing.');
  }
  const current = model.optimizer as unknown;
  if (current != null && current !== optimizer) {
    const name = (current as { getClassName?: () => string }).getClassName?.() ?? 'another optimizer';
    throw new Error(
      `rso.fit: the model is compiled with ${name === 'RSOOptimizer' ? 'another RSOOptimizer' : name}, so that is the optimizer model.save would save. ` +
        'Compile the model with this RSOOptimizer, or call fit on the one it is compiled with.',
    );
  }
  const compiled = current != null;
  const losses = lossEntries(model, args.loss, compiled);
  if (compiled) checkLossMatches(model, args.loss);
  const lossWeights = parseLossWeights(model, args.lossWeights);
  checkBeforeCompile(optimizer, model, losses, options);
  const owned: tf.Tensor[] = [];
  try {
    const all = modelData(model, ['x', 'y'], x, y, losses);
    owned.push(...all.owned);
    let train = all;
    let val: DataSet | null = null;
    if (args.validationData !== undefined) {
      const v = args.validationData as unknown;
      if (!Array.isArray(v) || v.length !== 2) {
        throw new RangeError(`validationData must be [x, y]${Array.isArray(v) && v.length === 3 ? ' (sample weights are not supported)' : ''}, got ${Array.isArray(v) ? `${v.length} entries` : String(v)}`);
      }
      val = modelData(model, ['validationData[0]', 'validationData[1]'], v[0] as TensorsOrMap, v[1] as TensorsOrMap, losses);
      owned.push(...val.owned);
    }
    const nVal = Math.floor(rowsOf(all) * options.validationSplit);
    if (nVal > 0) {
      train = sliceData(all, 0, rowsOf(all) - nVal);
      val = sliceData(all, rowsOf(all) - nVal, nVal);
      owned.push(...train.owned, ...val.owned);
    }
    if (rowsOf(train) === 0) throw new RangeError('rso.fit: no training examples');
    const checkedUntil = checkShards(options, cyclesOf(optimizer, options), batchSizes(options.batchSize, optimizer.config.cycles, rowsOf(train)), rowsOf(train));
    return { options, compiled, lossWeights, train, val, checkedUntil, owned };
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
}

/** Largest cycle a saved state can hold (its counters are int32). */
const MAX_CYCLE_COUNT = 2 ** 31 - 1;

/** The cycles this call runs: from the optimizer's current cycle, `cycles` of them or the rest of the plan. */
function cyclesOf(optimizer: Trainee, options: FitOptions): { readonly start: number; readonly end: number } {
  const start = optimizer.cycle;
  const end = start + (options.cycles ?? Math.max(1, optimizer.config.cycles - start));
  if (end > MAX_CYCLE_COUNT) {
    throw new RangeError(`cycles: the optimizer is at cycle ${start}, and ${end - start} more cycles would pass ${MAX_CYCLE_COUNT}, the most a saved state can count`);
  }
  return { start, end };
}

/**
 * Cycles of a batch-size schedule checked before training starts (every cycle of a call up to this many); the
 * later ones are checked as each begins, so the check never walks a long plan.
 */
const CHECKED_AHEAD = 1000;

/**
 * Checks the batch size of the cycles to run, before training: every cycle of a call of up to
 * {@link CHECKED_AHEAD} cycles, one for a constant size (a schedule that gives a bad size fails here). With
 * workers, every batch (the last one of a pass too) must give each thread at least one row.
 *
 * @returns The first cycle not checked; {@link checkCycle} checks it and the later ones as they begin.
 */
function checkShards(options: FitOptions, cycles: { readonly start: number; readonly end: number }, sizeOf: (cycle: number) => number, n: number): number {
  const constant = options.batchSize.config?.['name'] === 'constant';
  const until = constant ? cycles.end : Math.min(cycles.end, cycles.start + CHECKED_AHEAD);
  const several = cycles.end - cycles.start > 1;
  for (let c = cycles.start; c < (constant ? cycles.start + 1 : until); c++) checkCycle(options, c, sizeOf, n, several);
  return until;
}

/** Checks the batch size of one cycle (see {@link checkShards}). */
function checkCycle(options: FitOptions, cycle: number, sizeOf: (cycle: number) => number, n: number, named: boolean): void {
  const threads = options.workers?.size ?? 1;
  const size = sizeOf(cycle);
  const last = n - (Math.ceil(n / size) - 1) * size;
  if (last < threads) {
    throw new RangeError(
      `rso.fit: ${threads} workers need batches of at least ${threads} examples, but at batchSize ${size}${named ? ` (cycle ${cycle})` : ''} the last batch of a pass over ${n} examples has ${last}; choose another batchSize`,
    );
  }
}

/**
 * Whether a callback reads batch logs: it has its own `onBatchEnd` and does not say `wantsBatchMetrics: false`
 * (batch metrics cost a forward pass per batch, so they are computed only for such a callback).
 */
function listensToBatches(c: unknown): boolean {
  const hook = (c as { onBatchEnd?: unknown }).onBatchEnd;
  return typeof hook === 'function' && hook !== Callback.prototype.onBatchEnd && (c as { wantsBatchMetrics?: boolean }).wantsBatchMetrics !== false;
}

function toCallbackList(callbacks: RSOFitArgs['callbacks'], history: History): { list: CallbackList; batchEnds: boolean } {
  const given: unknown[] = callbacks === undefined ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  // Plain hooks are wrapped without their own yielding: the trainer yields (yieldEvery).
  const objs = given.map((c) => (typeof (c as { setModel?: unknown }).setModel === 'function' ? (c as Callback) : new CustomCallback(c as CustomCallbackArgs, 'never')));
  return { list: new CallbackList([history, ...objs]), batchEnds: given.some(listensToBatches) };
}

/** Compiles (for an uncompiled model), binds and builds everything the loop needs. */
async function startRun(optimizer: Trainee, model: LayersModel, args: RSOFitArgs, setup: Setup): Promise<Run> {
  const { options, train } = setup;
  if (!setup.compiled) model.compile({ optimizer, loss: args.loss as Parameters<LayersModel['compile']>[0]['loss'] });
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  optimizer.bind(variables, 'rso.fit');
  const objective = modelObjective(model, setup.lossWeights, options.lossReduction);
  const { start: startCycle, end: endCycle } = cyclesOf(optimizer, options);
  const cycles = endCycle - startCycle;
  const plannedSteps = Math.min(options.maxSteps, cycles * optimizer.scalarsPerCycle);
  const batcher = makeBatcher(train.xs, train.ys, batchSizes(options.batchSize, optimizer.config.cycles, rowsOf(train)), options.shuffle, optimizer.config.seed);
  const history = new History();
  const { list: callbacks, batchEnds } = toCallbackList(args.callbacks, history);
  const metricNames = compiledMetrics(model).names;
  callbacks.setModel(model);
  callbacks.setParams({
    epochs: startCycle + cycles,
    initialEpoch: startCycle,
    samples: rowsOf(train),
    steps: batcher.batchesPerPass(startCycle),
    batchSize: batcher.size(startCycle),
    verbose: options.verbose,
    doValidation: setup.val !== null,
    rsoPlannedSteps: plannedSteps,
    metrics: ['loss', ...metricNames, ...(setup.val === null ? [] : ['val_loss', ...metricNames.map((m) => `val_${m}`)])],
  });
  const bnSample = options.batchNormSamples > 0 ? sampleInputs(train.xs, options.batchNormSamples, optimizer.config.seed) : null;
  let runner: BatchRunner;
  try {
    runner = await chooseRunner({ optimizer, model, variables, objective, batcher, options, train, lossWeights: setup.lossWeights });
  } catch (e) {
    tf.dispose(bnSample ?? []);
    throw e;
  }
  const stepStart = optimizer.step;
  const t0 = Date.now();
  model.stopTraining = false;
  return {
    optimizer,
    model,
    setup,
    objective,
    batcher,
    runner,
    callbacks,
    history,
    batchMetrics: batchEnds && metricNames.length > 0,
    bnSample,
    yielder: makeYielder(options.yieldEvery),
    endCycle,
    over: () => optimizer.step - stepStart >= plannedSteps || (Date.now() - t0) / 1000 >= options.timeBudgetSeconds,
    progress: options.verbose > 0 ? consoleProgress(() => optimizer.step - stepStart) : null,
    stopped: false,
  };
}

/** The compiled metrics on the step's whole batch at the kept weights, in training mode, BN statistics untouched. */
function metricsOfBatch(run: Run, cycle: number, chunk: number): Record<string, number> {
  const batch = run.batcher.next(cycle, chunk);
  const frozen = freezeVariables(otherVariables(run.model.trainableWeights.map((w) => w.read() as tf.Variable)));
  try {
    const metrics = compiledMetrics(run.model);
    const values = frozen(() => tf.tidy(() => tf.stack(metrics.values(batch.ys, forward(run.model, batch.xs, true))).dataSync()));
    return Object.fromEntries(metrics.names.map((name, i) => [name, values[i]!]));
  } finally {
    tf.dispose([...batch.xs, ...batch.ys]);
  }
}

/** One mini-batch: its steps, the batch callbacks, progress and yielding. Returns the batch's loss. */
async function trainBatch(run: Run, indexInCycle: number): Promise<number> {
  const { optimizer, batcher, callbacks } = run;
  const cycle = optimizer.cycle;
  const chunk = optimizer.searchState().batch % batcher.batchesPerPass(cycle);
  const size = batcher.rows(cycle, chunk);
  await callbacks.onBatchBegin(indexInCycle, { batch: indexInCycle, size });
  const loss = run.runner.run(cycle, chunk, () => !run.over());
  const logs = { batch: indexInCycle, size, loss, ...(run.batchMetrics ? metricsOfBatch(run, cycle, chunk) : {}) };
  await callbacks.onBatchEnd(indexInCycle, logs);
  await run.yielder.afterBatch();
  return loss;
}

/** End-of-cycle logs: the mean batch loss, the compiled metrics on the training set, and validation. */
function cycleLogs(run: Run, lossSum: number, batches: number): Record<string, number> {
  const logs: Record<string, number> = { loss: lossSum / Math.max(batches, 1) };
  const { model, setup, objective } = run;
  const metrics = compiledMetrics(model).names.length > 0;
  if (!metrics && setup.val === null) return logs;
  if (run.bnSample !== null) reestimateBatchNorm(model, run.bnSample);
  if (metrics) {
    const train = evaluateLogs(model, objective, setup.train, setup.options.validationBatchSize, '');
    for (const name of compiledMetrics(model).names) logs[name] = train[name]!;
  }
  if (setup.val !== null) Object.assign(logs, evaluateLogs(model, objective, setup.val, setup.options.validationBatchSize, 'val_'));
  return logs;
}

/** One cycle (an epoch): batches until the cursor moves to the next cycle, or training stops. */
async function trainCycle(run: Run): Promise<void> {
  const { optimizer, callbacks, model } = run;
  const cycle = optimizer.cycle;
  if (cycle >= run.setup.checkedUntil) checkCycle(run.setup.options, cycle, run.batcher.size, rowsOf(run.setup.train), true);
  await callbacks.onEpochBegin(cycle);
  let lossSum = 0;
  let batches = 0;
  while (optimizer.cycle === cycle && !run.stopped) {
    lossSum += await trainBatch(run, batches++);
    if (model.stopTraining || run.over()) run.stopped = true;
  }
  const logs = cycleLogs(run, lossSum, batches);
  await callbacks.onEpochEnd(cycle, logs);
  run.progress?.cycleEnd(cycle, run.endCycle, logs);
  await run.yielder.afterCycle();
  if (model.stopTraining) run.stopped = true;
}

/**
 * The RSO trainer behind {@link RSOOptimizer.fit}: it checks every argument against the model first, trains on
 * the model's compiled objective in mini-batches from a seeded shuffle, calls tfjs callbacks with the compiled
 * metrics, and stops at the cycle count, the step or time budget, or `model.stopTraining`.
 */
export async function fitRSO(optimizer: Trainee, model: LayersModel, x: TensorsOrMap, y: TensorsOrMap, given: RSOFitArgs = {}): Promise<History> {
  // As in the optimizer's config, an argument set to null takes its default.
  const args = given !== null && typeof given === 'object' ? (Object.fromEntries(Object.entries(given).filter(([, v]) => v != null)) as RSOFitArgs) : given;
  const setup = checkSetup(optimizer, model, x, y, args);
  // Set before the first await, so that a concurrent fit (ours or model.fit) is refused; again once compiling
  // has given a Sequential model its inner model.
  const lock = (on: boolean) => trainingFlags(model).forEach((f) => (f.isTraining = on));
  lock(true);
  let run: Run | null = null;
  try {
    run = await startRun(optimizer, model, args, setup);
    lock(true);
    await run.callbacks.onTrainBegin();
    while (!run.stopped && optimizer.cycle < run.endCycle) await trainCycle(run);
    // The model engine leaves BN moving statistics alone while searching: re-estimate them for inference.
    if (run.runner.engine === 'model' && run.bnSample !== null) reestimateBatchNorm(model, run.bnSample);
    await run.callbacks.onTrainEnd();
    await run.runner.close(false);
    return run.history;
  } catch (e) {
    const workerErrors = (await run?.runner.close(true)) ?? [];
    if (workerErrors.length > 0) throw new Error(`${(e as Error).message} (${workerErrors.join('; ')})`, { cause: e });
    throw e;
  } finally {
    lock(false);
    if (run !== null) {
      run.history.setParams({ ...run.history.params, ...run.runner.params() });
      run.runner.dispose();
      tf.dispose(run.bnSample ?? []);
    }
    tf.dispose(setup.owned);
  }
}
