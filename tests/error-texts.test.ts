import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import type { CoordinateSelection, NamedTensor } from '../src/index.js';
import { allocateReducer, attachReducer } from '../src/engine/reducer.js';
import { readLoss } from '../src/engine/closure-evaluator.js';
import { parseConfig } from '../src/config/config.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { tinyDense, toyData, useCpu } from './helpers.js';

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

/** The search core and the engine say what went wrong; the public method the user called names itself. */
describe('error texts name the public method, never from inside the core', () => {
  const publicName = /RSOOptimizer|rso\.fit|setWeights|minimize/;

  /** The saved state of an optimizer that searched one 3-scalar tensor for one step. */
  async function oneTensorState(): Promise<NamedTensor[]> {
    const v = tf.variable(tf.tensor1d([0.5, -0.2, 0.1]), true, 'errtext_one/kernel');
    const opt = new RSOOptimizer({ seed: 1 });
    opt.minimize(() => tf.tidy(() => tf.sum(tf.square(v)) as tf.Scalar), false, [v]);
    const saved = (await opt.getWeights()).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
    opt.dispose();
    v.dispose();
    return saved;
  }

  it('the core and the engine throw neutral messages', () => {
    const tensors = [describeTensor('a/kernel', [3]), describeTensor('b/kernel', [2])];
    const bind = (sigmas: Float32Array | null, t = tensors) => () => new RSOSearch(parseConfig({})).bind(t, (i) => new Float32Array(t[i]!.size), sigmas);
    const texts = [bind(Float32Array.of(0.1)), bind(null, [])].map((f) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    });
    expect(texts).toEqual(['the restored state holds σ for 1 tensors, the model has 2 trainable tensors', 'the model has no trainable weights (0 trainable scalars); nothing to search']);
    const loss = tf.tensor1d([1, 2]);
    expect(() => readLoss(loss)).toThrow(/^the loss function must return a scalar tensor, got shape \[2\]$/);
    expect(() => readLoss(loss)).not.toThrow(publicName);
    loss.dispose();
  });

  it('minimize names itself for a non-scalar closure and for a restored state that does not fit', async () => {
    const v = tf.variable(tf.tensor1d([0.5, -0.2]), true, 'errtext_vec/kernel');
    const before = tf.memory().numTensors;
    expect(() => new RSOOptimizer({ seed: 1 }).minimize(() => tf.mul(v, 2) as unknown as tf.Scalar, false, [v])).toThrow(
      /^RSOOptimizer\.minimize: the loss closure must return a scalar tensor, got shape \[2\]$/,
    );
    expect(tf.memory().numTensors).toBe(before);
    const saved = await oneTensorState();
    const opt = new RSOOptimizer({ seed: 1 });
    await opt.setWeights(saved);
    const w = [v, tf.variable(tf.tensor1d([0.3]), true, 'errtext_vec2/kernel')];
    expect(() => opt.minimize(() => tf.tidy(() => tf.add(tf.sum(tf.square(w[0]!)), tf.sum(w[1]!)) as tf.Scalar), false, w)).toThrow(
      /^RSOOptimizer\.minimize: rso\/sigma holds σ for 1 tensors, the model has 2 trainable tensors$/,
    );
    tf.dispose([...w, ...saved.map((s) => s.tensor)]);
  });

  it('rso.fit names itself for a restored state that does not fit the model', async () => {
    const saved = await oneTensorState();
    const model = tinyDense();
    const { x, y } = toyData(8, [4]);
    const opt = new RSOOptimizer({ seed: 1 });
    await opt.setWeights(saved);
    await expect(opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 4, verbose: 0 })).rejects.toThrow(
      /^rso\.fit: rso\/sigma holds σ for 1 tensors, the model has \d+ trainable tensors$/,
    );
    tf.dispose([x, y, ...saved.map((s) => s.tensor)]);
    model.dispose();
  });
});

