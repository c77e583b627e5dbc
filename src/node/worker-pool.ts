import type { PolicyConfig } from '../policies/registry.js';
import * as tf from '@tensorflow/tfjs-core';
import type { Worker } from 'node:worker_threads';
import { allocateReducer, attachReducer } from '../engine/reducer.js';
import type { ShardReducer } from '../engine/reducer.js';
import type { ShardPool, ShardStartArgs, WorkerPool } from '../engine/shard-pool.js';
import type { SearchSnapshot } from '../search/snapshot.js';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { rejectUnknown, requireInteger } from '../base/validate.js';

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
  /** Modules (URLs) each worker imports before it rebuilds the model: they register custom layers and policies. */
  readonly modules: readonly string[];
  readonly modelTopology: unknown;
  /** Every weight of the model, by layer name and position in the layer (the rebuilt model may order layers differently). */
  readonly weights: readonly (HostTensor & { readonly layer: string; readonly index: number })[];
  /** The main thread's trainable variables, in its order: the search state indexes tensors by this order. */
  readonly trainable: readonly (readonly [layer: string, index: number])[];
  /** The search to repeat, as plain data. */
  readonly search: SearchSnapshot;
  /** The training set, in the model's input and output order. */
  readonly xs: readonly HostTensor[];
  readonly ys: readonly HostTensor[];
  /** A number, or a batch-size schedule's config. */
  readonly batchSize: number | PolicyConfig;
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

/** The current backend and the package a worker loads it from. */
function workerBackend(): { backend: string; backendPackage: string } {
  const backend = tf.getBackend();
  const backendPackage = BACKEND_PACKAGES[backend];
  if (backendPackage === undefined) {
    throw new RangeError(`rso.fit: worker threads need a backend they can load (${Object.keys(BACKEND_PACKAGES).join(', ')}), the current one is ${backend}`);
  }
  return { backend, backendPackage };
}

/** Everything a worker thread receives but its rank, after checking that a worker can rebuild it. */
async function payload(args: ShardStartArgs, buffer: SharedArrayBuffer, size: number, modules: readonly string[]): Promise<Omit<ShardWorkerData, 'rank'>> {
  const losses = args.losses;
  if (losses === undefined) {
    throw new RangeError('rso.fit: worker threads need the loss by name (e.g. "categoricalCrossentropy"); a loss function cannot be sent to a worker thread');
  }
  const { backend, backendPackage } = workerBackend();
  let search: SearchSnapshot;
  try {
    search = args.optimizer.searchSnapshot();
  } catch (e) {
    throw new RangeError(`rso.fit: worker threads need an optimizer config they can rebuild: ${(e as Error).message}`);
  }
  const { model } = args;
  return {
    buffer,
    size,
    backend,
    backendPackage,
    modules,
    modelTopology: model.toJSON(null, false),
    weights: model.layers.flatMap((l) => l.weights.map((w, index) => ({ layer: l.name, index, ...host(w.read()) }))),
    trainable: model.trainableWeights.map((w) => {
      const layer = model.layers.find((l) => l.weights.includes(w));
      if (layer === undefined) throw new Error(`rso.fit: weight ${w.name} belongs to no layer of the model`);
      return [layer.name, layer.weights.indexOf(w)] as const;
    }),
    search,
    xs: args.data.xs.map(host),
    ys: args.data.ys.map(host),
    batchSize: args.batchSize,
    shuffle: args.shuffle,
    losses,
    lossWeights: args.lossWeights,
    lossReduction: args.lossReduction,
    engine: args.engine,
  };
}

/** The started threads: each one's readiness and exit, and the errors they reported. */
interface Threads {
  readonly workers: readonly Worker[];
  readonly ready: Promise<unknown>;
  readonly exits: Promise<unknown>;
  readonly errors: string[];
}

/** Starts ranks 1 … size − 1 with the same payload. */
async function spawn(base: Omit<ShardWorkerData, 'rank'>): Promise<Threads> {
  const { Worker } = await import('node:worker_threads');
  const source = workerSource();
  const errors: string[] = [];
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  const exits: Promise<void>[] = [];
  for (let rank = 1; rank < base.size; rank++) {
    const workerData: ShardWorkerData = { ...base, rank };
    const w = 'url' in source ? new Worker(source.url, { workerData }) : new Worker(source.code, { eval: true, workerData });
    workers.push(w);
    const fail = (message: string, reject: (e: Error) => void) => {
      errors.push(`worker ${rank}: ${message}`);
      reject(new Error(`rso.fit: worker thread ${rank} failed: ${message}`));
    };
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.on('message', (m: { type: string; message?: string }) => {
          if (m.type === 'ready') resolve();
          if (m.type === 'error') fail(m.message ?? 'unknown error', reject);
        });
        w.on('error', (e) => fail(e.message, reject));
      }),
    );
    exits.push(new Promise<void>((resolve) => w.on('exit', () => resolve())));
  }
  return { workers, ready: Promise.all(ready), exits: Promise.all(exits), errors };
}

