// rso.fit follows model.fit's conventions: argument checks before anything changes, logs with the compiled
// metrics, yielding to the event loop, one trainer at a time, every row used, budgets held to the step, and
// errors that leave nothing behind.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import type { RSOFitArgs } from '../src/index.js';
import { tinyDense, toyData, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

const CE = 'categoricalCrossentropy';

/** Active handles and timers, by kind (the test runner's own come and go, so compare counts). */
const handles = () => {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
};
/** Kinds with more active handles now than in `before`. */
const added = (before: Map<string, number>) => [...handles()].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k]) => k);

describe('rso.fit: arguments', () => {
  it('rejects unknown and wrong-typed arguments with the right name, before compiling or binding', async () => {
    const { x, y } = toyData(20, [4]);
    const model = tinyDense();
    const opt = new RSOOptimizer();
    const bad: [object, RegExp][] = [
      [{ epochs: 1 }, /unknown field "epochs" \(rso.fit counts cycles: use cycles/],
      [{ batchSzie: 10 }, /unknown field "batchSzie" \(did you mean "batchSize"\?\)/],
      [{ classWeight: { 0: 2 } }, /class weights are not supported/],
      [{ sampleWeight: x }, /sample weights are not supported/],
      [{ verbose: 'yes' }, /verbose must be 0 or 1, got "yes"/],
      [{ verbose: 2 }, /verbose must be 0 or 1, got 2/],
      [{ shuffle: 'no' }, /shuffle must be true or false, got "no"/],
      [{ callbacks: 5 }, /callbacks must be a tfjs callback object or an object of hooks, got 5/],
      [{ callbacks: { onBatchEnd: 'log' } }, /callbacks.onBatchEnd must be a function/],
      [{ yieldEvery: 'often' }, /yieldEvery must be 'auto', 'batch', 'epoch', 'never'/],
      [{ workers: 0 }, /workers must be an integer ≥ 1, got 0/],
      [{ validationData: [x, y, x] }, /sample weights are not supported/],
    ];
    for (const [args, message] of bad) {
      await expect(opt.fit(model, x, y, { loss: CE, verbose: 0, ...args } as RSOFitArgs), JSON.stringify(Object.keys(args))).rejects.toThrow(message);
    }
    expect(model.optimizer).toBeUndefined();
    expect(opt.scalarsPerCycle).toBe(0);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('checks x, y and validationData against the model before the first step', async () => {
    const { x, y } = toyData(20, [4]);
    const model = tinyDense();
    const opt = new RSOOptimizer();
    const y4 = tf.zeros([20, 4]);
    const xWide = tf.zeros([20, 5]);
    await expect(opt.fit(model, x, y4, { loss: CE, verbose: 0 })).rejects.toThrow(/y: expected shape \[null, 3\], got \[20, 4\]/);
    await expect(opt.fit(model, xWide, y, { loss: CE, verbose: 0 })).rejects.toThrow(/x: expected shape \[null, 4\], got \[20, 5\]/);
    await expect(opt.fit(model, x, y, { loss: CE, verbose: 0, validationData: [x, y4] })).rejects.toThrow(/validationData\[1\]: expected shape \[null, 3\]/);
    await expect(opt.fit(model, [[1, 2, 3, 4]] as unknown as tf.Tensor, y, { loss: CE, verbose: 0 })).rejects.toThrow(/x must be a tf.Tensor .*got an array of arrays. Convert plain arrays with tf.tensor\(\)/);
    const ids = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    await expect(opt.fit(model, x, ids, { loss: 'sparseCategoricalCrossentropy', verbose: 0 })).rejects.toThrow(/sparse class id 3 at row 3 is not an integer in \[0, 3\)/);
    expect(opt.step).toBe(0);
    model.dispose();
    tf.dispose([x, y, y4, xWide, ids]);
  });
});

describe('rso.fit: logs', () => {
  it('reports compiled metrics in batch and epoch logs, val_ metrics, and restarts the batch index each cycle', async () => {
    const { x, y } = toyData(40, [4]);
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1 });
    model.compile({ optimizer: opt, loss: CE, metrics: ['accuracy'] });
    const batches: { batch: number; keys: string }[] = [];
    const epochs: string[] = [];
    const history = await opt.fit(model, x, y, {
      batchSize: 10,
      cycles: 2,
      verbose: 0,
      validationData: [x, y],
      callbacks: {
        onBatchEnd: async (batch: number, logs?: tfl.Logs) => void batches.push({ batch, keys: Object.keys(logs!).sort().join(',') }),
        onEpochEnd: async (_: number, logs?: tfl.Logs) => void epochs.push(Object.keys(logs!).sort().join(',')),
      },
    });
    // tinyDense has 63 scalars: one cycle is 63 batches.
    expect(batches.length).toBe(126);
    expect(batches[62]!.batch).toBe(62);
    expect(batches[63]!.batch).toBe(0);
    expect(batches[0]!.keys).toBe('acc,batch,loss,size');
    expect(epochs).toEqual(['acc,loss,val_acc,val_loss', 'acc,loss,val_acc,val_loss']);
    const acc = history.history['val_acc'] as number[];
    expect(acc.every((a) => a >= 0 && a <= 1)).toBe(true);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('measures accuracy right for sigmoid (binary) and sparse targets', async () => {
    const x = tf.randomNormal([40, 3], 0, 1, 'float32', 4);
    const yBin = tf.tidy(() => tf.cast(tf.greater(tf.sum(x, 1, true), 0), 'float32'));
    const bin = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) })] });
    const optBin = new RSOOptimizer({ seed: 1 });
    bin.compile({ optimizer: optBin, loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const hBin = await optBin.fit(bin, x, yBin, { batchSize: 20, cycles: 3, verbose: 0, validationData: [x, yBin] });
    const want = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.greater(bin.predict(x) as tf.Tensor, 0.5), tf.greater(yBin, 0.5)), 'float32')).dataSync()[0]!);
    const valAcc = hBin.history['val_acc'] as number[];
    expect(valAcc.every(Number.isFinite)).toBe(true);
    expect(valAcc[valAcc.length - 1]).toBeCloseTo(want, 5);

    const ySparse = tf.tidy(() => tf.cast(tf.argMax(x, 1), 'float32'));
    const cls = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) })] });
    const optCls = new RSOOptimizer({ seed: 1 });
    cls.compile({ optimizer: optCls, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const hCls = await optCls.fit(cls, x, ySparse, { batchSize: 20, cycles: 2, verbose: 0, validationData: [x, ySparse] });
    const wantCls = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(cls.predict(x) as tf.Tensor, 1), tf.argMax(x, 1)), 'float32')).dataSync()[0]!);
    const clsAcc = hCls.history['val_acc'] as number[];
    expect(clsAcc[clsAcc.length - 1]).toBeCloseTo(wantCls, 5);
    bin.dispose();
    cls.dispose();
    tf.dispose([x, yBin, ySparse]);
  });
});

