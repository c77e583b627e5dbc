/**
 * CIFAR-10 loader for Node: reads the official binary release (`data_batch_1.bin` … `data_batch_5.bin`,
 * `test_batch.bin`) into plain typed arrays with channels-last pixels, and turns a split into tensors
 * with the authors' input scaling.
 *
 * Like the MNIST loader, this module imports Node built-ins (`node:fs`, `node:path`); the rest of the
 * library does not.
 *
 * @packageDocumentation
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

// Image size, class count and record layout of the binary release: www.cs.toronto.edu/~kriz/cifar.html,
// "Binary version": 1 label byte, then 1024 red, 1024 green and 1024 blue bytes, each plane row-major.
const CIFAR10_HEIGHT = 32;
const CIFAR10_WIDTH = 32;
const CIFAR10_CHANNELS = 3;
const CIFAR10_NUM_CLASSES = 10;
const PLANE_BYTES = CIFAR10_HEIGHT * CIFAR10_WIDTH; // 1024
const IMAGE_BYTES = PLANE_BYTES * CIFAR10_CHANNELS; // 3072
const RECORD_BYTES = 1 + IMAGE_BYTES; // 3073

// File names of the binary release (the files inside cifar-10-binary.tar.gz, folder cifar-10-batches-bin/).
const TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
const TEST_FILE = 'test_batch.bin';

// Command that builds the binary files from the project's JPEG copy (examples/benchmarks/convert-cifar10.ts).
const CONVERTER_COMMAND = 'npm run cifar:convert -- --out <dir>';

/**
 * The CIFAR-10 class names, indexed by label, in the label order of the official release
 * (`batches.meta.txt` of the binary version).
 *
 * @example
 * ```ts
 * CIFAR10_CLASSES[3]; // 'cat'
 * ```
 */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/** One CIFAR-10 split (train or test) as plain typed arrays. */
export interface Cifar10Split {
  /**
   * Pixels 0..255, channels-last `[count, 32, 32, 3]` (interleaved RGB, rows top to bottom), so image `i`
   * is `images.subarray(i * 3072, (i + 1) * 3072)` and pixel (r, c) of it starts at `(r * 32 + c) * 3`.
   */
  readonly images: Uint8Array;
  /** Class labels 0..9, one per image; see {@link CIFAR10_CLASSES}. */
  readonly labels: Uint8Array;
  /** Number of examples in the split. */
  readonly count: number;
}

/** The CIFAR-10 train and test splits as plain typed arrays (no tensors, nothing to dispose). */
export interface Cifar10Data {
  /** The training split (50,000 examples in the official release, unless limited). */
  readonly train: Cifar10Split;
  /** The test split (10,000 examples in the official release, unless limited). */
  readonly test: Cifar10Split;
  /** Image height in pixels, always 32. */
  readonly height: 32;
  /** Image width in pixels, always 32. */
  readonly width: 32;
  /** Colour channels (RGB), always 3. */
  readonly channels: 3;
}

/** Options of {@link loadCifar10}. */
export interface LoadCifar10Options {
  /** Folder that holds `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`. */
  dir: string;
  /** Keep only the first `trainLimit` training examples, in file order (a positive integer). */
  trainLimit?: number;
  /** Keep only the first `testLimit` test examples, in file order (a positive integer). */
  testLimit?: number;
}

/** Per-channel values (red, green, blue). */
export type Cifar10ChannelMeans = readonly [number, number, number];

/** Options of {@link cifar10ToTensors}. */
export interface Cifar10ToTensorsOptions {
  /**
   * Red, green and blue values subtracted from the pixels after scaling to [0, 1]; pass
   * {@link cifar10ChannelMeans} of the data so that train and test use the train means.
   * Defaults to `[0, 0, 0]` (no centring).
   */
  means?: Cifar10ChannelMeans;
}

/** The tensors of one CIFAR-10 split. The caller owns them and must dispose them. */
export interface Cifar10Tensors {
  /** Scaled images, float32 `[n, 32, 32, 3]`. */
  readonly xs: tf.Tensor4D;
  /** One-hot labels, float32 `[n, 10]`. */
  readonly ys: tf.Tensor2D;
}

