import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmConv2DBackpropFilter, registerWasmTrainingKernels } from '../src/kernels/conv2d-backprop-filter-wasm.js';
import { createMnistNet } from '../src/paper/mnist-net.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid';

// Gradients are compared as max |wasm − cpu| ≤ REL_TOL · max |cpu| (float32 sums in a different order).
const REL_TOL = 1e-4;
const SHAPE_SEED = 2024; // draws the shape cases
const DATA_SEED = 31; // x, filter and upstream gradient values

let registeredFirst = false;

beforeAll(async () => {
  registeredFirst = registerWasmConv2DBackpropFilter();
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

/** Seeded values in [-1, 1). */
function values(n: number, seed: string): Float32Array {
  const rng = seedrandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() * 2 - 1;
  return out;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Relative error max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  expect(await tf.setBackend(name)).toBe(true);
  return f();
}

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  kernel: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  pad: Pad;
}

function outSize(n: number, k: number, s: number, pad: Pad): number {
  return pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/** Every (kernel, stride, pad) combination, 4 seeded draws of batch 1–3, sizes 5–9, channels 1–4 each. */
function convCases(): ConvCase[] {
  const rng = seedrandom(String(SHAPE_SEED));
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const cases: ConvCase[] = [];
  for (const kernel of [1, 3, 5]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        for (let r = 0; r < 4; r++) {
          cases.push({
            batch: int(1, 3),
            height: int(5, 9),
            width: int(5, 9),
            kernel,
            inChannels: int(1, 4),
            outChannels: int(1, 4),
            stride,
            pad,
          });
        }
      }
    }
  }
  return cases;
}

/** dL/dW of L = Σ conv2d(x, W) ⊙ r through tf.grad (r fixes the upstream gradient dy = r). */
function filterGrad(c: ConvCase, seed: string): Float32Array {
  const xShape: Shape4 = [c.batch, c.height, c.width, c.inChannels];
  const wShape: Shape4 = [c.kernel, c.kernel, c.inChannels, c.outChannels];
  const rShape: Shape4 = [c.batch, outSize(c.height, c.kernel, c.stride, c.pad), outSize(c.width, c.kernel, c.stride, c.pad), c.outChannels];
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(xShape), `${seed}/x`), xShape);
    const w = tf.tensor4d(values(size(wShape), `${seed}/w`), wShape);
    const r = tf.tensor4d(values(size(rShape), `${seed}/r`), rShape);
    const loss = (f: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, c.pad), r));
    return tf.grad(loss)(w).dataSync() as Float32Array;
  });
}

/** Runs the Conv2DBackpropFilter kernel directly (for attrs tf.conv2d cannot reach on wasm). */
function runBackpropFilter(xShape: Shape4, dyShape: Shape4, attrs: Record<string, unknown>, seed: string): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(xShape), `${seed}/x`), xShape);
    const dy = tf.tensor4d(values(size(dyShape), `${seed}/dy`), dyShape);
    const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

describe('registration', () => {
  it('registers once, then returns false (idempotent)', () => {
    expect(registeredFirst).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(registerWasmConv2DBackpropFilter()).toBe(false);
    expect(registerWasmTrainingKernels()).toEqual([]);
  });
});

