/**
 * The paper's CIFAR-10 network: 9 conv blocks with residual skips, global average pooling, a 10-way
 * dense layer.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { layerSeed } from './layer-seed.js';

/**
 * Parameter counts of the paper's CIFAR-10 network ({@link createCifarNet}).
 *
 * @remarks
 * conv 3×3 = 3·3·3·16 + 2 · 3·3·16·16 + 3·3·16·32 + 5 · 3·3·32·32 = 432 + 4,608 + 4,608 + 46,080 = 55,728;
 * skip 1×1 conv = 16·32 = 512; dense = 32·10 = 320; weights = 55,728 + 512 + 320 = 56,560.
 * batch norm (gamma + beta) = 2 · (3·16 + 6·32) + 2 · 32 (skip BN) = 480 + 64 = 544;
 * searched = 56,560 + 544 = 57,104.
 * @see arXiv:2005.05955
 *
 * @example
 * ```ts
 * const model = createCifarNet({ seed: 1 });
 * model.countParams() - CIFAR_NET_COUNTS.batchNorm === CIFAR_NET_COUNTS.searched; // moving stats = 544 too
 * ```
 */
export const CIFAR_NET_COUNTS = {
  // arXiv:2005.05955, Sec. 4 (CIFAR-10 network), and the authors' script
  /** 3×3 conv kernel scalars of the 9 blocks. */
  conv: 55_728,
  /** 1×1 conv kernel scalars of the skip into block 4. */
  skipConv: 512,
  /** Dense kernel scalars. */
  dense: 320,
  /** All conv + dense kernel scalars ("weights" in the paper). */
  weights: 56_560,
  /** Batch-norm gamma + beta scalars, the skip's BN included. */
  batchNorm: 544,
  /** Every trainable scalar, the number RSO visits per cycle. */
  searched: 57_104,
} as const;

/** Options of {@link createCifarNet}. */
export interface CifarNetOptions {
  /**
   * Seed of the He-normal kernel initialisers, a safe integer. Each layer gets its own seed derived from
   * it, so the same seed gives identical initial weights. Omitted: tfjs draws unseeded weights.
   */
  seed?: number;
}

// arXiv:2005.05955, CIFAR-10 network, as in the authors' script.
const FILTERS: readonly number[] = [16, 16, 16, 32, 32, 32, 32, 32, 32];
const POOL_AFTER: ReadonlySet<number> = new Set([2, 4]);
/** Receiving block → source block of each skip. */
const SKIP_FROM: ReadonlyMap<number, number> = new Map([
  [2, 0],
  [4, 2],
  [6, 4],
  [8, 6],
]);
// CIFAR-10 input and classes: www.cs.toronto.edu/~kriz/cifar.html.
const INPUT_SHAPE = [32, 32, 3];
const CLASSES = 10;
// tfjs-layers BatchNormalization defaults (tfjs-layers/src/layers/normalization.ts), passed explicitly so
// that they are visible; they are not the authors' PyTorch values (momentum 0.1 ≙ 0.9 here, eps 1e-5).
const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;

