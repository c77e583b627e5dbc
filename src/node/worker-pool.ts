import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { allocateReducer, attachReducer } from '../engine/reducer.js';
import type { ShardPool, ShardStartArgs, WorkerPool } from '../engine/shard-pool.js';
import { requireInteger } from '../policies/validate.js';

/** How long worker threads may take to load tfjs, the model and the data. */
const START_TIMEOUT_MS = 120_000;

/** Backend name → the package that registers it in a worker thread. */
const BACKEND_PACKAGES: Record<string, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  tensorflow: '@tensorflow/tfjs-node',
};

interface HostTensor {
  readonly data: Float32Array | Int32Array | Uint8Array;
  readonly shape: number[];
  readonly dtype: tf.DataType;
}

/** What a worker thread receives (structured-cloned). */
export interface ShardWorkerData {
  readonly buffer: SharedArrayBuffer;
  readonly rank: number;
  readonly size: number;
  readonly backend: string;
  readonly backendPackage: string;
  readonly modelTopology: unknown;
  /** Every weight of the model, by layer name and position in the layer (the rebuilt model may order layers differently). */
  readonly weights: readonly (HostTensor & { readonly layer: string; readonly index: number })[];
  /** The main thread's trainable variables, in its order: the search state indexes tensors by this order. */
  readonly trainable: readonly (readonly [layer: string, index: number])[];
  readonly optimizerConfig: unknown;
  readonly optimizerState: readonly (HostTensor & { readonly name: string })[];
  /** The training set, in the model's input and output order. */
  readonly xs: readonly HostTensor[];
  readonly ys: readonly HostTensor[];
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** Each output's loss by name, and its weight. */
  readonly losses: readonly string[];
  readonly lossWeights: readonly number[];
  readonly lossReduction: 'mean' | 'sum';
  /** The model engine's options, as the main thread got them. */
  readonly engine: Readonly<Record<string, number | boolean | undefined>>;
}

const host = (t: tf.Tensor): HostTensor => ({ data: t.dataSync() as HostTensor['data'], shape: t.shape.slice(), dtype: t.dtype });

/** Where the worker script is, and how to start it (a `.ts` source runs through tsx, as in tests). */
function workerSource(): { code: string } | { url: URL } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const url = new URL('./shard-worker.ts', self).href;
    return { code: `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })` };
  }
  return { url: new URL('./shard-worker.js', self) };
}

/**
 * Starts `workers - 1` worker threads for a sharded `fit`: each holds a copy of the model, the optimizer and
 * the training set, runs the same search in lockstep on its own shard of every batch, and sums BN statistics
 * and losses with the main thread through shared memory.
 *
 * @throws RangeError for a custom loss function or a backend a worker cannot load; Error if a worker fails to start.
 */