describe('Conv2DBackpropFilter on wasm matches cpu', () => {
  it(`tf.grad w.r.t. the filter over 48 seeded shapes (seed ${SHAPE_SEED}), all (kernel, stride, pad) combos`, async () => {
    const cases = convCases();
    const wasm = await onBackend('wasm', () => cases.map((c, i) => filterGrad(c, `${DATA_SEED}/${i}`)));
    const cpu = await onBackend('cpu', () => cases.map((c, i) => filterGrad(c, `${DATA_SEED}/${i}`)));
    await tf.setBackend('wasm');
    let worst = 0;
    cases.forEach((c, i) => {
      const err = relErr(wasm[i]!, cpu[i]!);
      worst = Math.max(worst, err);
      expect(err, JSON.stringify(c)).toBeLessThanOrEqual(REL_TOL);
    });
    console.log(`conv grad cases: ${cases.length}, worst relative error ${worst.toExponential(2)}`);
  });

  it('explicit padding, numeric padding with dimRoundingMode, NCHW, cropping and all-padding windows', async () => {
    const specs: { xShape: Shape4; dyShape: Shape4; attrs: Record<string, unknown> }[] = [
      {
        // H: (7 + 1 + 2 − 3)/2 + 1 = 4, W: (6 + 0 + 1 − 2)/1 + 1 = 6
        xShape: [2, 7, 6, 3],
        dyShape: [2, 4, 6, 2],
        attrs: { strides: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]], dataFormat: 'NHWC', filterShape: [3, 2, 3, 2] },
      },
      {
        // pad 1, ceil((8 + 2 − 3)/2 + 1) = ceil(4.5) = 5: the last window runs past the padded image.
        xShape: [1, 8, 8, 2],
        dyShape: [1, 5, 5, 3],
        attrs: { strides: 2, pad: 1, dimRoundingMode: 'ceil', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] },
      },
      {
        // NCHW, 'same', stride 2: out ceil(9/2) = 5, ceil(7/2) = 4.
        xShape: [2, 3, 9, 7],
        dyShape: [2, 4, 5, 4],
        attrs: { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] },
      },
      {
        // 'valid', stride 3: H out (9 − 3)/3 + 1 = 3 reads (3 − 1)·3 + 3 = 9 of 9 rows; W out ⌊(8 − 3)/3⌋ + 1 = 2
        // reads (2 − 1)·3 + 3 = 6 of 8 columns, so the kernel slices x.
        xShape: [3, 9, 8, 2],
        dyShape: [3, 3, 2, 2],
        attrs: { strides: 3, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 2] },
      },
      {
        // Top padding 5, stride 10: the single output row reads only padding, so dW is exactly zero.
        xShape: [1, 2, 3, 2],
        dyShape: [1, 1, 1, 2],
        attrs: { strides: 10, pad: [[0, 0], [5, 0], [0, 0], [0, 0]], dataFormat: 'NHWC', filterShape: [1, 1, 2, 2] },
      },
    ];
    const run = (): Float32Array[] => specs.map((s, i) => runBackpropFilter(s.xShape, s.dyShape, s.attrs, `${DATA_SEED}/direct/${i}`));
    const wasm = await onBackend('wasm', run);
    const cpu = await onBackend('cpu', run);
    await tf.setBackend('wasm');
    specs.forEach((s, i) => expect(relErr(wasm[i]!, cpu[i]!), JSON.stringify(s.attrs)).toBeLessThanOrEqual(REL_TOL));
    expect(Array.from(wasm[specs.length - 1]!)).toEqual([0, 0, 0, 0]);
  });

  it('rejects dilations ≠ 1, a bad dataFormat and a dy that does not match the forward output', () => {
    const x = tf.zeros([1, 5, 5, 2]);
    const dy = tf.zeros([1, 5, 5, 3]);
    const base = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
    const run = (attrs: Record<string, unknown>, d: tf.Tensor = dy) => () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: d }, attrs as unknown as tf.NamedAttrMap);
    expect(run({ ...base, dilations: [2, 2] })).toThrow(/dilations other than 1/);
    expect(run({ ...base, dataFormat: 'NDHWC' })).toThrow(/dataFormat must be/);
    expect(run({ ...base, pad: 'valid' })).toThrow(/does not match the forward output/);
    expect(run({ ...base, filterShape: [3, 3, 4, 3] })).toThrow(/filterShape\[2\]/);
    tf.dispose([x, dy]);
  });
});

describe('memory', () => {
  it('keeps numTensors, backend data ids and the wasm heap flat across calls', () => {
    const c: ConvCase = { batch: 3, height: 9, width: 8, kernel: 3, inChannels: 4, outChannels: 3, stride: 2, pad: 'same' };
    filterGrad(c, 'warm-up');
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) filterGrad(c, `leak/${i}`);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);

    // XNNPACK caches an operator (with packed weights) per filter tensor; it is freed only when that
    // tensor's data is disposed. Each call packs a new 16·16·64·8 filter (256 KiB), so 40 leaked operators
    // would grow the heap by ≥ 10 MiB.
    const heap = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const x = tf.tensor4d(values(64 * 16 * 16 * 8, 'heap/x'), [64, 16, 16, 8]);
    const dy = tf.tensor4d(values(64 * 16 * 16 * 8, 'heap/dy'), [64, 16, 16, 8]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 8] } as unknown as tf.NamedAttrMap;
    const call = (): void => tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor);
    call();
    const heapBefore = heap();
    for (let i = 0; i < 40; i++) call();
    expect(heap()).toBe(heapBefore);
    tf.dispose([x, dy]);
  });
});

