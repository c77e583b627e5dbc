/**
 * Model builders of the equivalence rows for shared layers, reused sub-models and regularizers. Every builder
 * is seeded, so two calls with the same seed give the same initial weights.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import '../src/index.js';

type Sym = tfl.SymbolicTensor;
const he = (seed: number, k: number) => tfl.initializers.heNormal({ seed: seed * 10 + k });

/**
 * A functional MLP on 8 features whose Dense layer `shared` is called twice:
 * Dense (ReLU) → Dense (ReLU) → shared (tanh) → BN → shared (tanh) → Dense (softmax).
 */
export function sharedDenseMlp(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [8] });
  let h = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(seed, 1) }).apply(input) as Sym;
  h = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(seed, 2) }).apply(h) as Sym;
  const shared = tfl.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: he(seed, 3)});
  h = shared.apply(h) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = shared.apply(h) as Sym;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(seed, 4) }).apply(h) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * A functional conv net on 6×6×1 inputs whose Conv2D layer `shared` is called twice:
 * conv → BN → ReLU → conv → ReLU → shared → BN → ReLU → shared → GAP → Dense (softmax).
 */
export function sharedConvNet(seed = 1): tfl.LayersModel {
  const conv = (k: number, extra: Partial<Parameters<typeof tfl.layers.conv2d>[0]> = {}) =>
    tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: he(seed, k), ...extra });
  const input = tfl.input({ shape: [6, 6, 1] });
  let h = conv(1).apply(input) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = tfl.layers.reLU().apply(h) as Sym;
  h = conv(2, { useBias: true }).apply(h) as Sym;
  h = tfl.layers.reLU().apply(h) as Sym;
  const shared = conv(3);
  h = shared.apply(h) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = tfl.layers.reLU().apply(h) as Sym;
  h = shared.apply(h) as Sym;
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as Sym;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(seed, 4) }).apply(h) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * A functional MLP on 8 features that calls a sub-model twice, and calls the sub-model's first Dense layer
 * once more on its own: Dense (ReLU) → inner → BN → sub → sub → Dense (softmax), where sub is
 * inner (ReLU) → BN → Dense (tanh).
 */
export function reusedSubModel(seed = 1): tfl.LayersModel {
  const inner = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(seed, 1)});
  const subInput = tfl.input({ shape: [5] });
  let s = inner.apply(subInput) as Sym;
  s = tfl.layers.batchNormalization().apply(s) as Sym;
  s = tfl.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: he(seed, 2) }).apply(s) as Sym;
  const sub = tfl.model({ inputs: subInput, outputs: s});
  const input = tfl.input({ shape: [8] });
  let h = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(seed, 3) }).apply(input) as Sym;
  h = inner.apply(h) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = sub.apply(h) as Sym;
  h = sub.apply(h) as Sym;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(seed, 4) }).apply(h) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * A Sequential conv net with kernel and bias regularizers, on 6×6×1 inputs: conv (L2 kernel) → BN → ReLU →
 * AvgPool → conv (L1L2 kernel, L2 bias) → BN → GAP → Dense (softmax, L2 kernel, L1L2 bias).
 */
export function regularizedConvNet(seed = 1): tfl.Sequential {
  const l2 = tfl.regularizers.l2({ l2: 0.02 });
  const l1l2 = tfl.regularizers.l1l2({ l1: 0.01, l2: 0.01 });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: he(seed, 1), kernelRegularizer: l2 }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: he(seed, 2), kernelRegularizer: l1l2, biasRegularizer: l2 }),
      tfl.layers.batchNormalization(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(seed, 3), kernelRegularizer: l2, biasRegularizer: l1l2 }),
    ],
  });
}

/**
 * A functional MLP with kernel and bias regularizers, on 8 features: Dense (ReLU, L1L2 kernel, L2 bias) → BN →
 * Dense (tanh, L2 kernel) → Dense (softmax, L1L2 kernel and bias).
 */
export function regularizedMlp(seed = 1): tfl.LayersModel {
  const l2 = tfl.regularizers.l2({ l2: 0.02 });
  const l1l2 = tfl.regularizers.l1l2({ l1: 0.01, l2: 0.01 });
  const input = tfl.input({ shape: [8] });
  let h = tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: he(seed, 1), kernelRegularizer: l1l2, biasRegularizer: l2 }).apply(input) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  h = tfl.layers.dense({ units: 4, activation: 'tanh', kernelInitializer: he(seed, 2), kernelRegularizer: l2 }).apply(h) as Sym;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: he(seed, 3), kernelRegularizer: l1l2, biasRegularizer: l1l2 }).apply(h) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * Disposes a model and every weight it holds. `model.dispose()` alone keeps the weights of a layer called more
 * than once (tfjs counts one reference per call and releases one per model), which would read as a leak.
 */
export function disposeModel(model: tfl.LayersModel): void {
  const weights = model.weights;
  model.dispose();
  for (const w of weights) {
    try {
      w.dispose();
    } catch {
      // Already freed with its layer.
    }
  }
}
