import * as tf from '@tensorflow/tfjs-core';
import { CallbackList, CustomCallback, History } from '@tensorflow/tfjs-layers';
import type { CustomCallbackArgs, LayersModel, ModelFitArgs } from '@tensorflow/tfjs-layers';
import cliProgress from 'cli-progress';
import type { RSOOptimizer } from '../optimizer/rso-optimizer.js';
import { requireBoolean, requireInteger, requireNonNegative } from '../policies/validate.js';
import { reestimateBatchNorm } from './batch-norm.js';
import { resolveLoss } from './losses.js';
import { createModelEvaluator } from '../engine/model-evaluator.js';
import { makeBatcher } from './batcher.js';
import { shardLossScale, shardRange, startShardWorkers } from '../engine/shards.js';
import type { LossSpec } from './losses.js';

/** tfjs callbacks, exactly as `model.fit` takes them: callback objects (e.g. `tf.callbacks.earlyStopping()`) or plain hooks. */
export type RSOCallbacks = ModelFitArgs['callbacks'];

/**
 * Arguments of {@link RSOOptimizer.fit}. They mirror `model.fit`, in RSO units: an epoch is one cycle.
 */
export interface RSOFitArgs {
  /** Examples per mini-batch; each batch feeds `stepsPerBatch` steps (default 1000). */
  readonly batchSize?: number;
  /** Cycles to run from the current position (default: the rest of the planned `cycles`, at least 1). */
  readonly cycles?: number;
  /** Stop after this many steps in this call. */
  readonly maxSteps?: number;
  /** Stop once this many seconds have passed (checked after each step). */
  readonly timeBudgetSeconds?: number;
  /** Loss (default `'categoricalCrossentropy'`). */
  readonly loss?: LossSpec;
  /** `'mean'` (default) or `'sum'` over the batch, as in the authors' script; decisions agree up to rounding. */
  readonly lossReduction?: 'mean' | 'sum';
  /** Shuffle the training set once per cycle, from the optimizer's seed (default true); batches are consecutive chunks. */
  readonly shuffle?: boolean;
  /** Held-out data, evaluated at the end of every cycle and at the end of training. */
  readonly validationData?: readonly [tf.Tensor, tf.Tensor];
  /** Fraction of the training data (taken from the end) to hold out instead. */
  readonly validationSplit?: number;
  /** Batch size for validation forward passes (default 1000). */
  readonly validationBatchSize?: number;
  /** Examples used to re-estimate BN statistics before validation (default 2000, the authors' value; 0 skips). */
  readonly batchNormSamples?: number;
  /** tfjs callbacks: `onTrainBegin`, `onEpochBegin` (a cycle), `onBatchBegin`/`onBatchEnd` (a mini-batch), … */
  readonly callbacks?: RSOCallbacks;
  /** 1 (default) shows a progress bar on stderr, 0 is silent. */
  readonly verbose?: 0 | 1;
  /**
   * How candidates are evaluated: `'model'` runs only the part of the graph above the searched layer from cached
   * inputs; `'closure'` runs the whole model per candidate, exactly like `model.fit`. `'auto'` (default) picks
   * `'model'` for single-input, single-output models. Both make the same decisions.
   */
  readonly engine?: 'auto' | 'model' | 'closure';
  /** Backend memory for cached layer inputs of the model engine, in bytes (default 1 GiB). */
  readonly cacheBytes?: number;
  /** Host memory for further cached layer inputs, in bytes (default 8 GiB); beyond both, inputs are recomputed. */
  readonly hostCacheBytes?: number;
  /**
   * Model engine: evaluate the three candidates of a conv or hidden Dense step in one pass through the layers
   * above the next one, stacked along the batch axis, instead of one pass each (default false). The losses are
   * the same up to float rounding. On wasm it measured 1.1–1.5× slower per step on the paper's conv network
   * (docs/benchmarks.md); it is there to try on other backends.
   */
  readonly batchCandidates?: boolean;
  /**
   * Threads that share each step (default 1), Node only, model engine only. With 2 or more, every batch is split
   * into equal shards: worker threads, each with its own copy of the model on the same backend, run the same
   * search in lockstep on their shards, and BN statistics and losses are summed across threads through shared
   * memory. The decisions are those of one thread up to float rounding (shard sums are added in a different
   * order). The loss must be given by name, policies must be built-in or registered by name, custom layers are
   * not supported, and each worker holds a copy of the training set.
   */
  readonly workers?: number;
}

