/**
 * A `Conv2DBackpropFilter` kernel for the tfjs wasm backend, which ships without one, so that gradient
 * training (`model.fit` with SGD/Adam) of conv nets works on wasm.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';

const BACKEND = 'wasm';
const KERNEL = 'Conv2DBackpropFilter'; // tfjs-core kernel_names.ts

/**
 * Registers a `Conv2DBackpropFilter` kernel for the tfjs `wasm` backend, unless one is registered already.
 *
 * @returns `true` if this call registered the kernel; `false` (and nothing changes) if a
 *   `Conv2DBackpropFilter` kernel was already registered for `wasm`, by an earlier call or by tfjs itself.
 *   Calling it again is therefore harmless.
 *
 * @remarks
 * The filter gradient of y = conv2d(x, W) with stride s and (top, left) padding (pt, pl) is
 *
 *   dW[i, j, c, k] = Σ_{b, p, q} x[b, s·p + i − pt, s·q + j − pl, c] · dy[b, p, q, k],
 *
 * with x read as zero outside the image. Renaming (input channel c → batch, batch b → channel) turns this
 * into a stride-1 conv2d with dilation s:
 *
 *   dWᵀ = conv2d(xᵀ, dyᵀ, dilation = s),  xᵀ = transpose(x) : [C, H, W, B],  dyᵀ = transpose(dy) : [P, Q, B, K],
 *
 * whose output [C, kh, kw, K] is transposed back to [kh, kw, C, K]. The kernel runs the registered wasm
 * `Transpose`, `Slice` and `Conv2D` kernels directly (XNNPACK does the heavy lifting; `Fill` when no
 * output reads the image) and frees every intermediate before returning, so neither tensors nor backend
 * data leak, and XNNPACK drops the operator it cached for the temporary filter dyᵀ.
 *
 * Padding is taken from `backend_util.computeConv2DInfo`, exactly as the forward conv2d computes it
 * ('same': top = ⌊total / 2⌋, left likewise; 'valid'; a number; explicit `[[0,0],[t,b],[l,r],[0,0]]`;
 * `dimRoundingMode`). The image extent actually read by the forward pass is (P − 1)·s + kh rows; the
 * inner conv pads xᵀ with pt rows on top and however many zero rows the bottom needs, or slices off rows
 * that no output position reads (columns likewise). Both NHWC and NCHW `dataFormat` are supported (only
 * the transposes differ). Conv2DBackpropFilter has no dilation attribute: tfjs-core's conv2d gradient
 * rejects dilations ≠ 1 before calling it; a caller that passes `dilations` ≠ 1 anyway gets an Error.
 *
 * Accuracy: XNNPACK sums the B·P·Q products of each dW element in float32, while the cpu backend sums in
 * float64 (JS numbers). Against a float64 reference, max |error| / max |dW| was ≤ 3e-7 on small random
 * problems, 3e-6 at batch 100 and 4e-5 at batch 1000 on the first conv of the paper's MNIST network (real
 * MNIST, where Σ|x·dy| is 40× |dW|). Memory: transposed copies of x and dy live during the call.
 *
 * Register it before training; it is only used while the wasm backend is active.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmConv2DBackpropFilter } from 'tfjs-rso';
 *
 * registerWasmConv2DBackpropFilter(); // true the first time, false afterwards
 * if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
 * const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
 * const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2);
 * const dW = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))(w);
 * ```
 */
export function registerWasmConv2DBackpropFilter(): boolean {
  if (isRegistered(KERNEL)) return false;
  const config: KernelConfig = {
    kernelName: KERNEL,
    backendName: BACKEND,
    kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
  };
  tf.registerKernel(config);
  return true;
}

/**
 * Registers every kernel the tfjs wasm backend needs for gradient training of this library's networks
 * and does not ship. Today that is `Conv2DBackpropFilter` ({@link registerWasmConv2DBackpropFilter}).
 *
 * @returns The names of the kernels this call registered (empty when all were already registered).
 *
 * @remarks
 * Idempotent: each kernel is registered only if no kernel of that name exists for `wasm` yet, so a later
 * tfjs release that ships its own kernel wins, and a second call registers nothing.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmTrainingKernels } from 'tfjs-rso';
 *
 * registerWasmTrainingKernels(); // ['Conv2DBackpropFilter'] the first time, [] afterwards
 * ```
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  if (registerWasmConv2DBackpropFilter()) registered.push(KERNEL);
  return registered;
}

function isRegistered(kernelName: string): boolean {
  // getKernel is typed as always returning a config, but returns undefined for unknown kernels.
  return (tf.getKernel(kernelName, BACKEND) as KernelConfig | undefined) !== undefined;
}

/** Runs a registered wasm kernel by name; its output belongs to the caller. */
function runKernel(name: string, inputs: NamedTensorInfoMap, backend: KernelBackend, attrs: NamedAttrMap): TensorInfo {
  const config = tf.getKernel(name, BACKEND) as KernelConfig | undefined;
  if (config === undefined) {
    throw new Error(`${KERNEL} (wasm): the wasm backend has no '${name}' kernel; import '@tensorflow/tfjs-backend-wasm'`);
  }
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`${KERNEL} (wasm): kernel '${name}' returned ${out.length} outputs, expected 1`);
  return out;
}

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: NamedAttrMap;
}

