import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CIFAR_NET_COUNTS, createCifarNet } from '../src/paper/cifar-net.js';
import { MNIST_NET_COUNTS, createMnistNet } from '../src/paper/mnist-net.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Counts {
  conv: number;
  dense: number;
  batchNorm: number;
  trainable: number;
}

/** Trainable scalars by layer class, read from the layers' own weights. */
function countScalars(model: tfl.LayersModel): Counts {
  const counts: Counts = { conv: 0, dense: 0, batchNorm: 0, trainable: 0 };
  for (const layer of model.layers) {
    const n = layer.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? Number.NaN), 1), 0);
    const kind = layer.getClassName();
    if (kind === 'Conv2D') counts.conv += n;
    else if (kind === 'Dense') counts.dense += n;
    else if (kind === 'BatchNormalization') counts.batchNorm += n;
    else expect(n, `unexpected trainable weights in ${layer.name}`).toBe(0);
    counts.trainable += n;
  }
  return counts;
}

function weightValues(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function layerKernel(model: tfl.LayersModel, name: string): Float32Array {
  return model.getLayer(name).getWeights()[0]?.dataSync() as Float32Array;
}

function std(values: Float32Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

/** Runs a seeded batch of 2 through the model in inference mode; returns the probabilities. */
function forward(model: tfl.LayersModel, shape: [number, number, number]): { shape: number[]; values: number[] } {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, ...shape], 0, 1, 'float32', 7); // seed 7
    const y = model.predict(x) as tf.Tensor;
    return { shape: y.shape, values: Array.from(y.dataSync()) };
  });
}

function inboundNames(model: tfl.LayersModel, name: string): string[] {
  return model.getLayer(name).inboundNodes[0]?.inboundLayers.map((l) => l.name) ?? [];
}

