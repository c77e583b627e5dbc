import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import type { StepResult } from '../src/index.js';
import { chainResidual, mlpResidual, tinyConvSeq, toyData, useCpu, weightsOf } from './helpers.js';
import { disposeModel, regularizedMlp, reusedSubModel, sharedDenseMlp } from './shared-models.js';
import { opMlp } from './no-gradient-models.js';

beforeAll(useCpu);

const STEPS = 240;
const BATCH = 24;
const config = { seed: 17, cycles: 5 };

interface Step {
  readonly tensor: number;
  readonly flat: number;
  readonly accepted: number;
  readonly losses: number[];
}

async function run(build: () => tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, workers: number, batchCandidates = false) {
  const model = build();
  const opt = new RSOOptimizer(config);
  const steps: Step[] = [];
  const record = (r: StepResult): Step => ({ tensor: r.tensor, flat: r.flat, accepted: r.accepted, losses: Array.from(r.losses) });
  const history = await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy',
    batchSize: BATCH,
    maxSteps: STEPS,
    cycles: 100,
    verbose: 0,
    engine: 'model',
    batchNormSamples: 0,
    workers: nodeWorkers(workers),
    batchCandidates,
    callbacks: { onBatchEnd: async () => void steps.push(record(opt.lastStepResult!)) },
  });
  return { model, opt, steps, history };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

