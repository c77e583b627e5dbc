import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { tinyResidual, toyData, useCpu } from './helpers.js';

beforeAll(useCpu);

describe('seeded snapshot', () => {
  it('a short seeded run makes the same decisions as when the snapshot was recorded (seed 2024)', async () => {
    const { x, y } = toyData(32, [6, 6, 1], 5);
    const model = tinyResidual(3);
    const opt = new RSOOptimizer({ seed: 2024, cycles: 2 });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const decisions: string[] = [];
    for (let i = 0; i < 24; i++) {
      await model.trainOnBatch(x, y);
      const r = opt.lastStepResult!;
      decisions.push(`${r.tensor}:${r.flat}:${r.accepted}:${r.delta.toPrecision(6)}`);
    }
    const sum = model.getWeights().reduce((s, w) => s + tf.sum(tf.abs(w)).dataSync()[0]!, 0);
    expect({ decisions, weightAbsSum: sum.toPrecision(7) }).toMatchSnapshot();
    model.dispose();
    tf.dispose([x, y]);
  });
});