/**
 * Decodes one file of the CIFAR-10 binary release held in memory, converting each image from colour
 * planes to channels-last.
 *
 * @param bytes - The whole file: records of 1 label byte + 3,072 pixel bytes (a Node `Buffer` works too).
 * @returns `images`, a new `Uint8Array` of `[count, 32, 32, 3]` interleaved RGB pixels; `labels`, a new
 *   `Uint8Array` of `count` labels; and `count`, the number of records.
 * @throws TypeError if `bytes` is not a `Uint8Array`.
 * @throws RangeError if the length is not a multiple of 3,073 or a label is outside 0..9.
 *
 * @remarks
 * Record k starts at byte 3073·k. Its byte 0 is the label; bytes 1 + p·1024 + r·32 + c hold channel p
 * (0 red, 1 green, 2 blue) of the pixel in row r, column c. That value goes to
 * `images[k·3072 + (r·32 + c)·3 + p]`. An empty input gives `count` 0.
 *
 * @example
 * ```ts
 * const record = new Uint8Array(3073);
 * record[0] = 3; // a cat
 * record[1] = 255; // red of pixel (0, 0)
 * record[1 + 2048] = 7; // blue of pixel (0, 0)
 * const { images, labels, count } = parseCifar10Batch(record);
 * // count === 1, labels[0] === 3, images[0] === 255, images[1] === 0, images[2] === 7
 * ```
 */
export function parseCifar10Batch(bytes: Uint8Array): Cifar10Split {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseCifar10Batch: expected a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  }
  const count = recordCount(bytes.length, 'parseCifar10Batch: input');
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  decodeRecords(bytes, count, images, labels, 0, 'parseCifar10Batch: record');
  return { images, labels, count };
}

/**
 * Reads CIFAR-10 from the six files of the official binary release into typed arrays.
 *
 * @param options - `dir`: folder of the files; `trainLimit` / `testLimit`: keep only the first n examples
 *   of a split.
 * @returns Both splits as `Uint8Array`s of channels-last pixels and labels, with their counts.
 * @throws TypeError if `dir` is not a non-empty string.
 * @throws Error if one of the six files is missing; the message names it and the converter command.
 * @throws RangeError if a file's length is not a multiple of 3,073, a label is outside 0..9, or a limit
 *   is not a positive integer or exceeds the examples in the files.
 *
 * @remarks
 * The training split is `data_batch_1.bin` … `data_batch_5.bin` concatenated in that order; the test split
 * is `test_batch.bin`. All six files must exist. With a limit, only the files that hold the first
 * `limit` examples are read. To build the files from the project's JPEG copy of CIFAR-10, run
 * `npx tsx examples/benchmarks/convert-cifar10.ts` (writes them to `.cache/cifar10/`).
 *
 * @example
 * ```ts
 * const data = await loadCifar10({ dir: '.cache/cifar10', trainLimit: 5000 });
 * const means = cifar10ChannelMeans(data);
 * const { xs, ys } = cifar10ToTensors(data.train, { means });
 * ```
 */
export async function loadCifar10(options: LoadCifar10Options): Promise<Cifar10Data> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`loadCifar10: options must be an object with a dir, got ${String(options)}`);
  }
  const dir = options.dir;
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`loadCifar10: options.dir must be a non-empty string, got ${JSON.stringify(dir)}`);
  }
  const trainLimit = checkLimit('trainLimit', options.trainLimit);
  const testLimit = checkLimit('testLimit', options.testLimit);
  const trainPaths = TRAIN_FILES.map((name) => join(dir, name));
  const testPath = join(dir, TEST_FILE);
  for (const path of [...trainPaths, testPath]) await checkExists(path);
  const [train, test] = await Promise.all([
    readSplit('train', trainPaths, trainLimit),
    readSplit('test', [testPath], testLimit),
  ]);
  return { train, test, height: CIFAR10_HEIGHT, width: CIFAR10_WIDTH, channels: CIFAR10_CHANNELS };
}

