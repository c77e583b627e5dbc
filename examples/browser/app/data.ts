import * as tf from '@tensorflow/tfjs-core';
import { CLASSES, IMAGE_SHAPE } from './models.js';

/** The served MNIST subset: files the demo's build writes under `data/` (see examples/browser/build.ts). */
export const DATA_FILES = {
  trainImages: 'train-images.u8',
  trainLabels: 'train-labels.u8',
  testImages: 'test-images.u8',
  testLabels: 'test-labels.u8',
} as const;

/** One split as tensors: images scaled to [0, 1], one-hot labels. */
export interface Split {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor2D;
}

async function fetchBytes(base: string, name: string): Promise<Uint8Array> {
  const res = await fetch(new URL(`data/${name}`, base));
  if (!res.ok) throw new Error(`MNIST subset: ${name} answered ${res.status}; run the demo's build first`);
  return new Uint8Array(await res.arrayBuffer());
}

function toSplit(images: Uint8Array, labels: Uint8Array): Split {
  const n = labels.length;
  const pixels = Float32Array.from(images, (v) => v / 255);
  return tf.tidy(() => ({
    x: tf.tensor4d(pixels, [n, ...IMAGE_SHAPE]),
    y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES), 'float32') as tf.Tensor2D,
  }));
}

/** Loads the served MNIST subset; `base` is the URL the `data/` folder is relative to. */
export async function loadSubset(base: string): Promise<{ train: Split; test: Split }> {
  const [ti, tl, si, sl] = await Promise.all(
    [DATA_FILES.trainImages, DATA_FILES.trainLabels, DATA_FILES.testImages, DATA_FILES.testLabels].map((f) => fetchBytes(base, f)),
  );
  return { train: toSplit(ti!, tl!), test: toSplit(si!, sl!) };
}
