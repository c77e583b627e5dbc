/**
 * Packed file sizes (issue 26): the committed float MNIST model quantized to 1, 2, 3 and 4 bits (per-channel
 * scales of least rounding error), packed with and without names, with float32 or float16 scales and floats,
 * each against the float32 weights. No training, no data: a few seconds on the CPU backend.
 *
 *   npm run bench:pack-sizes -- [--float-model examples/benchmarks/weights/mnist-float]
 *
 * Each float16 file is checked to reload the rounded model bit for bit (on zeros and ones as inputs).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as rso from '../../src/index.js';
import { FLOAT_MODEL_DIR, loadFloatModel } from '../lib/float-model.js';

const { values } = parseArgs({ options: { 'float-model': { type: 'string', default: FLOAT_MODEL_DIR } } });
await tf.setBackend('cpu');
const dir = values['float-model'];
const floatModel = await loadFloatModel(dir);
const floatBytes = floatModel.weights.reduce((s, w) => s + 4 * w.shape.reduce<number>((a, d) => a * (d ?? 0), 1), 0);
floatModel.dispose();
console.log(`float32 weights: ${floatBytes} bytes`);
console.log('bits | names, float32 | no names, float32 | names, float16 | no names, float16 | smallest reloads bit for bit');
for (const bits of [1, 2, 3, 4]) {
  const model = await loadFloatModel(dir);
  const q = rso.quantizeModel(model, { bits });
  const cell = (bytes: Uint8Array) => `${bytes.length} (${(floatBytes / bytes.length).toFixed(1)}×)`;
  const cells = [cell(rso.packModel(model, q)), cell(rso.packModel(model, q, { names: false }))];
  rso.roundForPacking(model, q);
  cells.push(cell(rso.packModel(model, q, { float16: true })));
  const smallest = rso.packModel(model, q, { names: false, float16: true });
  cells.push(cell(smallest));
  const again = await rso.loadPackedModel(model.toJSON(), smallest);
  const x = tf.concat([tf.zeros([1, 28, 28, 1]), tf.ones([1, 28, 28, 1])]);
  const want = (model.predict(x) as tf.Tensor).dataSync();
  const got = (again.predict(x) as tf.Tensor).dataSync();
  const same = Buffer.from(want.buffer, want.byteOffset, want.byteLength).equals(Buffer.from(got.buffer, got.byteOffset, got.byteLength));
  console.log(`${bits} | ${cells.join(' | ')} | ${same}`);
  tf.dispose(x);
  again.dispose();
  model.dispose();
}
