import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { CoordinateSelection } from '../src/index.js';
import { allocateReducer, attachReducer } from '../src/engine/reducer.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

/** Runs one minimize with a custom coordinate selection on a 3-scalar and a 2-scalar tensor. */
function minimizeWith(select: CoordinateSelection['select']): () => void {
  const a = tf.variable(tf.tensor1d([0.5, -0.2, 0.1]), true, 'errtext_a/kernel');
  const b = tf.variable(tf.tensor1d([0.3, 0.7]), true, 'errtext_b/kernel');
  const opt = new RSOOptimizer({ seed: 1, coordinates: { select } });
  return () => {
    const before = tf.memory().numTensors;
    try {
      opt.minimize(() => tf.tidy(() => tf.add(tf.sum(tf.square(a)), tf.sum(tf.square(b))) as tf.Scalar), false, [a, b]);
    } finally {
      expect(tf.memory().numTensors).toBe(before);
      // The weights are untouched by the failed step.
      expect(Array.from(a.dataSync())).toEqual(Array.from(Float32Array.from([0.5, -0.2, 0.1])));
      tf.dispose([a, b]);
    }
  };
}

/** Error texts name the thing. */
describe('error texts', () => {
  it('a custom coordinates policy that returns −1 gets an error naming the policy and the value', () => {
    expect(minimizeWith(() => Int32Array.from([-1]))).toThrow(
      /coordinates: select\(\) for group "errtext_b" \(2 scalars\) in cycle 0 returned position -1 at \[0\]; positions must be in 0…1/,
    );
  });

  it('out-of-range positions and non-Int32Array results are named too', () => {
    expect(minimizeWith(() => Int32Array.from([0, 7]))).toThrow(/coordinates: select\(\) for group "errtext_b" .* returned position 7 at \[1\]; positions must be in 0…1/);
    expect(minimizeWith(() => [0, 1] as unknown as Int32Array)).toThrow(/coordinates: select\(\) .* must return null or an Int32Array of positions, got an Array/);
    expect(minimizeWith(() => Float32Array.from([0.5]) as unknown as Int32Array)).toThrow(/must return null or an Int32Array of positions, got Float32Array/);
    expect(minimizeWith(() => undefined as unknown as null)).toThrow(/must return null or an Int32Array of positions, got undefined/);
  });

  it('a selection that visits no scalar in a whole cycle is an error, not an endless loop', () => {
    expect(minimizeWith(() => new Int32Array(0))).toThrow(/coordinates: selected no scalar in any weight group in cycle 1/);
  });

  it('a worker failure reads "a worker thread failed", never "the a worker"', () => {
    const buffer = allocateReducer(2);
    const main = attachReducer(buffer, 0, 2);
    const worker = attachReducer(buffer, 1, 2);
    worker.abort('worker');
    let message = '';
    try {
      main.allReduce([1]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('sharded engine: stopped because a worker thread failed');
    const other = allocateReducer(2);
    attachReducer(other, 0, 2).abort('main');
    expect(() => attachReducer(other, 1, 2).allReduce([1])).toThrow(/^sharded engine: stopped because the main thread failed$/);
  });
});
