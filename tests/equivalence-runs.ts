// The two runs an equivalence row compares, and their step-by-step comparison, free of vitest so that the
// browser bundle (tests/browser/equivalence-page.ts) runs the same code on webgl as the Node rows on cpu and wasm.
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer } from '../src/index.js';
import type { LossSpec, RSOConfig, StepResult } from '../src/index.js';

/** What a row may change: the loss (default categorical cross-entropy) and optimizer options beyond the shared config. */
export interface RunOptions {
  readonly loss?: LossSpec;
  readonly config?: RSOConfig;
}

/** Steps compared per row, the mini-batch, and the optimizer config of every row (seed 31). */
export const STEPS = 320;
export const BATCH = 16;
export const EQUIVALENCE_CONFIG = { seed: 31, cycles: 5 } as const;

/** One step as both paths record it. */
export interface StepRecord {
  readonly tensor: number;
  readonly flat: number;
  readonly accepted: number;
  readonly losses: number[];
}
export const record = (r: StepResult): StepRecord => ({ tensor: r.tensor, flat: r.flat, accepted: r.accepted, losses: Array.from(r.losses) });

/** The closure path, exactly as a user runs it: model.fit with shuffle off. */
export async function closureRun(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, options: RunOptions = {}) {
  const model = build();
  const opt = new RSOOptimizer({ ...EQUIVALENCE_CONFIG, ...options.config });
  model.compile({ optimizer: opt, loss: options.loss ?? 'categoricalCrossentropy' });
  const steps: StepRecord[] = [];
  const batchesPerEpoch = x.shape[0]! / BATCH;
  await model.fit(x, y, {
    batchSize: BATCH,
    epochs: Math.ceil(STEPS / batchesPerEpoch),
    shuffle: false,
    verbose: 0,
    callbacks: { onBatchEnd: async () => void steps.push(record(opt.lastStepResult!)) },
  });
  return { model, opt, steps };
}

/** The model-aware engine through rso.fit, same seed, init and batch order. */
export async function engineRun(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, batchCandidates: boolean, options: RunOptions = {}) {
  const model = build();
  const opt = new RSOOptimizer({ ...EQUIVALENCE_CONFIG, ...options.config });
  const steps: StepRecord[] = [];
  const history = await opt.fit(model, x, y, {
    loss: options.loss ?? 'categoricalCrossentropy',
    batchSize: BATCH,
    maxSteps: STEPS,
    cycles: 100,
    shuffle: false,
    verbose: 0,
    engine: 'model',
    batchNormSamples: 0,
    batchCandidates,
    callbacks: { onBatchEnd: async () => void steps.push(record(opt.lastStepResult!)) },
  });
  const count = (key: string) => Number(history.params[key]);
  return { model, opt, steps, deltaSteps: count('engineDeltaSteps'), outputSteps: count('engineOutputSteps'), batchedSteps: count('engineBatchedSteps'), headHits: count('engineHeadHits') };
}

export const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** Where the two paths parted at a near-tie: the step, both decisions and losses, and the gap. */
export interface NearTie {
  readonly step: number;
  readonly closureKept: number;
  readonly engineKept: number;
  readonly closureLosses: number[];
  readonly engineLosses: number[];
  readonly gap: number;
}

/** The step-by-step comparison of a row. */
export interface Comparison {
  /** Steps compared before the paths parted (STEPS if they never did). */
  readonly same: number;
  /** The worst relative difference of a candidate loss over those steps. */
  readonly worst: number;
  /** Steps whose coordinates differ (there must be none). */
  readonly coordinateMismatches: number;
  readonly nearTie: NearTie | null;
}

/**
 * Compares step by step. Different arithmetic may flip a decision only where candidates tie within float32
 * rounding: the first such step is reported with its gap, and the comparison ends there.
 */
export function compareSteps(a: readonly StepRecord[], b: readonly StepRecord[]): Comparison {
  let worst = 0;
  let coordinateMismatches = 0;
  for (let same = 0; same < STEPS; same++) {
    const [ra, rb] = [a[same]!, b[same]!];
    if (ra.tensor !== rb.tensor || ra.flat !== rb.flat) coordinateMismatches++;
    for (let k = 0; k < 3; k++) worst = Math.max(worst, relErr(ra.losses[k]!, rb.losses[k]!));
    if (ra.accepted !== rb.accepted) {
      const gap = relErr(ra.losses[ra.accepted]!, ra.losses[rb.accepted]!);
      return { same, worst, coordinateMismatches, nearTie: { step: same, closureKept: ra.accepted, engineKept: rb.accepted, closureLosses: ra.losses, engineLosses: rb.losses, gap } };
    }
  }
  return { same: STEPS, worst, coordinateMismatches, nearTie: null };
}

/** Everything a row asserts, as plain data (it crosses from the browser to the test as JSON). */
export interface EquivalenceReport extends Comparison {
  readonly closureSteps: number;
  readonly engineSteps: number;
  readonly deltaSteps: number;
  readonly headHits: number;
  readonly batchedSteps: number;
  readonly outputSteps: number;
  /** Engine steps that searched the output layer's tensors. */
  readonly outputLayerSteps: number;
  /** Distinct tensors the closure path searched, and the model's trainable tensor count. */
  readonly searchedTensors: number;
  readonly trainableTensors: number;
  /** The largest absolute weight difference at the end, when the paths never parted. */
  readonly weightDiff: number | null;
}

function outputLayerSteps(model: tfl.LayersModel, steps: readonly StepRecord[]): number {
  const outputLayer = model.layers[model.layers.length - 1]!;
  const outputTensors = new Set(outputLayer.trainableWeights.map((w) => model.trainableWeights.indexOf(w)));
  return steps.filter((r) => outputTensors.has(r.tensor)).length;
}

function weightDiff(a: tfl.LayersModel, b: tfl.LayersModel): number {
  const wa = a.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));
  const wb = b.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));
  return wa.reduce((m, v, i) => Math.max(m, Math.abs(v - wb[i]!)), 0);
}

/** Runs both paths on one model and data, compares them, and disposes both models. */
export async function equivalenceRow(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, batchCandidates: boolean, options: RunOptions = {}): Promise<EquivalenceReport> {
  const a = await closureRun(build, x, y, options);
  const b = await engineRun(build, x, y, batchCandidates, options);
  const comparison = compareSteps(a.steps, b.steps);
  const report: EquivalenceReport = {
    ...comparison,
    closureSteps: a.steps.length,
    engineSteps: b.steps.length,
    deltaSteps: b.deltaSteps,
    headHits: b.headHits,
    batchedSteps: b.batchedSteps,
    outputSteps: b.outputSteps,
    outputLayerSteps: outputLayerSteps(b.model, b.steps),
    searchedTensors: new Set(a.steps.slice(0, STEPS).map((r) => r.tensor)).size,
    trainableTensors: a.model.trainableWeights.length,
    weightDiff: comparison.same === STEPS ? weightDiff(a.model, b.model) : null,
  };
  a.model.dispose();
  b.model.dispose();
  return report;
}