function toCallbackList(callbacks: RSOFitArgs['callbacks'], history: History): CallbackList {
  const list: unknown[] = callbacks === undefined ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  const objs = list.map((c) =>
    typeof (c as { setModel?: unknown }).setModel === 'function' ? (c as CustomCallback) : new CustomCallback(c as CustomCallbackArgs),
  );
  return new CallbackList([history, ...objs]);
}

/** Result of {@link evaluateModel}. */
export interface Evaluation {
  /** Mean loss over the examples. */
  readonly loss: number;
  /** Share of examples whose arg-max prediction matches the one-hot target (NaN for non one-hot targets). */
  readonly acc: number;
}

/**
 * Loss and accuracy of `model` on (x, y), in inference mode, in batches.
 *
 * @param model - The model.
 * @param x - Inputs.
 * @param y - One-hot targets.
 * @param lossFn - Mean loss of a batch, e.g. `(yt, yp) => tf.mean(tfl.metrics.categoricalCrossentropy(yt, yp))`.
 * @param batchSize - Examples per forward pass.
 * @returns The mean loss and the accuracy.
 * @example
 * ```ts
 * const { acc } = evaluateModel(model, xTest, yTest, (yt, yp) => tf.mean(metrics.categoricalCrossentropy(yt, yp)), 1000);
 * ```
 */