function conv2DBackpropFilterWasm({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) throw new TypeError(`${KERNEL} (wasm): inputs 'x' and 'dy' are required`);
  const a = readAttrs(attrs);
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new RangeError(`${KERNEL} (wasm): x and dy must be rank 4, got x [${x.shape.join(', ')}], dy [${dy.shape.join(', ')}]`);
  }
  for (const t of [x, dy]) {
    if (t.dtype !== 'float32') throw new TypeError(`${KERNEL} (wasm): x and dy must be float32, got '${t.dtype}'`);
  }
  const channelsLast = a.dataFormat === 'NHWC';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1, // Conv2DBackpropFilter has no dilations (tfjs-core Conv2D_grad asserts they are 1).
    a.pad,
    a.dimRoundingMode,
    false,
    channelsLast ? 'channelsLast' : 'channelsFirst',
  );
  const { batchSize, inChannels, outChannels, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  if (a.filterShape[2] !== inChannels) {
    throw new RangeError(`${KERNEL} (wasm): filterShape[2] = ${a.filterShape[2]} must equal the input channels of x, ${inChannels}`);
  }
  const expectedDy = channelsLast ? [batchSize, outHeight, outWidth, outChannels] : [batchSize, outChannels, outHeight, outWidth];
  if (dy.shape.some((d, i) => d !== expectedDy[i])) {
    throw new RangeError(
      `${KERNEL} (wasm): dy shape [${dy.shape.join(', ')}] does not match the forward output [${expectedDy.join(', ')}] ` +
        `of x [${x.shape.join(', ')}] and filterShape [${a.filterShape.join(', ')}]`,
    );
  }

  // Extent of x read by the forward pass, in padded coordinates: (out − 1)·stride + filter.
  const rowsRead = (outHeight - 1) * info.strideHeight + filterHeight;
  const colsRead = (outWidth - 1) * info.strideWidth + filterWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows of the unpadded image that are read, and the zero rows needed below it (same for columns).
  const rowsUsed = Math.min(inHeight, rowsRead - top);
  const colsUsed = Math.min(inWidth, colsRead - left);
  const bottom = rowsRead - top - rowsUsed;
  const right = colsRead - left - colsUsed;

  if (batchSize * outHeight * outWidth === 0 || rowsUsed <= 0 || colsUsed <= 0) {
    // No output position reads any pixel of x: the gradient is zero.
    return runKernel('Fill', {}, backend, { shape: a.filterShape, value: 0, dtype: 'float32' });
  }

  const temps: TensorInfo[] = [];
  const track = (t: TensorInfo): TensorInfo => {
    temps.push(t);
    return t;
  };
  try {
    // xᵀ: [C, H, W, B] (input channels become the batch, the batch becomes the channels).
    let xT = track(runKernel('Transpose', { x }, backend, { perm: channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0] }));
    if (rowsUsed < inHeight || colsUsed < inWidth) {
      xT = track(runKernel('Slice', { x: xT }, backend, { begin: [0, 0, 0, 0], size: [inChannels, rowsUsed, colsUsed, batchSize] }));
    }
    // dyᵀ: [P, Q, B, K], the filter of the inner conv.
    const dyT = track(runKernel('Transpose', { x: dy }, backend, { perm: channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1] }));
    const convAttrs: NamedAttrMap = {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    };
    // dWᵀ: [C, kh, kw, K]
    const dWT = track(runKernel('Conv2D', { x: xT, filter: dyT }, backend, convAttrs));
    if (dWT.shape[1] !== filterHeight || dWT.shape[2] !== filterWidth) {
      throw new Error(`${KERNEL} (wasm): internal shape error, got [${dWT.shape.join(', ')}] for filter ${filterHeight}×${filterWidth}`);
    }
    // [kh, kw, C, K]. The engine owns the returned output, so it is not in temps.
    return runKernel('Transpose', { x: dWT }, backend, { perm: [1, 2, 0, 3] });
  } finally {
    // Frees the intermediates, and with dyᵀ the XNNPACK operator (packed weights) cached under its id.
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

interface ParsedAttrs {
  strides: number | [number, number];
  pad: Conv2DBackpropFilterAttrs['pad'];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode: Conv2DBackpropFilterAttrs['dimRoundingMode'];
  filterShape: [number, number, number, number];
}

function readAttrs(attrs: NamedAttrMap | undefined): ParsedAttrs {
  if (attrs === undefined) throw new TypeError(`${KERNEL} (wasm): attrs are required`);
  const a = attrs as unknown as Partial<Conv2DBackpropFilterAttrs> & { dilations?: unknown };
  const dataFormat = a.dataFormat ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'NCHW') {
    throw new RangeError(`${KERNEL} (wasm): dataFormat must be 'NHWC' or 'NCHW', got ${JSON.stringify(dataFormat)}`);
  }
  const d = a.dilations;
  if (d !== undefined && !(d === 1 || (Array.isArray(d) && d.every((v) => v === 1)))) {
    throw new RangeError(`${KERNEL} (wasm): dilations other than 1 are not supported, got ${JSON.stringify(d)}`);
  }
  const fs = a.filterShape;
  if (!Array.isArray(fs) || fs.length !== 4 || !fs.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`${KERNEL} (wasm): filterShape must be 4 positive integers, got ${JSON.stringify(fs)}`);
  }
  if (a.strides === undefined || a.pad === undefined) throw new TypeError(`${KERNEL} (wasm): attrs 'strides' and 'pad' are required`);
  return { strides: a.strides, pad: a.pad, dataFormat, dimRoundingMode: a.dimRoundingMode, filterShape: fs };
}
