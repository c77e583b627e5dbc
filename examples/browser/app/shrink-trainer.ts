// The shrink tab's run, in the worker: load the float MNIST model, quantize it, repair the rounding with RSO on
// the grid, pack it, and check that the packed file reloads to the same predictions.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, loadPackedModel, packModel, quantizeCalibrated, quantizeModel, quantizedGrid, reestimateBatchNorm, roundForPacking } from 'tfjs-rso';
import type { Split } from './data.js';
import { FLOAT_MODEL_URL } from './protocol.js';
import type { ShrinkTable } from './protocol.js';
import { BN_SAMPLE, backendThreads, fitSteps, report, rsoSettings, testMetrics } from './trainers.js';
import type { RunEnd, Session } from './trainers.js';

// tfjs-converter's uint8 quantization stores a float32 min and scale per tensor in model.json.
const CONVERTER_BYTES_PER_TENSOR = 8;
/** The smallest packed file: no names (loaded by `weights` order, shapes checked), float16 scales and floats. */
const SMALLEST = { names: false, float16: true } as const;
// Training images the calibration reads: a few seconds in a worker.
const CALIBRATION_SAMPLES = 128;

/** The float model, the bytes of its weights.bin as downloaded, and the input mean it was trained with. */
async function loadFloatModel(base: string): Promise<{ model: tfl.LayersModel; bytes: number; inputMean: number }> {
  let bytes = 0;
  const fetchFunc = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    if (String(input).endsWith('.bin')) bytes += (await res.clone().arrayBuffer()).byteLength;
    return res;
  };
  const model = await tfl.loadLayersModel(new URL(FLOAT_MODEL_URL, base).href, { fetchFunc });
  const inputMean = (model.getUserDefinedMetadata() as { inputMean?: unknown } | undefined)?.inputMean;
  if (typeof inputMean !== 'number') throw new Error(`${FLOAT_MODEL_URL} has no inputMean in its userDefinedMetadata`);
  return { model, bytes, inputMean };
}

/** The split with the training mean subtracted from every pixel, as the float model was trained. */
const centred = (s: Split, mean: number): Split => ({ x: tf.sub(s.x, mean), y: s.y });

/** Whether two models give exactly the same outputs on `x`. */
function samePredictions(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor): boolean {
  return tf.tidy(() => {
    const [pa, pb] = [a, b].map((m) => m.predict(x, { batchSize: 250 }) as tf.Tensor);
    return tf.all(tf.equal(pa!, pb!)).dataSync()[0] === 1;
  });
}

/**
 * Quantizes the float model to `spec.bits` twice, round to nearest and `quantizeCalibrated` (codes and per-channel
 * scales chosen layer by layer on training images), then repairs the calibrated model with `rso.fit` on
 * `quantizedGrid(q)` for `spec.maxSteps` steps, pausing and stopping like {@link trainRso}. Tests the float model as
 * loaded and each quantized model with BN statistics re-estimated; packs the smallest file (float16, no names)
 * and reports the accuracy of each model as exported, after `roundForPacking`.
 */
export async function trainShrink(s: Session): Promise<RunEnd> {
  const { spec, control } = s;
  const bits = spec.bits ?? 2;
  const table = (t: Partial<ShrinkTable>) => s.post({ type: 'table', table: t });
  const float = await loadFloatModel(s.base);
  const { model } = float;
  const data = { train: centred(s.data.train, float.inputMean), test: centred(s.data.test, float.inputMean) };
  const run: Session = { ...s, data };
  const sample = tf.slice(data.train.x, 0, BN_SAMPLE);
  try {
    s.post({ type: 'ready', backend: tf.getBackend(), step: 0, threads: backendThreads() });
    const floatAcc = (await control.excluded(() => testMetrics(model, data.test, null))).acc;
    const weights = model.weights.reduce((n, w) => n + w.shape.reduce((a: number, d) => a * (d ?? 0), 1), 0);
    const uint8Bytes = weights + CONVERTER_BYTES_PER_TENSOR * model.weights.length;
    table({ bits, floatAcc, floatBytes: float.bytes, uint8Bytes });
    const before = tf.memory().numTensors;
    const roundedAcc = await roundedToNearest(run, model, bits, sample);
    table({ roundedAcc });
    const q = quantizeCalibrated(model, data.train.x, { bits, samples: CALIBRATION_SAMPLES });
    await report(run, model, sample, 0);
    // The smallest file holds float16 scales and floats: round the model (and q) in place, then measure it as
    // exported. The grid is made after, on the rounded scales.
    roundForPacking(model, q);
    const calibratedAcc = (await control.excluded(() => testMetrics(model, data.test, null))).acc;
    const packedBytesBefore = packModel(model, q, SMALLEST).length;
    const rso = new RSOOptimizer({ ...rsoSettings(spec), grid: quantizedGrid(q) });
    model.compile({ optimizer: rso, loss: 'categoricalCrossentropy' });
    table({ calibratedAcc, packedBytesBefore });
    if (spec.maxSteps > 0) await fitSteps(run, model, rso, sample, spec.maxSteps);
    if (rso.step % spec.evalEvery !== 0) await report(run, model, sample, rso.step);
    // The repair moves biases and BN off float16: round again and measure the model as exported.
    roundForPacking(model, q);
    const repairedAcc = (await control.excluded(() => testMetrics(model, data.test, null))).acc;
    const packed = packModel(model, q, SMALLEST);
    const again = await loadPackedModel(model.toJSON(), packed);
    const reloadMatches = samePredictions(model, again, data.test.x);
    again.dispose();
    const leaked = tf.memory().numTensors - before;
    const end: ShrinkTable = {
      bits, floatAcc, floatBytes: float.bytes, uint8Bytes, roundedAcc, calibratedAcc, packedBytesBefore,
      repairedAcc, packedBytesAfter: packed.length, reloadMatches,
    };
    table(end);
    return { model, startStep: 0, step: rso.step, stopped: control.stopped, leaked, tests: run.tests, shrink: { table: end, packed } };
  } finally {
    tf.dispose([sample, data.train.x, data.test.x]);
  }
}

/**
 * The test accuracy of `model` rounded to nearest on per-channel scales of least rounding error, as exported (BN
 * re-estimated, then `roundForPacking`); the model's weights are put back as they were.
 */
async function roundedToNearest(s: Session, model: tfl.LayersModel, bits: number, sample: tf.Tensor): Promise<number> {
  const float = model.getWeights().map((w) => w.clone());
  try {
    const q = quantizeModel(model, { bits, scales: 'channel', fit: 'mse' });
    tf.tidy(() => reestimateBatchNorm(model, sample));
    roundForPacking(model, q);
    return (await s.control.excluded(() => testMetrics(model, s.data.test, null))).acc;
  } finally {
    model.setWeights(float);
    tf.dispose(float);
  }
}