describe('training a conv net with model.fit on wasm', () => {
  const TRAIN_SEED = 5; // weights (heNormal seeds TRAIN_SEED, TRAIN_SEED + 1)
  const TOY_SEED = 'stripes/9'; // toy images
  const LR = 0.5;

  /** Horizontal (class 0) or vertical (class 1) stripes of random phase, plus noise: 8×8×1. */
  function stripes(n: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
    const rng = seedrandom(TOY_SEED);
    const img = new Float32Array(n * 64);
    const lab = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const vertical = i % 2;
      const phase = Math.floor(rng() * 2);
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 8; c++) {
          const on = ((vertical ? c : r) + phase) % 2;
          img[i * 64 + r * 8 + c] = on + 0.3 * (rng() * 2 - 1);
        }
      }
      lab[i * 2 + vertical] = 1;
    }
    return { x: tf.tensor4d(img, [n, 8, 8, 1]), y: tf.tensor2d(lab, [n, 2]) };
  }

  function convNet(): tfl.Sequential {
    return tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: tfl.initializers.heNormal({ seed: TRAIN_SEED }),
        }),
        tfl.layers.batchNormalization(),
        tfl.layers.reLU(),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: TRAIN_SEED + 1 }) }),
      ],
    });
  }

  it('fails without the kernel and trains (loss decreases) with it', async () => {
    await tf.setBackend('wasm');
    const { x, y } = stripes(64);
    const fitArgs = { batchSize: 16, epochs: 6, shuffle: false, verbose: 0 as const };

    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    try {
      const bare = convNet();
      bare.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      await expect(bare.fit(x, y, { ...fitArgs, epochs: 1 })).rejects.toThrow(/Conv2DBackpropFilter/);
      bare.dispose();
    } finally {
      expect(registerWasmTrainingKernels()).toEqual(['Conv2DBackpropFilter']);
    }

    const train = async (): Promise<number[]> => {
      const model = convNet();
      model.compile({ optimizer: tf.train.sgd(LR), loss: 'categoricalCrossentropy' });
      const history = await model.fit(x, y, fitArgs);
      model.dispose();
      return history.history['loss'] as number[];
    };
    const loss = await train();
    console.log(`toy conv net on wasm, loss per epoch: ${loss.map((l) => l.toFixed(4)).join(' → ')}`);
    expect(loss.every(Number.isFinite)).toBe(true);
    for (let e = 1; e < loss.length; e++) expect(loss[e]!).toBeLessThan(loss[e - 1]!);
    expect(loss[loss.length - 1]!).toBeLessThan(0.5 * loss[0]!);

    // The same run on cpu (stock kernels) gives the same losses, up to float32 rounding.
    const cpuLoss = await onBackend('cpu', train);
    await tf.setBackend('wasm');
    expect(relErr(loss, cpuLoss)).toBeLessThan(1e-3);
    tf.dispose([x, y]);
  });
});

describe('paper MNIST network', () => {
  const NET_SEED = 13; // createMnistNet weights
  const BATCH_SEED = 'mnist-net/batch';
  const MNIST_BATCH = 4; // small: the cpu backend runs this network slowly

  /** Gradient of the mean cross-entropy w.r.t. block0_conv's kernel, BN in training mode. */
  function firstConvGrad(weights: Float32Array[], batch: number): Float32Array {
    const model = createMnistNet({ seed: NET_SEED });
    const init = weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape));
    model.setWeights(init);
    tf.dispose(init);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(values(batch * 784, `${BATCH_SEED}/x`), [batch, 28, 28, 1]);
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7) % 10), 'int32'), 10);
      const kernel = model.getLayer('block0_conv').trainableWeights[0]!.read() as tf.Variable;
      const { grads } = tf.variableGrads(
        () => tf.mean(tfl.metrics.categoricalCrossentropy(labels, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        [kernel],
      );
      return grads[kernel.name]!.dataSync() as Float32Array;
    });
    model.dispose();
    return out;
  }

  it(`first-conv gradient at batch ${MNIST_BATCH} matches cpu`, async () => {
    const weights = await onBackend('wasm', () => {
      const m = createMnistNet({ seed: NET_SEED });
      const w = m.getWeights().map((t) => t.dataSync().slice() as Float32Array);
      m.dispose();
      return w;
    });
    const before = tf.memory().numTensors;
    const wasm = firstConvGrad(weights, MNIST_BATCH);
    expect(tf.memory().numTensors).toBe(before);
    const cpu = await onBackend('cpu', () => firstConvGrad(weights, MNIST_BATCH));
    await tf.setBackend('wasm');
    const err = relErr(wasm, cpu);
    console.log(`MNIST net block0_conv gradient, batch ${MNIST_BATCH}: relative error wasm vs cpu ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(REL_TOL);
  });
});