async function startShardWorkers(args: ShardStartArgs & { readonly workers: number }): Promise<ShardPool> {
  const { workers } = args;
  const losses = args.losses;
  if (losses === undefined) {
    throw new RangeError('rso.fit: workers > 1 needs the loss by name (e.g. "categoricalCrossentropy"); a loss function cannot be sent to a worker thread');
  }
  const backend = tf.getBackend();
  const backendPackage = BACKEND_PACKAGES[backend];
  if (backendPackage === undefined) {
    throw new RangeError(`fit: workers > 1 needs a backend a worker thread can load (${Object.keys(BACKEND_PACKAGES).join(', ')}), the current one is ${backend}`);
  }
  let optimizerConfig: unknown;
  try {
    optimizerConfig = args.optimizer.getConfig();
  } catch (e) {
    throw new RangeError(`fit: workers > 1 needs an optimizer config a worker can rebuild: ${(e as Error).message}`);
  }
  const state = await args.optimizer.getWeights();
  const optimizerState = state.map((w) => ({ name: w.name, ...host(w.tensor) }));
  for (const w of state) w.tensor.dispose();

  const { Worker } = await import('node:worker_threads');
  const buffer = allocateReducer(workers);
  const reducer = attachReducer(buffer, 0, workers);
  const base = {
    buffer,
    size: workers,
    backend,
    backendPackage,
    modelTopology: args.model.toJSON(null, false),
    weights: args.model.layers.flatMap((l) => l.weights.map((w, index) => ({ layer: l.name, index, ...host(w.read()) }))),
    trainable: args.model.trainableWeights.map((w) => {
      const layer = args.model.layers.find((l) => l.weights.includes(w));
      if (layer === undefined) throw new Error(`fit: weight ${w.name} belongs to no layer of the model`);
      return [layer.name, layer.weights.indexOf(w)] as const;
    }),
    optimizerConfig,
    optimizerState,
    xs: args.data.xs.map(host),
    ys: args.data.ys.map(host),
    batchSize: args.batchSize,
    shuffle: args.shuffle,
    losses,
    lossWeights: args.lossWeights,
    lossReduction: args.lossReduction,
    engine: args.engine,
  };
  const source = workerSource();
  const threads: Worker[] = [];
  const errors: string[] = [];
  const exits: Promise<void>[] = [];
  const ready: Promise<void>[] = [];
  for (let rank = 1; rank < workers; rank++) {
    const workerData: ShardWorkerData = { ...base, rank };
    const w = 'url' in source ? new Worker(source.url, { workerData }) : new Worker(source.code, { eval: true, workerData });
    threads.push(w);
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.on('message', (m: { type: string; message?: string }) => {
          if (m.type === 'ready') resolve();
          if (m.type === 'error') {
            errors.push(`worker ${rank}: ${m.message ?? 'unknown error'}`);
            reject(new Error(`fit: worker ${rank} failed: ${m.message ?? 'unknown error'}`));
          }
        });
        w.on('error', (e) => {
          errors.push(`worker ${rank}: ${e.message}`);
          reject(new Error(`fit: worker ${rank} failed: ${e.message}`));
        });
      }),
    );
    exits.push(new Promise<void>((resolve) => w.on('exit', () => resolve())));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const startTimeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fit: the worker threads did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.all(ready), startTimeout]);
  } catch (e) {
    reducer.abort('main');
    await Promise.all(threads.map((t) => t.terminate()));
    throw e;
  } finally {
    clearTimeout(timer);
  }
  let closed = false;
  return {
    reducer,
    nextBatch() {
      reducer.allReduce([1]);
    },
    proceed(go) {
      reducer.allReduce([go ? 1 : 0]);
      return go;
    },
    async close(failed) {
      if (closed) return errors;
      closed = true;
      if (!failed && reducer.aborted() === null) {
        try {
          reducer.allReduce([0]);
        } catch {
          // a worker failed at the very end; terminate below
        }
      } else {
        reducer.abort('main');
      }
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([Promise.all(exits), timeout]);
      await Promise.all(threads.map((t) => t.terminate()));
      return errors;
    },
  };
}

/**
 * Worker threads for `rso.fit`'s `workers` option (Node): `size - 1` threads besides the main one.
 *
 * @remarks Every batch is split into `size` equal shards. Each worker thread holds its own copy of the model
 * on the same backend (cpu, wasm or tfjs-node) and of the training set, runs the same search in lockstep on its
 * shard, and sums BN statistics and losses with the main thread through shared memory. The decisions are those
 * of one thread up to float rounding (shard sums are added in another order). Losses must be given by name,
 * policies must be built-in or registered by name, and custom layers are not supported.
 * @param size - Threads in all, the main one included (an integer ≥ 1; 1 runs no worker).
 * @returns The pool to pass as `workers`.
 * @example
 * ```ts
 * import { nodeWorkers } from 'tfjs-rso/node';
 * await rso.fit(model, x, y, { batchSize: 1000, workers: nodeWorkers(2) });
 * ```
 */
export function nodeWorkers(size: number): WorkerPool {
  requireInteger('nodeWorkers: size', size, 1);
  return { size, start: (args) => startShardWorkers({ ...args, workers: size }) };
}
