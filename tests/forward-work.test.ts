import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { RSOFitArgs } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { tinyConvSeq, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

/** rso.fit on `model` for `steps` steps; returns the optimizer's forward work and fit's counter. */
async function fitWork(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, args: RSOFitArgs): Promise<{ work: number; params: number; steps: number }> {
  const opt = new RSOOptimizer({ seed: 3, cycles: 2 });
  const history = await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', verbose: 0, batchNormSamples: 0, engine: 'model', ...args });
  return { work: opt.forwardWork, params: Number(history.params['engineForwardWork']), steps: opt.step };
}

describe('forward work (examples × layers evaluated)', () => {
  it("counts batch rows × 3 candidates × 1 layer per step for a one-layer model, on the output layer's path and the suffix alike", async () => {
    const { x, y } = toyData(40, [6]);
    const before = tf.memory().numTensors;
    // Softmax: the output layer's own path; linear: the suffix re-run.
    for (const activation of ['softmax', 'linear'] as const) {
      const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 3, activation, kernelInitializer: tfl.initializers.heNormal({ seed: 4 }) })] });
      const r = await fitWork(model, x, y, { batchSize: 8, maxSteps: 30 });
      expect(r.steps).toBe(30);
      expect(r.work).toBe(30 * 8 * 3 * 1);
      expect(r.params).toBe(r.work);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('adds the layers below the searched group once per batch whose cached inputs are computed', async () => {
    const { x, y } = toyData(16, [6]);
    const init = (k: number) => tfl.initializers.heNormal({ seed: k });
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [6], units: 4, activation: 'relu', kernelInitializer: init(1) }), tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) })],
    });
    // The output layer is searched first (15 scalars): two batches of 8, each computed once (the first dense layer).
    const r = await fitWork(model, x, y, { batchSize: 8, maxSteps: 15 });
    expect(r.work).toBe(15 * 8 * 3 * 1 + 2 * 8 * 1);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('counts whole-batch examples with worker threads, as one thread does', async () => {
    const { x, y } = toyData(48, [6, 6, 1]);
    const one = await fitWork(tinyConvSeq(2), x, y, { batchSize: 16, maxSteps: 60 });
    const two = await fitWork(tinyConvSeq(2), x, y, { batchSize: 16, maxSteps: 60, workers: nodeWorkers(2) });
    expect(one.work).toBeGreaterThan(60 * 16 * 3);
    expect(two.work).toBe(one.work);
    tf.dispose([x, y]);
  });
});
