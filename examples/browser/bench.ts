// RSO steps per second of the browser demo's conv net: in Chromium (a Web Worker, each backend) and in Node on
// wasm, same data, seed, batch and step count. Usage: npx tsx examples/browser/bench.ts [--steps 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { chromium } from 'playwright-core';
import { linearSchedule, RSOOptimizer } from '../../src/index.js';
import { loadMnist } from '../../src/node/data/mnist.js';
import { buildModel } from './app/models.js';
import { buildDemo } from './build.js';
import { serveDemo } from './serve.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '300' }, backends: { type: 'string', default: 'webgl,wasm,cpu' } } });
const STEPS = Number(values.steps);
const DATA = { trainImages: 1024, testImages: 200 };
const RUN = { maxSteps: STEPS, batchSize: 64, seed: 7, adam: false };

/** The demo's RSO run in Node on wasm: the worker's settings, no tests in between. */
async function nodeWasm(): Promise<number> {
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start');
  const m = await loadMnist({ trainLimit: DATA.trainImages, testLimit: 1 });
  const x = tf.tensor4d(Float32Array.from(m.train.images, (v) => v / 255), [DATA.trainImages, 28, 28, 1]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(m.train.labels, 'int32'), 10), 'float32'));
  const model = buildModel('conv', RUN.seed);
  const rso = new RSOOptimizer({ seed: RUN.seed, cycles: 10, sigma: linearSchedule({ from: 1, to: 0.1 }) });
  model.compile({ optimizer: rso, loss: 'categoricalCrossentropy' });
  const t0 = performance.now();
  await rso.fit(model, x, y, { batchSize: RUN.batchSize, maxSteps: STEPS, verbose: 0, batchNormSamples: 0 });
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  model.dispose();
  return STEPS / seconds;
}

async function inChromium(url: string, backends: string[]): Promise<Record<string, number | string>> {
  const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  const out: Record<string, number | string> = {};
  try {
    for (const backend of backends) {
      const page = await browser.newPage();
      await page.goto(url);
      out[backend] = await page.evaluate(async (run) => {
        const api = await (globalThis as unknown as { rsoDemo: Promise<{ start(o: unknown): Promise<{ result?: { step: number; startStep: number; seconds: number }; error?: string }[]> }> }).rsoDemo;
        const [o] = await api.start(run);
        return o!.result === undefined ? `failed: ${o!.error}` : (o!.result.step - o!.result.startStep) / o!.result.seconds;
      }, { ...RUN, backend });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'rso-bench-'));
const sizes = await buildDemo(dir, { ...DATA, minify: true });
const server = await serveDemo(dir, 0);
try {
  const browser = await inChromium(server.url, values.backends.split(','));
  const node = await nodeWasm();
  const fmt = (v: number | string) => (typeof v === 'number' ? v.toFixed(1) : v);
  console.log(`demo conv net (770 scalars), batch ${RUN.batchSize}, ${DATA.trainImages} MNIST images, ${STEPS} RSO steps, seed ${RUN.seed}`);
  console.log('| where | backend | RSO steps/s | relative to Node wasm |\n| --- | --- | --- | --- |');
  for (const [b, v] of Object.entries(browser)) console.log(`| Chromium, Web Worker | ${b} | ${fmt(v)} | ${typeof v === 'number' ? `${(v / node).toFixed(2)}×` : ''} |`);
  console.log(`| Node 20 | wasm | ${node.toFixed(1)} | 1× |`);
  console.log(`bundles (minified): page.js ${(sizes.page / 1024).toFixed(0)} KiB, worker.js ${(sizes.worker / 1024).toFixed(0)} KiB`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
