import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyResidual, toyData, trainBatches, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

const config = { seed: 21, cycles: 4, layerOrder: { name: 'shuffled' }, coordinates: { name: 'randomSubset', fraction: 0.8 }, weightDecay: 1e-4 } as const;

describe('save, load and continue', () => {
  it('gives exactly the weights of an uninterrupted run (model.save with includeOptimizer)', async () => {
    const { x, y } = toyData(64, [6, 6, 1], 3);
    const total = 150;
    const cut = 67;

    const straight = tinyResidual(4);
    straight.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
    await trainBatches(straight, x, y, 0, total, 16);

    const first = tinyResidual(4);
    first.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
    await trainBatches(first, x, y, 0, cut, 16);
    let saved: tf.io.ModelArtifacts | undefined;
    await first.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { includeOptimizer: true });
    first.dispose();

    const resumed = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const opt = resumed.optimizer as RSOOptimizer;
    expect(opt).toBeInstanceOf(RSOOptimizer);
    expect(opt.step).toBe(cut);
    await trainBatches(resumed, x, y, cut, total, 16);

    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    expect((straight.optimizer as RSOOptimizer).step).toBe(total);
    expect(opt.step).toBe(total);
    expect(opt.searchState()).toEqual((straight.optimizer as RSOOptimizer).searchState());
    // Bit-identical, moving statistics included.
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    // The run did move the weights (the test would be vacuous otherwise).
    const init = weightsOf(tinyResidual(4));
    expect(Buffer.from(init.buffer).equals(Buffer.from(a.buffer))).toBe(false);
    straight.dispose();
    resumed.dispose();
    tf.dispose([x, y]);
  });

  it('setWeights rejects a state of another shape, naming what it expected', async () => {
    const opt = new RSOOptimizer();
    await expect(opt.setWeights([{ name: 'rso/state', tensor: tf.tensor1d([1, 2, 3], 'int32') }])).rejects.toThrow(/missing state part "rso\/sigma"; got \[rso\/state\]/);
    const bad = [
      { name: 'rso/state', tensor: tf.tensor1d([1, 2, 3], 'int32') },
      { name: 'rso/sigma', tensor: tf.tensor1d([]) },
    ];
    await expect(opt.setWeights(bad)).rejects.toThrow(/expected 264 int32 values/);
  });
});
