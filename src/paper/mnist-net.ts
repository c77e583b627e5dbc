/**
 * The paper's MNIST network: 6 conv blocks of 16 filters, global average pooling, a 10-way dense layer.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { layerSeed } from './layer-seed.js';

/**
 * Parameter counts of the paper's MNIST network (the default {@link createMnistNet}).
 *
 * @remarks
 * conv = 3·3·1·16 + 5 · 3·3·16·16 = 144 + 11,520 = 11,664; dense = 16·10 = 160;
 * batch norm = 6 · (16 gamma + 16 beta) = 192; searched = 11,824 + 192 = 12,016.
 * @see arXiv:2005.05955
 *
 * @example
 * ```ts
 * const model = createMnistNet({ seed: 1 });
 * model.countParams() - 6 * 2 * 16 === MNIST_NET_COUNTS.searched; // BN moving mean/variance are not searched
 * ```
 */
export const MNIST_NET_COUNTS = {
  // arXiv:2005.05955, Sec. 4 (MNIST network), and the authors' script
  /** Conv kernel scalars. */
  conv: 11_664,
  /** Dense kernel scalars. */
  dense: 160,
  /** Conv + dense kernel scalars ("weights" in the paper). */
  weights: 11_824,
  /** Batch-norm gamma + beta scalars. */
  batchNorm: 192,
  /** Every trainable scalar, the number RSO visits per cycle. */
  searched: 12_016,
} as const;

/** Options of {@link createMnistNet}. */
export interface MnistNetOptions {
  /**
   * Seed of the He-normal kernel initialisers, a safe integer. Each layer gets its own seed derived from
   * it, so the same seed gives identical initial weights. Omitted: tfjs draws unseeded weights.
   */
  seed?: number;
  /** Filters per conv layer (paper: 16). */
  filters?: number;
  /** Number of conv blocks (paper: 6). Pools follow blocks 1 and 3 when they exist. */
  blocks?: number;
}

// arXiv:2005.05955, MNIST network: 16 filters, 6 blocks, 2x2 average pool after blocks 1 and 3 (0-based).
const PAPER_FILTERS = 16;
const PAPER_BLOCKS = 6;
const POOL_AFTER: ReadonlySet<number> = new Set([1, 3]);
// MNIST input and classes: yann.lecun.com/exdb/mnist.
const INPUT_SHAPE = [28, 28, 1];
const CLASSES = 10;
// tfjs-layers BatchNormalization defaults (tfjs-layers/src/layers/normalization.ts), passed explicitly so
// that they are visible; they are not the authors' PyTorch values (momentum 0.1 ≙ 0.9 here, eps 1e-5).
const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;

/**
 * Builds the paper's MNIST network as a tfjs Sequential model.
 *
 * @param options - `seed` for deterministic initial weights; `filters` and `blocks` to vary the size
 *   (defaults are the paper's 16 and 6).
 * @returns An uncompiled `LayersModel` mapping `[n, 28, 28, 1]` images to `[n, 10]` softmax probabilities.
 * @throws RangeError if `seed` is not a safe integer or `filters` / `blocks` are not positive integers.
 *
 * @remarks
 * Block i: (ReLU if i > 0) → 3×3 conv, stride 1, same padding, no bias, He normal → (2×2 average pool,
 * stride 2, after blocks 1 and 3) → batch norm (gamma 1, beta 0). Then global average pool (no ReLU
 * before it) → dense 10, no bias, He normal, softmax. Layer names: `block{i}_relu`, `block{i}_conv`,
 * `block{i}_pool`, `block{i}_bn`, `gap`, `logits` (the dense layer; it applies the softmax).
 * With the defaults the counts are {@link MNIST_NET_COUNTS}: 11,824 kernel weights, 12,016 searched scalars.
 *
 * He normal here is tfjs's `heNormal`: a normal with std sqrt(2 / fanIn) truncated at 2 std, so the
 * drawn weights' std is about 0.88 · sqrt(2 / fanIn) (the authors' PyTorch init is untruncated).
 * @see arXiv:2005.05955
 *
 * @example
 * ```ts
 * const model = createMnistNet({ seed: 42 });
 * const probs = model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor; // [2, 10]
 * ```
 */
export function createMnistNet(options: MnistNetOptions = {}): tfl.LayersModel {
  const seed = checkSeed(options.seed);
  const filters = checkPositiveInt('filters', options.filters ?? PAPER_FILTERS);
  const blocks = checkPositiveInt('blocks', options.blocks ?? PAPER_BLOCKS);

  let seedIndex = 0;
  const kernelInit = (): ReturnType<typeof tfl.initializers.heNormal> =>
    tfl.initializers.heNormal({ seed: seed === undefined ? undefined : layerSeed(seed, seedIndex++) });

  const model = tfl.sequential({ name: 'mnist_net' });
  for (let i = 0; i < blocks; i++) {
    if (i > 0) {
      model.add(tfl.layers.activation({ activation: 'relu', name: `block${i}_relu` }));
    }
    model.add(
      tfl.layers.conv2d({
        ...(i === 0 ? { inputShape: INPUT_SHAPE } : {}),
        filters,
        kernelSize: 3,
        strides: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: kernelInit(),
        name: `block${i}_conv`,
      }),
    );
    if (POOL_AFTER.has(i)) {
      model.add(tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `block${i}_pool` }));
    }
    model.add(
      tfl.layers.batchNormalization({
        gammaInitializer: 'ones',
        betaInitializer: 'zeros',
        momentum: BN_MOMENTUM,
        epsilon: BN_EPSILON,
        name: `block${i}_bn`,
      }),
    );
  }
  model.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
  model.add(
    tfl.layers.dense({
      units: CLASSES,
      useBias: false,
      kernelInitializer: kernelInit(),
      activation: 'softmax',
      name: 'logits',
    }),
  );
  return model;
}

function checkSeed(seed: number | undefined): number | undefined {
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw new RangeError(`createMnistNet: options.seed must be a safe integer, got ${String(seed)}`);
  }
  return seed;
}

function checkPositiveInt(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`createMnistNet: options.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
