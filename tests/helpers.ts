import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import '../src/index.js';

/** Puts tests on the deterministic cpu backend. */
export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** A tiny Sequential net with Dense, BN and a softmax output; seeded init. */
export function tinyDense(seed = 1): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 6, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed }) }),
      tfl.layers.batchNormalization(),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: seed + 1 }) }),
    ],
  });
}

/** A small functional conv net with Conv2D, BN, a residual add, pooling and Dense. */
export function tinyResidual(seed = 1): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  const input = tfl.input({ shape: [6, 6, 1] });
  const c0 = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1) }).apply(input) as tfl.SymbolicTensor;
  const b0 = tfl.layers.batchNormalization().apply(c0) as tfl.SymbolicTensor;
  const r0 = tfl.layers.reLU().apply(b0) as tfl.SymbolicTensor;
  const c1 = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(2) }).apply(r0) as tfl.SymbolicTensor;
  const add = tfl.layers.add().apply([c1, b0]) as tfl.SymbolicTensor;
  const pool = tfl.layers.averagePooling2d({ poolSize: 2 }).apply(add) as tfl.SymbolicTensor;
  const gap = tfl.layers.globalAveragePooling2d({}).apply(pool) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }).apply(gap) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Seeded toy classification data: labels from a fixed random linear map. */
export function toyData(n: number, featureShape: number[], seed = 7): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, ...featureShape], 0, 1, 'float32', seed);
    const flat = tf.reshape(x, [n, -1]);
    const w = tf.randomNormal([flat.shape[1]!, 3], 0, 1, 'float32', seed + 1);
    const y = tf.oneHot(tf.argMax(tf.matMul(flat, w), 1), 3);
    return { x, y: tf.cast(y, 'float32') };
  });
}

/** All trainable weight values of a model, concatenated. */
export function weightsOf(model: tfl.LayersModel): Float32Array {
  const parts = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A small Sequential conv net: Conv2D → BN → ReLU → AvgPool → Conv2D → BN → GAP → Dense (softmax). */
export function tinyConvSeq(seed = 1, inputShape: number[] = [6, 6, 1]): tfl.Sequential {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 3, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }),
      tfl.layers.batchNormalization(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

/**
 * A functional net whose conv chains feed a residual add with a skip from the input (a 1×1 projection):
 * conv → BN → ReLU → conv → BN → ReLU → conv → add(·, proj(input)) → BN → GAP → Dense.
 */
export function chainResidual(seed = 1, inputShape: number[] = [6, 6, 1]): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  const conv = (filters: number, k: number, size = 3) =>
    tfl.layers.conv2d({ filters, kernelSize: size, padding: 'same', useBias: false, kernelInitializer: init(k) });
  const input = tfl.input({ shape: inputShape });
  let h = conv(2, 1).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU().apply(h) as tfl.SymbolicTensor;
  h = conv(2, 2).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU().apply(h) as tfl.SymbolicTensor;
  h = conv(2, 3).apply(h) as tfl.SymbolicTensor;
  const skip = conv(2, 4, 1).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.add().apply([h, skip]) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** A Sequential MLP: Dense (ReLU) → BN → Dense (tanh) → Dense (softmax), on 8 features. */
export function tinyMlp(seed = 1): tfl.Sequential {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [8], units: 5, activation: 'relu', kernelInitializer: init(1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: init(2) }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

/**
 * A functional MLP with a skip from the input: Dense (ReLU) → BN → Dense → Activation (tanh) → Dense →
 * add(·, Dense(input)) → Dense (softmax), on 8 features.
 */
export function mlpResidual(seed = 1): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });
  const dense = (units: number, k: number, extra: Partial<Parameters<typeof tfl.layers.dense>[0]> = {}) =>
    tfl.layers.dense({ units, kernelInitializer: init(k), ...extra });
  const input = tfl.input({ shape: [8] });
  let h = dense(5, 1, { activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  h = dense(5, 2).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'tanh' }).apply(h) as tfl.SymbolicTensor;
  h = dense(5, 3).apply(h) as tfl.SymbolicTensor;
  const skip = dense(5, 4, { useBias: false }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.add().apply([h, skip]) as tfl.SymbolicTensor;
  const out = dense(3, 5, { activation: 'softmax' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Trains `model` on batches `from` … `to` − 1 of `x`, `y` with `trainOnBatch`, each batch `batch` consecutive rows (wrapping). */
export async function trainBatches(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, from: number, to: number, batch: number): Promise<void> {
  const n = x.shape[0]! / batch;
  for (let b = from; b < to; b++) {
    const start = (b % n) * batch;
    const [xb, yb] = [tf.slice(x, start, batch), tf.slice(y, start, batch)];
    await model.trainOnBatch(xb, yb);
    tf.dispose([xb, yb]);
  }
}
