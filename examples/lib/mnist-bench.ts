/**
 * What the issue-14 MNIST benchmarks share: the data, the test measurement (BN re-estimated, all 10,000 test
 * images), a training clock that leaves evaluation out, and an Adam loop with a time budget.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createRng, evaluateModel, reestimateBatchNorm } from '../../src/index.js';
import { mnistMean, mnistToTensors } from '../../src/node/index.js';
import { loadMnist } from './smoke.js';
import { resolveLoss } from '../../src/train/losses.js';
import { machineSpeed } from './run-record.js';
import type { CurvePoint } from './run-record.js';

// The authors re-estimate BN statistics from 2,000 training images before each test (arXiv:2005.05955).
const BN_SAMPLES = 2000;
// Forward-pass batch size for evaluation.
const EVAL_BATCH = 1000;

/** Real MNIST as tensors, centred on the training mean. */
export interface MnistTensors {
  readonly train: { readonly xs: tf.Tensor; readonly ys: tf.Tensor };
  readonly test: { readonly xs: tf.Tensor; readonly ys: tf.Tensor };
  readonly bnSample: tf.Tensor;
  readonly trainCount: number;
  /** The pixel value subtracted from every image. */
  readonly inputMean: number;
}

/**
 * Loads MNIST (the first `trainLimit` training images, all 10,000 test images), centred on `mean` (default: the
 * mean pixel of the images loaded).
 */
export async function loadMnistTensors(trainLimit: number, centre?: number): Promise<MnistTensors> {
  const data = await loadMnist({ trainLimit, testLimit: 10_000 });
  const mean = centre ?? mnistMean(data);
  const train = mnistToTensors(data.train, { mean });
  const test = mnistToTensors(data.test, { mean });
  return { train, test, bnSample: tf.slice(train.xs, 0, Math.min(BN_SAMPLES, data.train.count)), trainCount: data.train.count, inputMean: mean };
}

/**
 * Test accuracy of `model` on all test images, after re-estimating its BN statistics from the BN sample (unless
 * `reestimate` is false: the model as it is, such as after `roundForPacking`).
 */
export function testAccuracy(model: tfl.LayersModel, data: MnistTensors, reestimate = true): number {
  if (reestimate) reestimateBatchNorm(model, data.bnSample);
  return evaluateModel(model, data.test.xs, data.test.ys, resolveLoss('categoricalCrossentropy', 'mean'), EVAL_BATCH).acc;
}

/**
 * One measurement of a run, booked as evaluation time: the test accuracy, and the host's speed then
 * ({@link machineSpeed}), which drifts within a session as well as between sessions.
 */
export function measureOnTest(clock: TrainClock, model: tfl.LayersModel, data: MnistTensors): { accuracy: number; matMulGflops: number } {
  return clock.measure(() => ({ accuracy: testAccuracy(model, data), matMulGflops: machineSpeed().matMulGflops }));
}

/** Training seconds (wall time minus the time spent measuring), wall seconds and CPU seconds, from offsets. */
export interface TrainClock {
  train(): number;
  wall(): number;
  /** CPU seconds of this process (every thread, measurements included). */
  cpu(): number;
  /** Runs `f` and books its time as evaluation. */
  measure<T>(f: () => T): T;
  /** Awaits `f` and books its time as evaluation. */
  measureAsync<T>(f: () => Promise<T>): Promise<T>;
}

/** A {@link TrainClock} that starts now, continuing from `trainBefore`, `wallBefore` and `cpuBefore` seconds. */
export function trainClock(trainBefore = 0, wallBefore = 0, cpuBefore = 0): TrainClock {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let evalMs = 0;
  return {
    cpu: () => {
      const c = process.cpuUsage(c0);
      return cpuBefore + (c.user + c.system) / 1e6;
    },
    train: () => trainBefore + (performance.now() - t0 - evalMs) / 1000,
    wall: () => wallBefore + (performance.now() - t0) / 1000,
    measure<T>(f: () => T): T {
      const e0 = performance.now();
      try {
        return f();
      } finally {
        evalMs += performance.now() - e0;
      }
    },
    measureAsync<T>(f: () => Promise<T>): Promise<T> {
      const e0 = performance.now();
      return f().finally(() => void (evalMs += performance.now() - e0));
    },
  };
}

/**
 * A flag that turns true on the first SIGINT or SIGTERM, so that a run can stop at its next step and still write
 * its results; `release` removes the handlers.
 */