/**
 * Builds the paper's CIFAR-10 residual network as a tfjs functional model.
 *
 * @param options - `seed` for deterministic initial weights.
 * @returns An uncompiled `LayersModel` mapping `[n, 32, 32, 3]` images to `[n, 10]` softmax probabilities.
 * @throws RangeError if `seed` is not a safe integer.
 *
 * @remarks
 * Block i: (ReLU if i > 0) → 3×3 conv, stride 1, same padding, no bias, He normal → [+ skip] →
 * [2×2 average pool, stride 2, after blocks 2 and 4] → batch norm (gamma 1, beta 0). Filters
 * [16,16,16,32,32,32,32,32,32]. Then global average pool → dense 10, no bias, He normal, softmax.
 *
 * Skip wiring (our reading of the card; it is the only one whose shapes fit). A block's output is its BN
 * output (pre-ReLU), and a skip adds the source block's output to the receiving block's conv output,
 * before that block's pool and BN:
 * - block 2 (32×32×16) adds block 0's output (32×32×16); the sum is then pooled to 16×16;
 * - block 4 (16×16×32) adds block 2's output (16×16×16, already pooled by block 2) through a 1×1 conv
 *   16→32 (no bias, He normal) + BN; the sum is then pooled to 8×8. The skip itself is not pooled
 *   separately: it is already at block 4's pre-pool resolution;
 * - block 6 (8×8×32) adds block 4's output; block 8 (8×8×32) adds block 6's output.
 * Pooling has no parameters, so the counts do not depend on where it sits: 56,560 weights and 57,104
 * searched scalars ({@link CIFAR_NET_COUNTS}).
 *
 * Layer names: `block{i}_relu`, `block{i}_conv`, `block{i}_add`, `block{i}_pool`, `block{i}_bn`,
 * `block4_skip_conv`, `block4_skip_bn`, `gap`, `logits` (the dense layer; it applies the softmax).
 * He normal is tfjs's `heNormal` (truncated at 2 std, so the drawn std is about 0.88 · sqrt(2 / fanIn)).
 * @see arXiv:2005.05955
 *
 * @example
 * ```ts
 * const model = createCifarNet({ seed: 42 });
 * const probs = model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor; // [2, 10]
 * ```
 */
export function createCifarNet(options: CifarNetOptions = {}): tfl.LayersModel {
  const seed = options.seed;
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw new RangeError(`createCifarNet: options.seed must be a safe integer, got ${String(seed)}`);
  }
  let seedIndex = 0;
  const kernelInit = (): ReturnType<typeof tfl.initializers.heNormal> =>
    tfl.initializers.heNormal({ seed: seed === undefined ? undefined : layerSeed(seed, seedIndex++) });
  const batchNorm = (name: string): tfl.layers.Layer =>
    tfl.layers.batchNormalization({
      gammaInitializer: 'ones',
      betaInitializer: 'zeros',
      momentum: BN_MOMENTUM,
      epsilon: BN_EPSILON,
      name,
    });

  const input = tfl.input({ shape: INPUT_SHAPE, name: 'input' });
  const outputs: SymbolicTensor[] = [];
  let h: SymbolicTensor = input;
  FILTERS.forEach((filters, i) => {
    if (i > 0) {
      h = apply(tfl.layers.activation({ activation: 'relu', name: `block${i}_relu` }), h);
    }
    h = apply(
      tfl.layers.conv2d({
        filters,
        kernelSize: 3,
        strides: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: kernelInit(),
        name: `block${i}_conv`,
      }),
      h,
    );
    const from = SKIP_FROM.get(i);
    if (from !== undefined) {
      let skip = outputs[from] as SymbolicTensor;
      const skipChannels = FILTERS[from] as number;
      if (skipChannels !== filters) {
        skip = apply(
          tfl.layers.conv2d({
            filters,
            kernelSize: 1,
            strides: 1,
            padding: 'same',
            useBias: false,
            kernelInitializer: kernelInit(),
            name: `block${i}_skip_conv`,
          }),
          skip,
        );
        skip = apply(batchNorm(`block${i}_skip_bn`), skip);
      }
      h = tfl.layers.add({ name: `block${i}_add` }).apply([h, skip]) as SymbolicTensor;
    }
    if (POOL_AFTER.has(i)) {
      h = apply(tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `block${i}_pool` }), h);
    }
    h = apply(batchNorm(`block${i}_bn`), h);
    outputs.push(h);
  });
  h = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), h);
  const probs = apply(
    tfl.layers.dense({
      units: CLASSES,
      useBias: false,
      kernelInitializer: kernelInit(),
      activation: 'softmax',
      name: 'logits',
    }),
    h,
  );
  return tfl.model({ inputs: input, outputs: probs, name: 'cifar_net' });
}

function apply(layer: tfl.layers.Layer, x: SymbolicTensor): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}
