import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, constantSchedule, cosineSchedule, exponentialSchedule, linearSchedule, reestimateBatchNorm } from 'tfjs-rso';
import type { Schedule } from 'tfjs-rso';
import type { Control } from './control.js';
import type { Split } from './data.js';
import { buildModel } from './models.js';
import { SAVE_URL } from './protocol.js';
import type { Report, RunSpec, ShrinkTable, SigmaName, TestPoint } from './protocol.js';

/** What a trainer gets from the worker. */
export interface Session {
  readonly spec: RunSpec;
  /** The URL the served files (data, float model) are relative to. */
  readonly base: string;
  readonly data: { readonly train: Split; readonly test: Split };
  readonly control: Control;
  post(r: Report): void;
  /** The tests of the run so far. */
  readonly tests: TestPoint[];
  /** Hands the worker a function that saves the run at a step boundary. */
  canSave(save: () => Promise<void>): void;
  /** Called after every step: serves a save the page asked for. */
  afterStep(): Promise<void>;
}

/** How a run ended. `leaked` is tf.memory().numTensors after training minus before. */
export interface RunEnd {
  readonly model: tfl.LayersModel;
  readonly startStep: number;
  readonly step: number;
  readonly stopped: boolean;
  readonly leaked: number;
  readonly tests: readonly TestPoint[];
  /** A shrink run's table and packed file. */
  readonly shrink?: { readonly table: ShrinkTable; readonly packed: Uint8Array };
}

// The σ schedule is planned over this many cycles (the page runs a few hundred to a few thousand steps).
const PLANNED_CYCLES = 10;
// Adam's learning rate for these small nets (tfjs's default, 0.001, is slow on them).
const ADAM_LEARNING_RATE = 0.01;
// Training images that re-estimate the BN statistics before each test, as the paper's authors do (they use 2,000).
export const BN_SAMPLE = 500;

const SCHEDULES: Record<SigmaName, () => Schedule> = {
  linear: () => linearSchedule({ from: 1, to: 0.1 }),
  cosine: () => cosineSchedule({ from: 1, to: 0.1 }),
  exponential: () => exponentialSchedule({ from: 1, rate: 0.8, floor: 0.1 }),
  constant: () => constantSchedule({ value: 1 }),
};

/** The optimizer settings the page chooses: seed and σ schedule (planned over {@link PLANNED_CYCLES}). */
export const rsoSettings = (spec: RunSpec) => ({ seed: spec.seed, cycles: PLANNED_CYCLES, sigma: SCHEDULES[spec.sigma]() });

/** The wasm backend's threads (its threaded build runs when the page is cross-origin isolated); 1 elsewhere. */
export const backendThreads = () => (tf.getBackend() === 'wasm' ? getThreadsCount() : 1);

/** Test accuracy and loss at the current weights, BN statistics re-estimated from `sample` first (unless null). */
export function testMetrics(model: tfl.LayersModel, test: Split, sample: tf.Tensor | null): { acc: number; loss: number } {
  if (sample !== null) reestimateBatchNorm(model, sample);
  const [acc, loss] = tf.tidy(() => {
    const pred = model.predict(test.x, { batchSize: 250 }) as tf.Tensor;
    const acc = tf.mean(tf.cast(tf.equal(tf.argMax(pred, 1), tf.argMax(test.y, 1)), 'float32'));
    return tf.stack([acc, tf.mean(tfl.metrics.categoricalCrossentropy(test.y, pred))]).dataSync();
  });
  return { acc: acc!, loss: loss! };
}

/** Posts the step's loss, tests every `evalEvery` steps, serves a save, and waits while paused. */
export async function afterStep(s: Session, model: tfl.LayersModel, sample: tf.Tensor, step: number, loss: number): Promise<void> {
  const { control, spec } = s;
  s.post({ type: 'loss', step, seconds: control.seconds(), loss });
  if (step % spec.evalEvery === 0) await report(s, model, sample, step);
  await s.afterStep();
  await control.checkpoint(
    step,
    () => s.post({ type: 'paused', step }),
    () => s.post({ type: 'resumed', step }),
  );
}

export async function report(s: Session, model: tfl.LayersModel, sample: tf.Tensor, step: number): Promise<void> {
  const { acc, loss } = await s.control.excluded(() => testMetrics(model, s.data.test, sample));
  s.tests.push({ step, acc, loss });
  s.post({ type: 'accuracy', step, seconds: s.control.seconds(), acc, loss });
}