export function stopSignal(): { readonly stopped: () => boolean; readonly release: () => void } {
  let stopped = false;
  const onSignal = (name: string) => {
    stopped = true;
    console.log(`${name}: stopping after this step; the results will be written`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    stopped: () => stopped,
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

/** What {@link adamRace} needs. */
export interface AdamRaceArgs {
  readonly method: string;
  readonly data: MnistTensors;
  /** The model to test (the one trained, or one the caller keeps in step with the trained weights). */
  readonly testModel: () => tfl.LayersModel;
  /** Runs one Adam step on a mini-batch. */
  readonly step: (xs: tf.Tensor, ys: tf.Tensor) => void;
  readonly batchSize: number;
  readonly budgetSeconds: number;
  readonly evalEverySeconds: number;
  /** Weight updates per step (the trainable scalars). */
  readonly scalars: number;
  readonly seed: number;
  /**
   * Snapshots: at the first measurement at or after each of `atSeconds` of training (or at the last one, for the
   * times the run did not reach), `save` is awaited with that measurement and the time asked for; its time is
   * booked as evaluation.
   */
  readonly snapshots?: { readonly atSeconds: readonly number[]; readonly save: (point: CurvePoint, atSeconds: number) => Promise<void> };
}

/** The curve and counts of an {@link adamRace}. */
export interface AdamRaceResult {
  readonly points: CurvePoint[];
  readonly steps: number;
  readonly epochs: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/**
 * Trains with a caller-given Adam step on shuffled mini-batches (one seeded shuffle per epoch) until
 * `budgetSeconds` of training time or a SIGINT/SIGTERM, measuring test accuracy at step 0, at powers of two, every
 * `evalEverySeconds` of training and at the end.
 */
export async function adamRace(args: AdamRaceArgs): Promise<AdamRaceResult> {
  const { data, batchSize } = args;
  const clock = trainClock();
  const points: CurvePoint[] = [];
  let steps = 0;
  const snapshotsDue = [...(args.snapshots?.atSeconds ?? [])].sort((a, b) => a - b);
  const snapshot = (point: CurvePoint, at: number) => clock.measureAsync(() => args.snapshots!.save(point, at));
  const record = async () => {
    const seconds = clock.train();
    const { accuracy, matMulGflops } = measureOnTest(clock, args.testModel(), data);
    const point = { method: args.method, seconds, wallSeconds: clock.wall(), cpuSeconds: clock.cpu(), steps, updates: steps * args.scalars, accuracy, matMulGflops };
    points.push(point);
    console.log(`  ${args.method}: step ${steps}, ${seconds.toFixed(0)} s, test accuracy ${(accuracy * 100).toFixed(2)}%`);
    while (snapshotsDue.length > 0 && seconds >= snapshotsDue[0]!) await snapshot(point, snapshotsDue.shift()!);
  };
  await record();
  const signal = stopSignal();
  const going = () => clock.train() < args.budgetSeconds && !signal.stopped();
  let nextStepEval = 1;
  let nextTimeEval = args.evalEverySeconds;
  let epochs = 0;
  const n = data.trainCount;
  while (going()) {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    shuffleSeeded(order, args.seed + epochs);
    for (let start = 0; start + batchSize <= n && going(); start += batchSize) {
      tf.tidy(() => {
        const idx = tf.tensor1d(Array.from(order.subarray(start, start + batchSize)), 'int32');
        args.step(tf.gather(data.train.xs, idx), tf.gather(data.train.ys, idx));
      });
      steps++;
      await new Promise((r) => setImmediate(r));
      const s = clock.train();
      if (steps >= nextStepEval || s >= nextTimeEval) {
        if (steps >= nextStepEval) nextStepEval *= 2;
        while (nextTimeEval <= s) nextTimeEval += args.evalEverySeconds;
        await record();
      }
    }
    epochs++;
  }
  signal.release();
  if (points[points.length - 1]?.steps !== steps) await record();
  for (const at of snapshotsDue.splice(0)) await snapshot(points[points.length - 1]!, at);
  return { points, steps, epochs, trainSeconds: clock.train(), wallSeconds: clock.wall(), cpuSeconds: clock.cpu() };
}

/** Fisher–Yates shuffle of `a` in place, drawn from the library's seeded generator. */
function shuffleSeeded(a: Uint32Array, seed: number): void {
  const rng = createRng(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const tmp = a[i]!;
    a[i] = a[j]!;
    a[j] = tmp;
  }
}