describe('rso.fit: batches and budgets', () => {
  it('uses every training row: the last batch of a pass holds the rest', async () => {
    const x = tf.tidy(() => tf.concat([tf.reshape(tf.range(0, 32), [32, 1]), tf.zeros([32, 3])], 1));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.fill([32], 1, 'int32'), 3), 'float32'));
    const model = tinyDense(3);
    const opt = new RSOOptimizer({ seed: 1 });
    const sizes: number[] = [];
    await opt.fit(model, x, y, { loss: CE, batchSize: 20, maxSteps: 6, shuffle: false, verbose: 0, callbacks: { onBatchBegin: async (_: number, logs?: tfl.Logs) => void sizes.push(logs!['size']!) } });
    expect(sizes).toEqual([20, 12, 20, 12, 20, 12]);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('holds maxSteps and the time budget to the step, also with stepsPerBatch > 1', async () => {
    const { x, y } = toyData(40, [4]);
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1, stepsPerBatch: 400 });
    await opt.fit(model, x, y, { loss: CE, batchSize: 20, maxSteps: 1, verbose: 0 });
    expect(opt.step).toBe(1);
    await opt.fit(model, x, y, { batchSize: 20, maxSteps: 7, verbose: 0 });
    expect(opt.step).toBe(8);
    // A budget far shorter than one batch of 400 steps stops inside the batch.
    await opt.fit(model, x, y, { batchSize: 20, cycles: 50, timeBudgetSeconds: 0.05, verbose: 0 });
    expect(opt.step - 8).toBeGreaterThan(0);
    expect(opt.step - 8).toBeLessThan(400);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('re-estimates BN statistics from a seeded random sample of the training set, not its first rows', async () => {
    // Sorted data: row i has feature value i, so the first rows have the smallest values.
    const x = tf.tidy(() => tf.tile(tf.reshape(tf.range(0, 200), [200, 1]), [1, 4]));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.fill([200], 0, 'int32'), 3), 'float32'));
    const run = async () => {
      const model = tfl.sequential({ layers: [tfl.layers.batchNormalization({ inputShape: [4] }), tfl.layers.dense({ units: 3, activation: 'softmax' })] });
      await new RSOOptimizer({ seed: 9 }).fit(model, x, y, { loss: CE, batchSize: 50, maxSteps: 2, verbose: 0, batchNormSamples: 20 });
      const mean = (model.layers[0]!.getWeights()[2]!.dataSync() as Float32Array)[0]!;
      model.dispose();
      return mean;
    };
    const mean = await run();
    // The first 20 rows would give 9.5; a random 20 of 0…199 is near 99.5.
    expect(mean).toBeGreaterThan(40);
    expect(await run()).toBe(mean);
    tf.dispose([x, y]);
  });
});

