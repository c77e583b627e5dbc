/**
 * An RSO run of `rso.fit` in sittings: each sitting trains for a time budget, measures test accuracy every few
 * seconds of training, and checkpoints, so the next sitting resumes where it stopped.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RSOOptimizer, Schedule, StepResult } from '../../src/index.js';
import { nodeWorkers } from '../../src/node/index.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { measureOnTest, stopSignal, trainClock } from './mnist-bench.js';
import type { MnistTensors } from './mnist-bench.js';
import { loadAverage } from './run-record.js';
import type { CurvePoint } from './run-record.js';

/** What {@link rsoSittings} needs. */
export interface RsoSittingArgs {
  /** The method's label in the curves. */
  readonly method: string;
  readonly data: MnistTensors;
  /** A fresh model, compiled with its RSO optimizer (used when there is no checkpoint, or with `fresh`). */
  readonly create: () => Promise<tfl.LayersModel>;
  /** A batch size, or a schedule of batch sizes over cycles. */
  readonly batchSize: number | Schedule;
  /** Planned cycles: the sitting runs until the optimizer has completed this many, or the budget ends. */
  readonly plannedCycles: number;
  readonly workers: number;
  /** Modules the worker threads import first (those that register the model's custom layers). */
  readonly workerModules?: readonly URL[];
  readonly budgetSeconds: number;
  readonly evalEverySeconds: number;
  readonly checkpointDir: string;
  readonly fresh: boolean;
}

/** What a run carries from one sitting to the next (stored in the checkpoint). */
export interface RsoCarry {
  points: CurvePoint[];
  trainSeconds: number;
  wallSeconds: number;
  cpuSeconds?: number;
  accepted: number;
  /** Weight updates: the scalars the steps changed (a block move changes its whole block); absent in older records. */
  updates?: number;
  /** Forward work of the earlier sittings (the optimizer counts its own process only). */
  forwardWork?: number;
  sittings: Record<string, unknown>[];
}