/**
 * The mean of each colour channel over the training split, on the [0, 1] scale.
 *
 * @param data - Data from {@link loadCifar10}; only `data.train` is used.
 * @returns `[red, green, blue]` means of `x / 255` over all training pixels (about
 *   `[0.4914, 0.4822, 0.4465]` for the official 50,000 images).
 * @throws RangeError if the training split is empty or its pixel count is not a whole number of images.
 *
 * @remarks
 * mean_p = (1 / (n · 1024)) · Σ_{i, r, c} x[i, r, c, p] / 255, summed in float64. It is the mean of the
 * training split as loaded, so with `trainLimit` it is the mean of the kept examples. The authors centre
 * CIFAR-10 inputs with these per-channel means (the authors' script; docs/internals.md).
 * @see arXiv:2005.05955, authors' script
 *
 * @example
 * ```ts
 * const data = await loadCifar10({ dir: '.cache/cifar10' });
 * const [red, green, blue] = cifar10ChannelMeans(data);
 * ```
 */
export function cifar10ChannelMeans(data: Cifar10Data): [number, number, number] {
  const pixels = data.train.images;
  if (pixels.length === 0) {
    throw new RangeError('cifar10ChannelMeans: the training split is empty');
  }
  if (pixels.length % IMAGE_BYTES !== 0) {
    throw new RangeError(
      `cifar10ChannelMeans: expected a multiple of ${IMAGE_BYTES} training pixels, got ${pixels.length}`,
    );
  }
  let red = 0;
  let green = 0;
  let blue = 0;
  for (let i = 0; i < pixels.length; i += CIFAR10_CHANNELS) {
    red += pixels[i] as number;
    green += pixels[i + 1] as number;
    blue += pixels[i + 2] as number;
  }
  const perChannel = pixels.length / CIFAR10_CHANNELS;
  return [red / perChannel / 255, green / perChannel / 255, blue / perChannel / 255];
}

/**
 * Turns one CIFAR-10 split into float32 tensors: scaled channels-last images and one-hot labels.
 *
 * @param split - `data.train` or `data.test` from {@link loadCifar10} (or the result of
 *   {@link parseCifar10Batch}).
 * @param options - `means`: the red, green and blue values subtracted after scaling; pass
 *   `cifar10ChannelMeans(data)` for the authors' scaling (default `[0, 0, 0]`).
 * @returns `xs`, float32 `[n, 32, 32, 3]` with `x / 255 − means[channel]`, and `ys`, float32 one-hot
 *   `[n, 10]`. The caller owns both tensors.
 * @throws RangeError if `means` is not three finite numbers, the split's arrays do not match its count,
 *   or a label is outside 0..9.
 *
 * @remarks
 * x'[i, r, c, p] = x[i, r, c, p] / 255 − means[p]. Use the train means for both splits, as the authors
 * do, so that the test set is scaled exactly like the training set.
 * @see arXiv:2005.05955, authors' script
 *
 * @example
 * ```ts
 * const data = await loadCifar10({ dir: '.cache/cifar10', trainLimit: 1000, testLimit: 1000 });
 * const means = cifar10ChannelMeans(data);
 * const train = cifar10ToTensors(data.train, { means });
 * const test = cifar10ToTensors(data.test, { means });
 * // ... use them, then:
 * tf.dispose([train.xs, train.ys, test.xs, test.ys]);
 * ```
 */
export function cifar10ToTensors(split: Cifar10Split, options: Cifar10ToTensorsOptions = {}): Cifar10Tensors {
  const means = options.means ?? [0, 0, 0];
  if (
    !Array.isArray(means) ||
    means.length !== CIFAR10_CHANNELS ||
    !means.every((m: unknown) => typeof m === 'number' && Number.isFinite(m))
  ) {
    throw new RangeError(
      `cifar10ToTensors: options.means must be three finite numbers [red, green, blue], got ${describe(means)}`,
    );
  }
  const n = split.count;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`cifar10ToTensors: split.count must be a non-negative integer, got ${String(n)}`);
  }
  if (split.images.length !== n * IMAGE_BYTES) {
    throw new RangeError(
      `cifar10ToTensors: expected ${n * IMAGE_BYTES} pixels for ${n} images of 32x32x3, got ${split.images.length}`,
    );
  }
  if (split.labels.length !== n) {
    throw new RangeError(`cifar10ToTensors: expected ${n} labels, got ${split.labels.length}`);
  }

  const [red, green, blue] = means as Cifar10ChannelMeans;
  const pixels = split.images;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i += CIFAR10_CHANNELS) {
    x[i] = (pixels[i] as number) / 255 - red;
    x[i + 1] = (pixels[i + 1] as number) / 255 - green;
    x[i + 2] = (pixels[i + 2] as number) / 255 - blue;
  }
  const y = new Float32Array(n * CIFAR10_NUM_CLASSES);
  for (let i = 0; i < n; i++) {
    const label = split.labels[i] as number;
    if (label >= CIFAR10_NUM_CLASSES) {
      throw new RangeError(`cifar10ToTensors: label ${label} of example ${i} is outside 0..9`);
    }
    y[i * CIFAR10_NUM_CLASSES + label] = 1;
  }
  return {
    xs: tf.tensor4d(x, [n, CIFAR10_HEIGHT, CIFAR10_WIDTH, CIFAR10_CHANNELS], 'float32'),
    ys: tf.tensor2d(y, [n, CIFAR10_NUM_CLASSES], 'float32'),
  };
}