async function rsoModel(spec: RunSpec): Promise<{ model: tfl.LayersModel; rso: RSOOptimizer }> {
  if (spec.resume) {
    const model = await tfl.loadLayersModel(SAVE_URL);
    if (!(model.optimizer instanceof RSOOptimizer)) throw new Error(`${SAVE_URL} holds no RSO optimizer state`);
    return { model, rso: model.optimizer };
  }
  const model = buildModel(spec.task, spec.seed);
  const rso = new RSOOptimizer(rsoSettings(spec));
  model.compile({ optimizer: rso, loss: 'categoricalCrossentropy' });
  return { model, rso };
}

/** `rso.fit` for `steps` steps on the session's training set, posting each step and honouring pause and stop. */
export async function fitSteps(s: Session, model: tfl.LayersModel, rso: RSOOptimizer, sample: tf.Tensor, steps: number): Promise<void> {
  await rso.fit(model, s.data.train.x, s.data.train.y, {
    batchSize: s.spec.batchSize,
    maxSteps: steps,
    verbose: 0,
    batchNormSamples: 0,
    callbacks: {
      onBatchEnd: async (_batch: number, logs?: tfl.Logs) => {
        await afterStep(s, model, sample, rso.step, logs?.['loss'] ?? NaN);
        if (s.control.stopped) model.stopTraining = true;
      },
    },
  });
}

/**
 * RSO with `rso.fit`, up to `spec.maxSteps` optimizer steps. Pausing waits inside the batch callback, so the
 * `rso.fit` call is suspended, not ended; a saved run continues from its optimizer state.
 */
export async function trainRso(s: Session): Promise<RunEnd> {
  const { spec, control, data } = s;
  const { model, rso } = await rsoModel(spec);
  const startStep = rso.step;
  const sample = tf.slice(data.train.x, 0, BN_SAMPLE);
  s.post({ type: 'ready', backend: tf.getBackend(), step: startStep, threads: backendThreads() });
  await report(s, model, sample, startStep);
  s.canSave(() => control.excluded(async () => {
    await model.save(SAVE_URL, { includeOptimizer: true });
    s.post({ type: 'saved', step: rso.step });
  }));
  const before = tf.memory().numTensors;
  if (spec.maxSteps > startStep) await fitSteps(s, model, rso, sample, spec.maxSteps - startStep);
  const leaked = tf.memory().numTensors - before;
  if (rso.step % spec.evalEvery !== 0) await report(s, model, sample, rso.step);
  // A save asked for during the last step is served at the end.
  await s.afterStep();
  sample.dispose();
  return { model, startStep, step: rso.step, stopped: control.stopped, leaked, tests: s.tests };
}

/** One Adam step on the next consecutive chunk of the training set. */
async function adamStep(model: tfl.LayersModel, train: Split, step: number, batchSize: number): Promise<number> {
  const perPass = Math.max(1, Math.floor(train.x.shape[0] / batchSize));
  const at = (step % perPass) * batchSize;
  const [xb, yb] = [tf.slice(train.x, at, batchSize), tf.slice(train.y, at, batchSize)];
  try {
    return (await model.trainOnBatch(xb, yb)) as number;
  } finally {
    tf.dispose([xb, yb]);
  }
}

/** Adam through `model.trainOnBatch`, the same network and data, for comparison. */
export async function trainAdam(s: Session): Promise<RunEnd> {
  const { spec, control, data } = s;
  const model = buildModel(spec.task, spec.seed);
  model.compile({ optimizer: tf.train.adam(ADAM_LEARNING_RATE), loss: 'categoricalCrossentropy' });
  const sample = tf.slice(data.train.x, 0, BN_SAMPLE);
  s.post({ type: 'ready', backend: tf.getBackend(), step: 0, threads: backendThreads() });
  await report(s, model, sample, 0);
  let step = 0;
  let before = 0;
  while (step < spec.maxSteps && !control.stopped) {
    const loss = await adamStep(model, data.train, step++, spec.batchSize);
    // Adam makes its slot variables on the first step: count from there.
    if (step === 1) before = tf.memory().numTensors;
    await afterStep(s, model, sample, step, loss);
    await new Promise((next) => setTimeout(next, 0));
  }
  const leaked = tf.memory().numTensors - before;
  if (step % spec.evalEvery !== 0) await report(s, model, sample, step);
  sample.dispose();
  return { model, startStep: 0, step, stopped: control.stopped, leaked, tests: s.tests };
}