/** Waits until every thread is ready, or ends them all on the first failure or after the start timeout. */
async function awaitReady(threads: Threads, reducer: ShardReducer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const startTimeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rso.fit: the worker threads did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  });
  try {
    await Promise.race([threads.ready, startTimeout]);
  } catch (e) {
    reducer.abort('main');
    await Promise.all(threads.workers.map((t) => t.terminate()));
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** The trainer's handle on running threads. */
function poolOf(reducer: ShardReducer, threads: Threads): ShardPool {
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
      if (closed) return threads.errors;
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
      await Promise.race([threads.exits, timeout]);
      await Promise.all(threads.workers.map((t) => t.terminate()));
      return threads.errors;
    },
  };
}

/**
 * Starts `size - 1` worker threads: each holds a copy of the model, the search state and the training set,
 * runs the same search in lockstep on its own shard of every batch, and sums BN statistics and losses with the
 * main thread through shared memory.
 *
 * @throws RangeError for a loss function or a backend a worker cannot load; Error if a worker fails to start.
 */
async function startShardWorkers(args: ShardStartArgs, size: number, modules: readonly string[]): Promise<ShardPool> {
  const buffer = allocateReducer(size);
  const reducer = attachReducer(buffer, 0, size);
  const threads = await spawn(await payload(args, buffer, size, modules));
  await awaitReady(threads, reducer);
  return poolOf(reducer, threads);
}

/**
 * Worker threads for `rso.fit`'s `workers` option (Node): `size - 1` threads besides the main one.
 *
 * @remarks Every batch is split into `size` equal shards. Each worker thread holds its own copy of the model
 * on the same backend (cpu, wasm or tfjs-node) and of the training set, runs the same search in lockstep on its
 * shard, and sums BN statistics and losses with the main thread through shared memory. The decisions are those
 * of one thread up to float rounding (shard sums are added in another order). Losses must be given by name.
 * Custom layer classes and policies added with `registerPolicy` exist only in the thread that registered them:
 * list the modules that register them in `modules`, and every worker imports them before it rebuilds the model.
 * @param size - Threads in all, the main one included (an integer ≥ 1; 1 runs no worker).
 * @param options - `modules`: file paths or URLs of modules each worker imports first (to register custom
 *   layers with `tf.serialization.registerClass`, or policies with `registerPolicy`).
 * @returns The pool to pass as `workers`.
 * @throws TypeError for options that are not `{ modules?: (string | URL)[] }`.
 * @example
 * ```ts
 * import { nodeWorkers } from 'tfjs-rso/node';
 * await rso.fit(model, x, y, { batchSize: 1000, workers: nodeWorkers(2) });
 * // A model with a custom layer class, registered in ./threshold-layer.js:
 * await rso.fit(model, x, y, { workers: nodeWorkers(2, { modules: [new URL('./threshold-layer.js', import.meta.url)] }) });
 * ```
 */
export function nodeWorkers(size: number, options: NodeWorkersOptions = {}): WorkerPool {
  requireInteger('nodeWorkers: size', size, 1);
  const modules = moduleUrls(options);
  return { size, start: (args) => startShardWorkers(args, size, modules), check: () => void workerBackend() };
}

/** Options of {@link nodeWorkers}. */
export interface NodeWorkersOptions {
  /** Modules each worker imports before it rebuilds the model: file paths (absolute or relative to the working directory) or URLs. */
  readonly modules?: readonly (string | URL)[];
}

/** The modules as URLs a worker can import. */
function moduleUrls(options: NodeWorkersOptions): string[] {
  if (options === null || typeof options !== 'object') throw new TypeError(`nodeWorkers: options must be an object like { modules: [...] }, got ${String(options)}`);
  rejectUnknown('nodeWorkers options', options, ['modules']);
  const list = options.modules ?? [];
  if (!Array.isArray(list)) throw new TypeError('nodeWorkers: modules must be an array of file paths or URLs');
  return list.map((m: unknown, i) => {
    if (m instanceof URL) return m.href;
    if (typeof m !== 'string' || m.length === 0) throw new TypeError(`nodeWorkers: modules[${i}] must be a file path or a URL, got ${String(m)}`);
    return /^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m) ? m : pathToFileURL(resolve(m)).href;
  });
}