/** Number of records in `length` bytes; `what` starts the error message. */
function recordCount(length: number, what: string): number {
  if (length % RECORD_BYTES !== 0) {
    throw new RangeError(
      `${what} length ${length} is not a multiple of ${RECORD_BYTES} ` +
        `(1 label byte + ${IMAGE_BYTES} pixel bytes per record); ` +
        `${Math.floor(length / RECORD_BYTES)} whole records and ${length % RECORD_BYTES} bytes left over`,
    );
  }
  return length / RECORD_BYTES;
}

/**
 * Decodes the first `count` records of `bytes` into `images` / `labels`, starting at example `offset` of
 * the outputs. `what` starts the label error message.
 */
function decodeRecords(
  bytes: Uint8Array,
  count: number,
  images: Uint8Array,
  labels: Uint8Array,
  offset: number,
  what: string,
): void {
  for (let k = 0; k < count; k++) {
    const src = k * RECORD_BYTES;
    const label = bytes[src] as number;
    if (label >= CIFAR10_NUM_CLASSES) {
      throw new RangeError(`${what} ${k} (byte ${src}) has label ${label}, outside 0..9`);
    }
    labels[offset + k] = label;
    const red = src + 1;
    const green = red + PLANE_BYTES;
    const blue = green + PLANE_BYTES;
    let dst = (offset + k) * IMAGE_BYTES;
    for (let p = 0; p < PLANE_BYTES; p++) {
      images[dst++] = bytes[red + p] as number;
      images[dst++] = bytes[green + p] as number;
      images[dst++] = bytes[blue + p] as number;
    }
  }
}

/** Reads the files of one split in order, stopping once `limit` examples are decoded. */
async function readSplit(name: 'train' | 'test', paths: readonly string[], limit: number | undefined): Promise<Cifar10Split> {
  const parts: Array<{ path: string; bytes: Uint8Array; count: number }> = [];
  let total = 0;
  for (const path of paths) {
    if (limit !== undefined && total >= limit) break;
    const bytes = await readFile(path);
    const count = recordCount(bytes.length, `loadCifar10: ${path}:`);
    parts.push({ path, bytes, count });
    total += count;
  }
  if (limit !== undefined && limit > total) {
    throw new RangeError(`loadCifar10: ${name}Limit ${limit} exceeds the ${total} ${name} examples in the files`);
  }
  const kept = limit ?? total;
  const images = new Uint8Array(kept * IMAGE_BYTES);
  const labels = new Uint8Array(kept);
  let offset = 0;
  for (const part of parts) {
    const take = Math.min(part.count, kept - offset);
    decodeRecords(part.bytes, take, images, labels, offset, `loadCifar10: ${part.path}: record`);
    offset += take;
  }
  return { images, labels, count: kept };
}

function checkLimit(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`loadCifar10: options.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

async function checkExists(path: string): Promise<void> {
  try {
    await access(path);
  } catch (error: unknown) {
    if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT') {
      throw new Error(
        `loadCifar10: ${path} does not exist. The folder must hold the CIFAR-10 binary release ` +
          `(${[...TRAIN_FILES, TEST_FILE].join(', ')}; www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), ` +
          `or build the files from the project's JPEG copy with \`${CONVERTER_COMMAND}\` ` +
          '(default output folder .cache/cifar10).',
      );
    }
    throw error;
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