describe('rso.fit: one trainer, one optimizer', () => {
  it('refuses concurrent training of one model, by rso.fit or model.fit', async () => {
    const { x, y } = toyData(40, [4]);
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1 });
    const first = opt.fit(model, x, y, { loss: CE, batchSize: 10, cycles: 2, verbose: 0 });
    await expect(opt.fit(model, x, y, { verbose: 0 })).rejects.toThrow(/another fit\(\) call is ongoing/);
    await expect(model.fit(x, y, { epochs: 1, verbose: 0 })).rejects.toThrow(/another fit\(\) call is ongoing/);
    await first;
    expect(opt.step).toBe(126);
    // And once it is over, training goes on.
    await opt.fit(model, x, y, { batchSize: 10, maxSteps: 3, verbose: 0 });
    expect(opt.step).toBe(129);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('trains with the optimizer the model is compiled with, and follows a recompile after trainable changes', async () => {
    const { x, y } = toyData(40, [4]);
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1 });
    await opt.fit(model, x, y, { loss: CE, batchSize: 10, maxSteps: 5, verbose: 0 });
    expect(model.optimizer).toBe(opt);
    await expect(new RSOOptimizer().fit(model, x, y, { verbose: 0 })).rejects.toThrow(/compiled with another RSOOptimizer/);
    const sgdModel = tinyDense(3);
    sgdModel.compile({ optimizer: 'sgd', loss: CE });
    await expect(opt.fit(sgdModel, x, y, { verbose: 0 })).rejects.toThrow(/compiled with SGD/);
    // Freeze the first layer, recompile with the same optimizer: training goes on with the rest.
    const firstLayer = () => model.layers[0]!.getWeights().map((w) => Array.from(w.dataSync()));
    const frozen = firstLayer();
    model.layers[0]!.trainable = false;
    model.compile({ optimizer: opt, loss: CE });
    await opt.fit(model, x, y, { batchSize: 10, maxSteps: 20, verbose: 0 });
    expect(opt.step).toBe(25);
    expect(firstLayer()).toEqual(frozen);
    await model.fit(x, y, { batchSize: 10, epochs: 1, verbose: 0 });
    expect(opt.step).toBe(29);
    model.dispose();
    sgdModel.dispose();
    tf.dispose([x, y]);
  });
});

