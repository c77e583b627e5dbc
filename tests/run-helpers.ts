import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { RSOConfig } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { parseConfig } from '../src/config/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';
import { trainBatches } from './helpers.js';

/** One step of a run, as the tests compare them. */
export interface StepTrace {
  readonly accepted: number;
  readonly losses: number[];
  readonly delta: number;
}

/** The steps of `rso.fit` on a fresh `build()` with `workers` threads (batch 48, 160 steps). */
export async function threadSteps(build: () => tfl.LayersModel, config: RSOConfig, x: tf.Tensor, y: tf.Tensor, workers: number): Promise<StepTrace[]> {
  const model = build();
  const opt = new RSOOptimizer(config);
  const out: StepTrace[] = [];
  await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: 160, verbose: 0, batchNormSamples: 0,
    ...(workers > 1 ? { workers: nodeWorkers(workers) } : {}),
    callbacks: { onBatchEnd: async () => void out.push({ accepted: opt.lastStepResult!.accepted, losses: Array.from(opt.lastStepResult!.losses), delta: opt.lastStepResult!.delta }) },
  });
  model.dispose();
  return out;
}

/**
 * Checks that two runs take the same Δ with losses within 1e-5 (relative) step by step, up to their first
 * differing decision (a near-tie that float rounding decides), and returns how many steps they share.
 */
export function sharedSteps(one: readonly StepTrace[], two: readonly StepTrace[]): number {
  let same = 0;
  for (; same < one.length; same++) {
    expect(two[same]!.delta).toBe(one[same]!.delta);
    two[same]!.losses.forEach((l, k) => expect(Math.abs(l - one[same]!.losses[k]!) / Math.abs(l)).toBeLessThan(1e-5));
    if (two[same]!.accepted !== one[same]!.accepted) break;
  }
  return same;
}

/**
 * Trains `build()` under `model.fit`'s per-batch path for `total` batches of 16 straight, and again with a save
 * (optimizer included) and reload after `split` batches.
 *
 * @returns The uninterrupted model, the model before saving and the reloaded one after training on; the caller
 *   disposes them.
 */
export async function straightAndResumed(build: () => tfl.LayersModel, config: RSOConfig, x: tf.Tensor, y: tf.Tensor, split: number, total: number) {
  const train = (model: tfl.LayersModel, from: number, to: number) => trainBatches(model, x, y, from, to, 16);
  const straight = build();
  straight.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
  await train(straight, 0, total);
  const first = build();
  first.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
  await train(first, 0, split);
  let saved: tf.io.ModelArtifacts | undefined;
  await first.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
  const resumed = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
  await train(resumed, split, total);
  return { straight, first, resumed };
}

/**
 * A search over one Dense kernel [4, 3] holding `values`, with an evaluator whose losses always prefer w + Δ
 * (scalar steps and block moves alike); `step` runs one step through the runner.
 */
export function denseKernelSearch(config: RSOConfig, values: Float32Array) {
  const search = new RSOSearch(parseConfig(config));
  search.bind([describeTensor('d/kernel', [4, 3])], () => values, null);
  const evaluator = {
    read: (_t: number, i: number) => values[i]!,
    write: (_t: number, i: number, v: number) => void (values[i] = v),
    evaluate: () => [1, 0, 2],
    evaluateBlock: () => [1, 0, 2],
    writeBlock: (_t: number, flats: Int32Array, v: Float32Array) => flats.forEach((f, i) => (values[f] = v[i]!)),
  };
  return { search, values, step: () => runStep(search, evaluator) };
}