describe('createMnistNet', () => {
  it('has the paper counts: 11,664 conv + 160 dense = 11,824 weights, 12,016 searched', () => {
    const model = createMnistNet({ seed: 1 });
    // 3*3*1*16 + 5 * 3*3*16*16 = 144 + 11520; dense 16*10; BN 6 * (16 + 16)
    expect(countScalars(model)).toEqual({ conv: 11_664, dense: 160, batchNorm: 192, trainable: 12_016 });
    expect(MNIST_NET_COUNTS).toEqual({ conv: 11_664, dense: 160, weights: 11_824, batchNorm: 192, searched: 12_016 });
    // moving mean/variance (192) are the only non-trainable weights
    expect(model.countParams()).toBe(12_016 + 192);
    model.dispose();
  });

  it('has the block structure, names and shapes of the card', () => {
    const model = createMnistNet({ seed: 1 });
    const names = model.layers.map((l) => l.name);
    expect(names).toEqual([
      'block0_conv', 'block0_bn',
      'block1_relu', 'block1_conv', 'block1_pool', 'block1_bn',
      'block2_relu', 'block2_conv', 'block2_bn',
      'block3_relu', 'block3_conv', 'block3_pool', 'block3_bn',
      'block4_relu', 'block4_conv', 'block4_bn',
      'block5_relu', 'block5_conv', 'block5_bn',
      'gap', 'logits',
    ]);
    expect(model.inputs[0]?.shape).toEqual([null, 28, 28, 1]);
    expect(model.getLayer('block1_pool').outputShape).toEqual([null, 14, 14, 16]);
    expect(model.getLayer('block5_bn').outputShape).toEqual([null, 7, 7, 16]);
    expect(model.outputs[0]?.shape).toEqual([null, 10]);
    const conv = model.getLayer('block3_conv').getConfig();
    expect([conv.kernelSize, conv.strides, conv.padding, conv.useBias]).toEqual([[3, 3], [1, 1], 'same', false]);
    const bn = model.getLayer('block0_bn').getConfig();
    expect([bn.momentum, bn.epsilon]).toEqual([0.99, 1e-3]);
    const logits = model.getLayer('logits').getConfig();
    expect([logits.units, logits.useBias, logits.activation]).toEqual([10, false, 'softmax']);
    model.dispose();
  });

  it('initialises kernels He-normal and BN to gamma 1, beta 0', () => {
    const model = createMnistNet({ seed: 3 });
    // tfjs heNormal: N(0, sqrt(2/fanIn)) truncated at 2 std, whose std is 0.8796 * sqrt(2/fanIn).
    // block1..5 conv fanIn = 3*3*16 = 144: 0.8796 * 0.11785 = 0.10366; 5 * 2304 samples pooled
    const deep = new Float32Array(5 * 2304);
    for (let i = 1; i < 6; i++) deep.set(layerKernel(model, `block${i}_conv`), (i - 1) * 2304);
    expect(std(deep)).toBeGreaterThan(0.10366 * 0.95);
    expect(std(deep)).toBeLessThan(0.10366 * 1.05);
    const [gamma, beta, movingMean, movingVar] = model.getLayer('block2_bn').getWeights().map((w) => Array.from(w.dataSync()));
    expect(gamma).toEqual(new Array(16).fill(1));
    expect(beta).toEqual(new Array(16).fill(0));
    expect(movingMean).toEqual(new Array(16).fill(0));
    expect(movingVar).toEqual(new Array(16).fill(1));
    model.dispose();
  });

  it('runs a batch of 2 to [2, 10] probabilities', () => {
    const model = createMnistNet({ seed: 1 });
    const { shape, values } = forward(model, [28, 28, 1]);
    expect(shape).toEqual([2, 10]);
    expect(values.every((v) => Number.isFinite(v) && v > 0 && v < 1)).toBe(true);
    expect(values.slice(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(values.slice(10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // two different inputs give different outputs
    expect(values.slice(0, 10)).not.toEqual(values.slice(10));
    model.dispose();
  });

  it('same seed gives identical weights, a different seed different ones, layers differ from each other', () => {
    const a = createMnistNet({ seed: 42 });
    const b = createMnistNet({ seed: 42 });
    const c = createMnistNet({ seed: 43 });
    const wa = weightValues(a);
    expect(weightValues(b)).toEqual(wa);
    expect(weightValues(c)).not.toEqual(wa);
    expect(layerKernel(c, 'block0_conv')).not.toEqual(layerKernel(a, 'block0_conv'));
    expect(layerKernel(c, 'logits')).not.toEqual(layerKernel(a, 'logits'));
    // per-layer seeds: two same-shape layers of one model do not repeat each other's draw
    expect(layerKernel(a, 'block1_conv')).not.toEqual(layerKernel(a, 'block2_conv'));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('seed 0 is deterministic too (tfjs treats a raw seed of 0 as unseeded)', () => {
    const a = createMnistNet({ seed: 0 });
    const b = createMnistNet({ seed: 0 });
    expect(weightValues(b)).toEqual(weightValues(a));
    a.dispose();
    b.dispose();
  });

  it('honours filters and blocks', () => {
    const model = createMnistNet({ seed: 1, filters: 8, blocks: 2 });
    // conv 3*3*1*8 + 3*3*8*8 = 72 + 576; dense 8*10; BN 2 * (8 + 8)
    expect(countScalars(model)).toEqual({ conv: 648, dense: 80, batchNorm: 32, trainable: 760 });
    expect(model.getLayer('block1_pool').outputShape).toEqual([null, 14, 14, 8]);
    model.dispose();
  });

  it('rejects bad options, quoting the value', () => {
    expect(() => createMnistNet({ seed: 1.5 })).toThrow('options.seed must be a safe integer, got 1.5');
    expect(() => createMnistNet({ filters: 0 })).toThrow(RangeError);
    expect(() => createMnistNet({ blocks: -1 })).toThrow('options.blocks must be a positive integer, got -1');
  });

  it('leaks no tensors when built and disposed', () => {
    createMnistNet({ seed: 5 }).dispose(); // warm-up: first use may cache backend scalars
    const before = tf.memory().numTensors;
    const model = createMnistNet({ seed: 5 });
    expect(tf.memory().numTensors).toBe(before + 6 * 5 + 1); // per block conv + 4 BN tensors, + dense
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('createCifarNet', () => {
  it('has the paper counts: 56,560 weights, 57,104 searched', () => {
    const model = createCifarNet({ seed: 1 });
    // conv 55,728 (3x3) + 512 (1x1 skip) = 56,240; dense 32*10 = 320; BN 480 + 64 (skip BN)
    expect(countScalars(model)).toEqual({ conv: 56_240, dense: 320, batchNorm: 544, trainable: 57_104 });
    expect(CIFAR_NET_COUNTS.conv + CIFAR_NET_COUNTS.skipConv + CIFAR_NET_COUNTS.dense).toBe(CIFAR_NET_COUNTS.weights);
    expect(CIFAR_NET_COUNTS.weights).toBe(56_560);
    expect(CIFAR_NET_COUNTS.weights + CIFAR_NET_COUNTS.batchNorm).toBe(CIFAR_NET_COUNTS.searched);
    expect(CIFAR_NET_COUNTS.searched).toBe(57_104);
    expect(model.countParams()).toBe(57_104 + 544);
    model.dispose();
  });

  it('wires the skips after the conv and before the pool and BN of the receiving block', () => {
    const model = createCifarNet({ seed: 1 });
    expect(inboundNames(model, 'block2_add')).toEqual(['block2_conv', 'block0_bn']);
    expect(inboundNames(model, 'block4_skip_conv')).toEqual(['block2_bn']);
    expect(inboundNames(model, 'block4_skip_bn')).toEqual(['block4_skip_conv']);
    expect(inboundNames(model, 'block4_add')).toEqual(['block4_conv', 'block4_skip_bn']);
    expect(inboundNames(model, 'block6_add')).toEqual(['block6_conv', 'block4_bn']);
    expect(inboundNames(model, 'block8_add')).toEqual(['block8_conv', 'block6_bn']);
    expect(inboundNames(model, 'block2_pool')).toEqual(['block2_add']);
    expect(inboundNames(model, 'block4_pool')).toEqual(['block4_add']);
    expect(inboundNames(model, 'block6_bn')).toEqual(['block6_add']);
    expect(inboundNames(model, 'block5_relu')).toEqual(['block4_bn']);
    expect(inboundNames(model, 'gap')).toEqual(['block8_bn']); // no ReLU before the GAP
    expect(model.layers.filter((l) => l.getClassName() === 'Add').map((l) => l.name)).toEqual([
      'block2_add', 'block4_add', 'block6_add', 'block8_add',
    ]);
    expect(model.layers.filter((l) => l.getClassName() === 'AveragePooling2D').map((l) => l.name)).toEqual([
      'block2_pool', 'block4_pool',
    ]);
    // shapes: skips join at the receiving block's pre-pool resolution
    expect(model.getLayer('block2_add').outputShape).toEqual([null, 32, 32, 16]);
    expect(model.getLayer('block4_skip_conv').outputShape).toEqual([null, 16, 16, 32]);
    expect(model.getLayer('block4_add').outputShape).toEqual([null, 16, 16, 32]);
    expect(model.getLayer('block4_bn').outputShape).toEqual([null, 8, 8, 32]);
    expect(model.getLayer('block8_add').outputShape).toEqual([null, 8, 8, 32]);
    const skip = model.getLayer('block4_skip_conv').getConfig();
    expect([skip.kernelSize, skip.useBias]).toEqual([[1, 1], false]);
    expect(model.inputs[0]?.shape).toEqual([null, 32, 32, 3]);
    expect(model.outputs[0]?.shape).toEqual([null, 10]);
    model.dispose();
  });

  it('runs a batch of 2 to [2, 10] probabilities', () => {
    const model = createCifarNet({ seed: 1 });
    const { shape, values } = forward(model, [32, 32, 3]);
    expect(shape).toEqual([2, 10]);
    expect(values.every((v) => Number.isFinite(v) && v > 0 && v < 1)).toBe(true);
    expect(values.slice(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(values.slice(10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(values.slice(0, 10)).not.toEqual(values.slice(10));
    model.dispose();
  });

  it('same seed gives identical weights, a different seed different ones', () => {
    const a = createCifarNet({ seed: 9 });
    const b = createCifarNet({ seed: 9 });
    const c = createCifarNet({ seed: 10 });
    const wa = weightValues(a);
    expect(weightValues(b)).toEqual(wa);
    expect(layerKernel(c, 'block0_conv')).not.toEqual(layerKernel(a, 'block0_conv'));
    expect(layerKernel(c, 'block4_skip_conv')).not.toEqual(layerKernel(a, 'block4_skip_conv'));
    expect(layerKernel(a, 'block5_conv')).not.toEqual(layerKernel(a, 'block6_conv'));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('leaks no tensors when built and disposed', () => {
    createCifarNet({ seed: 5 }).dispose(); // warm-up
    const before = tf.memory().numTensors;
    const model = createCifarNet({ seed: 5 });
    // 9 conv + 1 skip conv + 10 BN * 4 + dense
    expect(tf.memory().numTensors).toBe(before + 9 + 1 + 40 + 1);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a non-integer seed', () => {
    expect(() => createCifarNet({ seed: Number.NaN })).toThrow('options.seed must be a safe integer, got NaN');
  });
});
