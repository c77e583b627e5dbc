/**
 * A peer trained on MNIST with a time budget: one generation per mini-batch, generation t on the mini-batch of
 * `rso.fit`'s step t with the same seed at the paper's settings (the library's batcher: one seeded shuffle per RSO
 * cycle, its batches in turn), test accuracy measured every few seconds of training.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildGraph } from '../../../src/engine/graph.js';
import { makeBatcher } from '../../../src/train/batcher.js';
import type { MnistTensors } from '../../lib/mnist-bench.js';
import { measureOnTest, stopSignal, trainClock } from '../../lib/mnist-bench.js';
import type { CurvePoint } from '../../lib/run-record.js';
import { flatLayout, readFlat, writeFlat } from './flat-weights.js';
import { createPeer } from './index.js';
import { batchLoss } from './model-objective.js';

/** What {@link runNetwork} needs. */
export interface NetworkRunArgs {
  /** The peer's name. */
  readonly method: string;
  readonly settings: Readonly<Record<string, number>>;
  readonly seed: number;
  /** The model to train, its initial weights the start. */
  readonly model: tfl.LayersModel;
  readonly data: MnistTensors;
  readonly batchSize: number;
  /** Training seconds (measurements excluded). */
  readonly budgetSeconds: number;
  readonly evalEverySeconds: number;
}

/** The curve and the totals of a {@link runNetwork}. */
export interface NetworkRunResult {
  readonly points: CurvePoint[];
  readonly generations: number;
  readonly candidates: number;
  readonly forwardWork: number;
  readonly parameters: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/**
 * Trains `model` with the peer until the budget ends or a SIGINT/SIGTERM, measuring test accuracy (BN statistics
 * re-estimated first) at the start, every `evalEverySeconds` of training and at the end.
 *
 * @remarks Forward work counts examples × layers evaluated, as the library's model engine counts it: each candidate
 * is one full forward pass over the batch. Weight updates count the parameters once per generation.
 */
export async function runNetwork(args: NetworkRunArgs): Promise<NetworkRunResult> {
  const { model, data } = args;
  const layout = flatLayout(model);
  const peer = createPeer(args.method, { start: readFlat(layout), seed: args.seed, settings: args.settings, groups: layout.variables.map((v) => v.size) });
  const layers = buildGraph(model).nodes.length;
  const batcher = makeBatcher([data.train.xs], [data.train.ys], () => args.batchSize, true, args.seed);
  const clock = trainClock();
  const points: CurvePoint[] = [];
  let candidates = 0;
  let forwardWork = 0;
  const record = () => {
    const seconds = clock.train();
    clock.measure(() => writeFlat(layout, peer.solution()));
    const { accuracy, matMulGflops } = measureOnTest(clock, model, data);
    points.push({ method: args.method, seconds, wallSeconds: clock.wall(), cpuSeconds: clock.cpu(), steps: peer.generation, updates: peer.generation * layout.size, forwardWork, accuracy, matMulGflops });
    console.log(`  ${args.method}: generation ${peer.generation}, ${candidates} candidates, ${seconds.toFixed(0)} s: test accuracy ${(accuracy * 100).toFixed(2)}%`);
  };
  record();
  const signal = stopSignal();
  let nextEval = args.evalEverySeconds;
  while (clock.train() < args.budgetSeconds && !signal.stopped()) {
    // Generation t takes the batch of RSO's step t at the paper's settings (one batch per step, a cycle of one step
    // per weight): the cycle's seeded permutation, its batches in turn.
    const cycle = Math.floor(peer.generation / layout.size);
    const index = peer.generation % batcher.batchesPerPass(cycle);
    const batch = batcher.next(cycle, index);
    const rows = batcher.rows(cycle, index);
    try {
      const n = peer.ask();
      const losses = new Float64Array(n);
      for (let k = 0; k < n; k++) losses[k] = batchLoss(model, layout, peer.candidate(k), batch.xs[0]!, batch.ys[0]!);
      peer.tell(losses);
      candidates += n;
      forwardWork += n * rows * layers;
    } finally {
      tf.dispose([...batch.xs, ...batch.ys]);
    }
    await new Promise((r) => setImmediate(r));
    if (clock.train() >= nextEval) {
      record();
      while (nextEval <= clock.train()) nextEval += args.evalEverySeconds;
    }
  }
  signal.release();
  if (points.at(-1)?.steps !== peer.generation) record();
  return { points, generations: peer.generation, candidates, forwardWork, parameters: layout.size, trainSeconds: clock.train(), wallSeconds: clock.wall(), cpuSeconds: clock.cpu() };
}
