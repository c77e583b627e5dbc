/**
 * `tfjs-rso/paper`: the networks of the RSO paper (arXiv:2005.05955), built with tfjs-layers. Browser-safe.
 *
 * @packageDocumentation
 */
export { createMnistNet, MNIST_NET_COUNTS } from './mnist-net.js';
export type { MnistNetOptions } from './mnist-net.js';
export { createCifarNet, CIFAR_NET_COUNTS } from './cifar-net.js';
export type { CifarNetOptions } from './cifar-net.js';