export function evaluateModel(
  model: LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  lossFn: (yt: tf.Tensor, yp: tf.Tensor) => tf.Scalar,
  batchSize: number,
): Evaluation {
  const n = x.shape[0]!;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [l, c] = tf.tidy(() => {
      const xb = tf.slice(x, start, size);
      const yb = tf.slice(y, start, size);
      const pred = model.predict(xb, { batchSize: size }) as tf.Tensor;
      const loss = lossFn(yb, pred).dataSync()[0]! * size;
      const hits = yb.rank === 2 && yb.shape[1]! > 1 ? tf.sum(tf.cast(tf.equal(tf.argMax(pred, 1), tf.argMax(yb, 1)), 'float32')).dataSync()[0]! : NaN;
      return [loss, hits];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / n, acc: correct / n };
}

/**
 * The RSO trainer loop behind {@link RSOOptimizer.fit}: mini-batches from a seeded shuffle, `stepsPerBatch`
 * steps each, tfjs callbacks, a progress bar, a time budget and early stopping via `model.stopTraining`.
 */
export async function fitRSO(
  optimizer: RSOOptimizer,
  model: LayersModel,
  xIn: tf.Tensor,
  yIn: tf.Tensor,
  args: RSOFitArgs,
): Promise<History> {
  const batchSize = requireInteger('batchSize', args.batchSize ?? 1000, 1);
  const verbose = args.verbose ?? 1;
  const lossReduction = args.lossReduction ?? 'mean';
  const lossSpec = args.loss ?? 'categoricalCrossentropy';
  const lossFn = resolveLoss(lossSpec, lossReduction);
  const meanLossFn = resolveLoss(lossSpec, 'mean');
  if (xIn.shape[0] !== yIn.shape[0]) {
    throw new RangeError(`fit: x has ${xIn.shape[0]} examples but y has ${yIn.shape[0]}`);
  }
  if (args.timeBudgetSeconds !== undefined) requireNonNegative('timeBudgetSeconds', args.timeBudgetSeconds, true);
  if (args.maxSteps !== undefined) requireInteger('maxSteps', args.maxSteps, 1);

  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  optimizer.bind(variables);

  let x = xIn;
  let y = yIn;
  let valData = args.validationData;
  const owned: tf.Tensor[] = [];
  if (args.validationSplit !== undefined) {
    const split = requireNonNegative('validationSplit', args.validationSplit);
    if (split >= 1) throw new RangeError(`validationSplit must be < 1, got ${split}`);
    const nVal = Math.floor(xIn.shape[0]! * split);
    const nTrain = xIn.shape[0]! - nVal;
    if (nVal > 0) {
      x = tf.slice(xIn, 0, nTrain);
      y = tf.slice(yIn, 0, nTrain);
      valData = [tf.slice(xIn, nTrain, nVal), tf.slice(yIn, nTrain, nVal)];
      owned.push(x, y, valData[0], valData[1]);
    }
  }
  if (x.shape[0] === 0) throw new RangeError('fit: no training examples');
  const bnSamples = requireInteger('batchNormSamples', args.batchNormSamples ?? 2000, 0);
  const bnSample = bnSamples > 0 ? tf.slice(x, 0, Math.min(bnSamples, x.shape[0]!)) : null;
  if (bnSample !== null) owned.push(bnSample);
  const valBatch = requireInteger('validationBatchSize', args.validationBatchSize ?? 1000, 1);

  const startCycle = optimizer.cycle;
  const cycles = requireInteger('cycles', args.cycles ?? Math.max(1, optimizer.config.cycles - startCycle), 1);
  const endCycle = startCycle + cycles;
  const perCycle = optimizer.scalarsPerCycle;
  const plannedSteps = Math.min(args.maxSteps ?? Infinity, cycles * perCycle);
  const batcher = makeBatcher(x, y, batchSize, args.shuffle ?? true, optimizer.config.seed);
  const history = new History();
  const callbackList = toCallbackList(args.callbacks, history);
  callbackList.setModel(model);
  callbackList.setParams({
    epochs: endCycle,
    initialEpoch: startCycle,
    samples: x.shape[0]!,
    steps: perCycle,
    batchSize,
    verbose,
    doValidation: valData !== undefined,
    metrics: valData === undefined ? ['loss'] : ['loss', 'val_loss', 'val_acc'],
  });
  if (model.optimizer == null) {
    // Uncompiled: compile with this optimizer, so stopTraining works and model.save can include the optimizer.
    model.compile({ optimizer, loss: typeof lossSpec === 'function' ? (yt, yp) => lossSpec(yt, yp) : lossSpec });
  }
  model.stopTraining = false;

  const bar = verbose > 0
    ? new cliProgress.SingleBar(
        {
          format: 'RSO |{bar}| {percentage}% | step {value}/{total} | cycle {cycle} | {layer} | loss {loss} | {rate} steps/s | ETA {eta_formatted}',
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 5000,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const t0 = Date.now();
  const stepStart = optimizer.step;
  bar?.start(plannedSteps, 0, { cycle: startCycle, layer: optimizer.currentGroup(), loss: '-', rate: '-' });

  const budgetOver = () =>
    (args.timeBudgetSeconds !== undefined && (Date.now() - t0) / 1000 >= args.timeBudgetSeconds) ||
    optimizer.step - stepStart >= plannedSteps;

  const engine = args.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'model' && engine !== 'closure') {
    throw new RangeError(`engine must be 'auto', 'model' or 'closure', got ${JSON.stringify(engine)}`);
  }
  const useModel = engine === 'model' || (engine === 'auto' && model.inputs.length === 1 && model.outputs.length === 1);
  const engineOptions = {
    ...(args.cacheBytes === undefined ? {} : { cacheBytes: requireNonNegative('cacheBytes', args.cacheBytes) }),
    ...(args.hostCacheBytes === undefined ? {} : { hostCacheBytes: requireNonNegative('hostCacheBytes', args.hostCacheBytes) }),
    ...(args.batchCandidates === undefined ? {} : { batchCandidates: requireBoolean('batchCandidates', args.batchCandidates) }),
  };
  const workers = requireInteger('workers', args.workers ?? 1, 1);
  const fullBatch = Math.min(batchSize, x.shape[0]!);
  if (workers > 1 && !useModel) throw new RangeError(`fit: workers > 1 needs the model engine, not engine '${engine}'`);
  if (workers > fullBatch) throw new RangeError(`fit: ${workers} workers need batches of at least ${workers} examples, got ${fullBatch}`);
  const pool =
    workers > 1
      ? await startShardWorkers({
          model,
          optimizer,
          x,
          y,
          workers,
          batchSize,
          shuffle: args.shuffle ?? true,
          loss: lossSpec,
          lossReduction,
          ...engineOptions,
        })
      : null;
  const [, shardCount] = shardRange(fullBatch, 0, workers);
  let evaluator: ReturnType<typeof createModelEvaluator> | null = null;
  try {
    if (useModel) {
      evaluator = createModelEvaluator(model, variables, optimizer.weightGroups, (ys, ps) => lossFn(ys[0]!, ps[0]!), {
        ...engineOptions,
        ...(typeof lossSpec === 'string' ? { loss: { name: lossSpec, reduction: lossReduction } } : {}),
        ...(pool === null ? {} : { shard: { reducer: pool.reducer, lossScale: shardLossScale(fullBatch, 0, workers, lossReduction) } }),
      });
    }
  } catch (e) {
    // The workers are already waiting for their first batch.
    await pool?.close(true);
    throw e;
  }

  let failed = false;
  await callbackList.onTrainBegin();
  try {
    let stop = false;
    while (!stop && optimizer.cycle < endCycle) {
      const cycle = optimizer.cycle;
      await callbackList.onEpochBegin(cycle);
      let lossSum = 0;
      let batches = 0;
      while (optimizer.cycle === cycle) {
        const batchIndex = optimizer.searchState().batch;
        const chunk = batchIndex % batcher.batchesPerPass;
        await callbackList.onBatchBegin(batchIndex, { batch: batchIndex, size: batchSize });
        // With workers, signal them first so that every thread gathers its own shard (the first rows here) at once.
        pool?.nextBatch();
        const [xb, yb] = batcher.next(cycle, chunk, 0, shardCount);
        let loss: number;
        try {
          if (evaluator !== null) {
            evaluator.setBatch(batcher.key(cycle, chunk), [xb], [yb]);
            const last = optimizer.runSteps(evaluator);
            loss = last.losses[last.accepted]!;
          } else {
            const closure = () => lossFn(yb, model.apply(xb, { training: true }) as tf.Tensor);
            const lt = optimizer.minimize(closure, true, variables)!;
            loss = lt.dataSync()[0]!;
            lt.dispose();
          }
        } finally {
          xb.dispose();
          yb.dispose();
        }
        lossSum += loss;
        batches++;
        await callbackList.onBatchEnd(batchIndex, { batch: batchIndex, size: batchSize, loss });
        const elapsed = (Date.now() - t0) / 1000;
        bar?.update(optimizer.step - stepStart, {
          cycle: optimizer.cycle,
          layer: optimizer.currentGroup(),
          loss: loss.toPrecision(4),
          rate: ((optimizer.step - stepStart) / Math.max(elapsed, 1e-9)).toFixed(1),
        });
        if (model.stopTraining || budgetOver()) {
          stop = true;
          break;
        }
      }
      const logs: Record<string, number> = { loss: lossSum / Math.max(batches, 1) };
      if (valData !== undefined) {
        if (bnSample !== null) reestimateBatchNorm(model, bnSample);
        const v = evaluateModel(model, valData[0], valData[1], meanLossFn, valBatch);
        logs['val_loss'] = v.loss;
        logs['val_acc'] = v.acc;
      }
      await callbackList.onEpochEnd(cycle, logs);
      if (model.stopTraining) stop = true;
    }
    // The model engine leaves BN moving statistics alone while searching: re-estimate them for inference.
    if (evaluator !== null && bnSample !== null) reestimateBatchNorm(model, bnSample);
    await callbackList.onTrainEnd();
  } catch (e) {
    failed = true;
    const workerErrors = (await pool?.close(true)) ?? [];
    if (workerErrors.length > 0) throw new Error(`${(e as Error).message} (${workerErrors.join('; ')})`, { cause: e });
    throw e;
  } finally {
    if (!failed) await pool?.close(false);
    if (evaluator !== null) {
      const s = evaluator.stats();
      history.setParams({ ...history.params, engine: 'model', workers, engineCacheHits: s.hits, engineCacheMisses: s.misses, engineDeltaSteps: s.deltaSteps, engineOutputSteps: s.outputSteps, engineBatchedSteps: s.batchedSteps, engineHeadHits: s.headHits, engineHeadMisses: s.headMisses });
    } else {
      history.setParams({ ...history.params, engine: 'closure' });
    }
    evaluator?.dispose();
    bar?.stop();
    for (const t of owned) t.dispose();
  }
  return history;
}