describe('sharded model engine (worker threads)', () => {
  // On wasm the engine's BN takes its fast kernels (engine/channel-norm.ts) in every thread. The Sequential net
  // is not run there: its second conv has a bias in front of a BN, which cancels, so one thread sees three
  // exactly equal losses for that bias, and the float32 shard arithmetic breaks the tie at step 93 (reported
  // as a near-tie with gap 0, but before half the steps, which this test requires).
  for (const [backend, name, build, features] of [
    ['cpu', 'Sequential conv/BN/pool/dense', () => tinyConvSeq(4, [8, 8, 1]), [8, 8, 1]],
    ['cpu', 'DAG with conv chains and a residual add', () => chainResidual(4, [8, 8, 1]), [8, 8, 1]],
    ['wasm', 'DAG with conv chains and a residual add', () => chainResidual(4, [8, 8, 1]), [8, 8, 1]],
    ['wasm', 'MLP DAG with dense chains and a residual add', () => mlpResidual(4), [8]],
    // Rebuilt from JSON in every thread: a layer called twice keeps its two calls, regularizers come along.
    ['cpu', 'MLP DAG with a Dense layer called twice', () => sharedDenseMlp(4), [8]],
    ['cpu', 'MLP DAG with L2 and L1L2 kernel and bias regularizers', () => regularizedMlp(4), [8]],
  ] as const) {
    it(`${name} on ${backend}: 2 and 3 threads make the decisions of 1 thread up to near-ties, losses within 1e-5`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const before = tf.memory().numTensors;
      const { x, y } = toyData(96, [...features], 5);
      const one = await run(build, x, y, 1);
      for (const workers of [2, 3]) {
        const many = await run(build, x, y, workers);
        expect(many.history.params['workers']).toBe(workers);
        expect(many.steps).toHaveLength(STEPS);
        // The threads took the delta path (conv or Dense chains), not only the suffix re-run.
        expect(Number(many.history.params['engineDeltaSteps'])).toBeGreaterThan(20);
        if (workers === 2) {
          // Seeded runs repeat bit for bit with the same number of threads.
          const again = await run(build, x, y, workers);
          expect(again.steps).toEqual(many.steps);
          expect(weightsOf(again.model)).toEqual(weightsOf(many.model));
          disposeModel(again.model);
        }
        // Compare step by step until the paths part. Shard sums are added in another order, so they may part
        // only where two candidates tie within float32 rounding; such a step is reported, and the run must
        // have agreed on most steps before it.
        let worst = 0;
        let same = 0;
        for (; same < STEPS; same++) {
          const a = one.steps[same]!;
          const b = many.steps[same]!;
          expect([b.tensor, b.flat]).toEqual([a.tensor, a.flat]);
          for (let k = 0; k < a.losses.length; k++) worst = Math.max(worst, relErr(a.losses[k]!, b.losses[k]!));
          if (b.accepted !== a.accepted) {
            const gap = relErr(a.losses[a.accepted]!, a.losses[b.accepted]!);
            console.log(`near-tie, ${backend}, ${workers} threads, step ${same}: accepted ${b.accepted} vs ${a.accepted}, losses [${b.losses}] vs [${a.losses}], gap ${gap.toExponential(2)}`);
            expect(gap).toBeLessThan(1e-6);
            break;
          }
        }
        expect(worst).toBeLessThan(1e-5);
        expect(same).toBeGreaterThanOrEqual(STEPS / 2);
        if (same === STEPS) {
          const w1 = weightsOf(one.model);
          const w2 = weightsOf(many.model);
          for (let i = 0; i < w1.length; i++) expect(Math.abs(w1[i]! - w2[i]!)).toBeLessThan(1e-5);
          expect(many.opt.searchState()).toEqual(one.opt.searchState());
        }
        disposeModel(many.model);
      }
      disposeModel(one.model);
      x.dispose();
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
      await useCpu();
    }, 120_000);
  }

  it('batched candidates in 2 threads give the losses and decisions of unbatched ones (cpu, DAG with a skip)', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const before = tf.memory().numTensors;
    const { x, y } = toyData(96, [8, 8, 1], 5);
    const plain = await run(() => chainResidual(4, [8, 8, 1]), x, y, 2);
    const batched = await run(() => chainResidual(4, [8, 8, 1]), x, y, 2, true);
    expect(Number(batched.history.params['engineBatchedSteps'])).toBeGreaterThan(40);
    expect(Number(batched.history.params['engineBatchedSteps'])).toBe(Number(batched.history.params['engineDeltaSteps']));
    expect(Number(plain.history.params['engineBatchedSteps'])).toBe(0);
    expect(batched.steps).toHaveLength(STEPS);
    batched.steps.forEach((b, i) => {
      const a = plain.steps[i]!;
      expect([b.tensor, b.flat, b.accepted]).toEqual([a.tensor, a.flat, a.accepted]);
      for (let k = 0; k < a.losses.length; k++) expect(relErr(a.losses[k]!, b.losses[k]!)).toBeLessThan(1e-6);
    });
    plain.model.dispose();
    batched.model.dispose();
    x.dispose();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('rejects what a worker cannot rebuild, with clear errors', async () => {
    const { x, y } = toyData(32, [6, 6, 1], 5);
    const opt = () => new RSOOptimizer(config);
    await expect(opt().fit(tinyConvSeq(1), x, y, { batchSize: 16, maxSteps: 2, verbose: 0, workers: nodeWorkers(2), loss: (a, b) => tf.losses.meanSquaredError(a, b) })).rejects.toThrow(/loss by name/);
    await expect(opt().fit(tinyConvSeq(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 2, verbose: 0, workers: nodeWorkers(2), engine: 'closure' })).rejects.toThrow(/model engine/);
    await expect(opt().fit(tinyConvSeq(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 2, maxSteps: 2, verbose: 0, workers: nodeWorkers(3) })).rejects.toThrow(/at least 3 examples/);
    await expect(opt().fit(tinyConvSeq(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 2, verbose: 0, workers: 1.5 })).rejects.toThrow(/workers/);
    await expect(opt().fit(tinyConvSeq(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 2, verbose: 0, workers: 2 })).rejects.toThrow(/nodeWorkers\(2\) from 'tfjs-rso\/node'/);
    await expect(opt().fit(tinyConvSeq(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 2, verbose: 0, batchCandidates: 'yes' as unknown as boolean })).rejects.toThrow(/batchCandidates must be true or false/);
    x.dispose();
    y.dispose();
  }, 60_000);

  it('rebuilds a custom layer class in every worker when its module is listed in modules, and names the class when not', async () => {
    const { x, y } = toyData(96, [8], 5);
    const fit = async (workers: ReturnType<typeof nodeWorkers> | undefined) => {
      const model = opMlp('greater', 3, true);
      const opt = new RSOOptimizer(config);
      const steps: number[] = [];
      await opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: 120, verbose: 0, batchNormSamples: 0, ...(workers === undefined ? {} : { workers }),
        callbacks: { onBatchEnd: async () => void steps.push(opt.lastStepResult!.accepted) },
      });
      model.dispose();
      return steps;
    };
    await expect(fit(nodeWorkers(2))).rejects.toThrow(/Unknown layer: NoGradientOpLayer/);
    const one = await fit(undefined);
    const two = await fit(nodeWorkers(2, { modules: [new URL('./no-gradient-models.ts', import.meta.url)] }));
    // Decisions as on one thread, up to a near-tie late in the run.
    const same = one.findIndex((a, i) => a !== two[i]);
    expect(same === -1 ? one.length : same).toBeGreaterThanOrEqual(60);
    expect(() => nodeWorkers(2, { modules: [5 as unknown as string] })).toThrow(/modules\[0\] must be a file path or a URL, got 5/);
    expect(() => nodeWorkers(2, { module: [] } as never)).toThrow(/unknown field "module" \(did you mean "modules"\?\)/);
    tf.dispose([x, y]);
  });

  it('rejects a nested model holding a BatchNormalization layer, whose statistics a thread would take from its shard alone', async () => {
    const { x, y } = toyData(32, [8], 5);
    const fit = new RSOOptimizer(config).fit(reusedSubModel(1), x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 2, verbose: 0, workers: nodeWorkers(2), batchNormSamples: 0 });
    await expect(fit).rejects.toThrow(/nested model \S+ holds a BatchNormalization layer/);
    x.dispose();
    y.dispose();
  }, 60_000);

  it('a failure on the main thread stops the workers and leaves the model as before the failing step', async () => {
    const { x, y } = toyData(48, [8, 8, 1], 5);
    const model = tinyConvSeq(3, [8, 8, 1]);
    const opt = new RSOOptimizer(config);
    let batches = 0;
    let before: Float32Array | null = null;
    await expect(
      opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy',
        batchSize: 16,
        cycles: 10,
        verbose: 0,
        workers: nodeWorkers(2),
        batchNormSamples: 0,
        callbacks: {
          onBatchEnd: async () => {
            batches++;
            if (batches === 5) {
              before = weightsOf(model);
              throw new Error('callback failed');
            }
          },
        },
      }),
    ).rejects.toThrow(/callback failed/);
    expect(weightsOf(model)).toEqual(before);
    // A new fit starts fresh workers from the current state.
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 3, verbose: 0, workers: nodeWorkers(2), batchNormSamples: 0 });
    expect(opt.step).toBe(8);
    model.dispose();
    x.dispose();
    y.dispose();
  }, 60_000);
});