/** The run after this sitting. */
export interface RsoSittingResult {
  readonly model: tfl.LayersModel;
  readonly optimizer: RSOOptimizer;
  readonly carry: RsoCarry;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/**
 * Runs one sitting of an RSO run: resumes from `checkpointDir` when it holds a checkpoint (unless `fresh`),
 * trains with `rso.fit` (model engine) for `budgetSeconds`, until `plannedCycles` are complete or until a SIGINT or
 * SIGTERM (which still checkpoints and returns), measures test
 * accuracy every `evalEverySeconds` of training and at the end, and checkpoints after every measurement.
 * Weight updates are the scalars the steps changed: one per scalar step that moved, the block's size per block move
 * that moved (with probe reuse, a step moves whenever the value it writes differs from the one before).
 * Steps are counted at the end of each batch, so `stepsPerBatch` must be 1.
 */
export async function rsoSittings(args: RsoSittingArgs): Promise<RsoSittingResult> {
  const loadStart = loadAverage();
  let model: tfl.LayersModel;
  let carry: RsoCarry = { points: [], trainSeconds: 0, wallSeconds: 0, accepted: 0, sittings: [] };
  if (!args.fresh && hasCheckpoint(args.checkpointDir)) {
    const loaded = await loadCheckpoint(args.checkpointDir);
    model = loaded.model;
    carry = loaded.extra['carry'] as RsoCarry;
  } else {
    model = await args.create();
  }
  const optimizer = model.optimizer as RSOOptimizer;
  if (optimizer.config.stepsPerBatch(0) !== 1) throw new RangeError('rsoSittings counts steps per batch: stepsPerBatch must be 1');
  if (carry.points.length > 0) console.log(`resumed from ${args.checkpointDir}: step ${optimizer.step}, cycle ${optimizer.cycle}`);
  const clock = trainClock(carry.trainSeconds, carry.wallSeconds, carry.cpuSeconds ?? 0);
  const workBefore = carry.forwardWork ?? 0;
  const forwardWork = () => workBefore + optimizer.forwardWork;
  const record = () => {
    const seconds = clock.train();
    const { accuracy, matMulGflops } = measureOnTest(clock, model, args.data);
    carry.points.push({ method: args.method, seconds, wallSeconds: clock.wall(), cpuSeconds: clock.cpu(), steps: optimizer.step, updates: carry.updates ?? carry.accepted, forwardWork: forwardWork(), accuracy, matMulGflops });
    console.log(
      `  step ${optimizer.step} (cycle ${optimizer.cycle}, ${optimizer.currentGroup()}), ${carry.accepted} accepted, ` +
        `${seconds.toFixed(0)} s: test accuracy ${(accuracy * 100).toFixed(2)}%`,
    );
  };
  const checkpoint = () =>
    saveCheckpoint(model, args.checkpointDir, { carry: { ...carry, trainSeconds: clock.train(), wallSeconds: clock.wall(), cpuSeconds: clock.cpu(), forwardWork: forwardWork() } });
  if (carry.points.length === 0) record();
  let nextEval = clock.train() + args.evalEverySeconds;
  const start = { step: optimizer.step, accepted: carry.accepted, trainSeconds: clock.train(), cpuSeconds: clock.cpu() };
  let params: Record<string, unknown> = {};
  const sittingEnd = clock.train() + args.budgetSeconds;
  if (optimizer.cycle < args.plannedCycles) {
    const signal = stopSignal();
    const history = await optimizer.fit(model, args.data.train.xs, args.data.train.ys, {
      loss: 'categoricalCrossentropy',
      batchSize: args.batchSize,
      cycles: args.plannedCycles - optimizer.cycle,
      // The budget is training time, measurements excluded: onBatchEnd stops the fit (fit's own budget counts them).
      timeBudgetSeconds: 10 * args.budgetSeconds + 3600,
      engine: 'model',
      verbose: 0,
      batchNormSamples: 2000,
      workers: args.workers === 1 ? 1 : nodeWorkers(args.workers, { modules: args.workerModules ?? [] }),
      callbacks: {
        onBatchEnd: async () => {
          const last = optimizer.lastStepResult;
          if (last !== null) {
            carry.updates = (carry.updates ?? carry.accepted) + changedScalars(last);
            if (last.accepted !== 0) carry.accepted++;
          }
          if (signal.stopped() || clock.train() >= sittingEnd) model.stopTraining = true;
          if (clock.train() >= nextEval) {
            record();
            await clock.measureAsync(checkpoint);
            nextEval = clock.train() + args.evalEverySeconds;
          }
        },
      },
    });
    signal.release();
    params = history.params as Record<string, unknown>;
    record();
  }
  carry.sittings.push({
    steps: optimizer.step - start.step,
    accepted: carry.accepted - start.accepted,
    forwardWork: optimizer.forwardWork,
    trainSeconds: clock.train() - start.trainSeconds,
    cpuSeconds: clock.cpu() - start.cpuSeconds,
    budgetSeconds: args.budgetSeconds,
    workers: args.workers,
    loadAverageStart: loadStart,
    loadAverageEnd: loadAverage(),
    engine: Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith('engine') || k === 'workers')),
  });
  await checkpoint();
  console.log(`engine: ${JSON.stringify(carry.sittings[carry.sittings.length - 1]!['engine'])}`);
  carry.forwardWork = forwardWork();
  return { model, optimizer, carry, trainSeconds: clock.train(), wallSeconds: clock.wall(), cpuSeconds: clock.cpu() };
}

/**
 * The parts of a run's JSON record that every RSO benchmark writes: what updates count, the summary (steps,
 * accepted, cycles, where the cursor is, times, the last test accuracy), the sittings and the curve.
 */
export function rsoRecord(run: RsoSittingResult): Record<string, unknown> & { readonly points: CurvePoint[] } {
  const { optimizer, carry } = run;
  return {
    updatesCounted: 'scalars changed by RSO steps (one per scalar step that moved, the block size per block move that moved); steps are also given',
    summary: {
      steps: optimizer.step,
      accepted: carry.accepted,
      updates: carry.updates ?? carry.accepted,
      cyclesCompleted: optimizer.cycle,
      scalarsPerCycle: optimizer.scalarsPerCycle,
      currentGroup: optimizer.currentGroup(),
      trainSeconds: run.trainSeconds,
      wallSeconds: run.wallSeconds,
      cpuSeconds: run.cpuSeconds,
      forwardWork: carry.forwardWork ?? 0,
      finalTestAccuracy: carry.points[carry.points.length - 1]!.accuracy,
    },
    sittings: carry.sittings,
    points: carry.points,
  };
}

/** The scalars a step changed: 1 or 0 for a scalar step, the block's size or 0 for a block move. */
function changedScalars(r: StepResult): number {
  if (r.block === null) return r.value === r.previous ? 0 : 1;
  return r.blockValues!.some((v, i) => v !== r.block!.previous[i]) ? r.block.flats.length : 0;
}
