/**
 * ms per step of `rso.fit` on the paper's MNIST network (wasm, random data, batch 200, the first layers of a
 * cycle), for comparing two checkouts of this repository in one session:
 *
 *   npx tsx examples/benchmarks/step-time.ts [root of a checkout, default .] [steps, default 1200] [threads, default 1]
 *
 * Run it from a checkout with its own node_modules; `root` may be another checkout (older ones exported
 * `createMnistNet` from the main entry and took `workers` as a number, and both are handled).
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

const root = resolve(process.argv[2] ?? '.');
const steps = Number(process.argv[3] ?? 1200);
const threads = Number(process.argv[4] ?? 1);
const core = await import(`${root}/src/index.ts`);
const node = await import(`${root}/src/node/index.ts`).catch(() => null);
const createMnistNet = core.createMnistNet ?? (await import(`${root}/src/paper/index.ts`)).createMnistNet;
const workers = threads === 1 ? 1 : node?.nodeWorkers !== undefined ? node.nodeWorkers(threads) : threads;

if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
const model = createMnistNet({ seed: 1 });
const n = 6000;
const x = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 7);
const y = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 8), 10), 'float32'));
const rso = new core.RSOOptimizer({ seed: 42, cycles: 1 });
const t0 = performance.now();
await rso.fit(model, x, y, { maxSteps: steps, batchSize: 200, verbose: 0, loss: 'categoricalCrossentropy', batchNormSamples: 0, workers });
console.log(`${root}: ${steps} steps, ${((performance.now() - t0) / steps).toFixed(2)} ms/step, now at ${rso.currentGroup()}, ${threads} thread(s)`);