describe('rso.fit: responsiveness and failures', () => {
  it('yields to the event loop while it trains without callbacks (yieldEvery auto)', async () => {
    const { x, y } = toyData(40, [4]);
    const model = tinyDense(2);
    let ticks = 0;
    const timer = setInterval(() => void ticks++, 10);
    try {
      await new RSOOptimizer({ seed: 1 }).fit(model, x, y, { loss: CE, batchSize: 10, cycles: 1000, timeBudgetSeconds: 0.8, verbose: 0 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('leaves no timer or handle behind after an error, whatever failed', async () => {
    const { x, y } = toyData(40, [4]);
    const before = handles();
    const model = tinyDense(2);
    const opt = new RSOOptimizer({ seed: 1 });
    await expect(opt.fit(model, x, y, { loss: CE, workers: 0 })).rejects.toThrow(/workers/);
    expect(added(before)).toEqual([]);
    await expect(
      opt.fit(model, x, y, { loss: CE, batchSize: 10, callbacks: { onBatchEnd: async () => Promise.reject(new Error('callback failed')) } }),
    ).rejects.toThrow(/callback failed/);
    expect(added(before)).toEqual([]);
    expect((model as unknown as { isTraining: boolean }).isTraining).toBe(false);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('leaves no thread, timer or handle behind when a worker thread fails to start', async () => {
    // A custom layer registered on this thread only: the worker threads cannot rebuild the model.
    class Doubling extends tfl.layers.Layer {
      static get className() {
        return 'DoublingOnlyHere';
      }
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2);
      }
    }
    tf.serialization.registerClass(Doubling);
    const { x, y } = toyData(40, [4]);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3 }), new Doubling({}), tfl.layers.softmax()] });
    const before = handles();
    await expect(new RSOOptimizer({ seed: 1 }).fit(model, x, y, { loss: CE, batchSize: 10, workers: nodeWorkers(2), verbose: 0 })).rejects.toThrow(/worker thread 1 failed: .*DoublingOnlyHere/);
    expect(added(before)).toEqual([]);
    model.dispose();
    tf.dispose([x, y]);
  }, 60_000);

  it('undoes a failed batch whole, so that a retry reproduces the uninterrupted run', () => {
    const build = () => tinyDense(5);
    const { x, y } = toyData(20, [4]);
    const closure = (model: tfl.LayersModel, fail: () => boolean) => () =>
      tf.tidy(() => {
        if (fail()) throw new Error('evaluation failed');
        return tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
      });
    const plain = build();
    const a = new RSOOptimizer({ seed: 4, stepsPerBatch: 3 });
    const vars = plain.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let b = 0; b < 4; b++) a.minimize(closure(plain, () => false), false, vars);

    const retried = build();
    const r = new RSOOptimizer({ seed: 4, stepsPerBatch: 3 });
    const rv = retried.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let b = 0; b < 4; b++) {
      if (b === 2) {
        // Each step calls the closure 3 times: the 8th call is in the batch's third step, after two have changed weights.
        let calls = 0;
        expect(() => r.minimize(closure(retried, () => ++calls === 8), false, rv)).toThrow(/evaluation failed/);
      }
      r.minimize(closure(retried, () => false), false, rv);
    }
    expect(r.searchState()).toEqual(a.searchState());
    expect(weightsOf(retried)).toEqual(weightsOf(plain));
    plain.dispose();
    retried.dispose();
    tf.dispose([x, y]);
  });
});
