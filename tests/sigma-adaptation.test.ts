import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, constantSchedule, successRule } from '../src/index.js';
import type { CandidateEvaluator, RSOConfig } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { parseConfig } from '../src/optimizer/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/search/run-batch.js';
import { describeTensor } from '../src/search/weight-groups.js';
import { tinyConvSeq, tinyMlp, toyData, trainBatches, useCpu, weightsOf } from './helpers.js';

beforeAll(useCpu);

describe('successRule', () => {
  it('grows the multiplier above the target share of moves, shrinks it below, within its bounds', () => {
    const rule = successRule({ target: 0.2, window: 10, factor: 2, min: 0.25, max: 4 });
    expect(rule.update(1, 3, 10)).toBe(2);
    expect(rule.update(1, 2, 10)).toBe(0.5);
    expect(rule.update(4, 9, 10)).toBe(4);
    expect(rule.update(0.25, 0, 10)).toBe(0.25);
    expect(rule.config).toEqual({ name: 'successRule', target: 0.2, window: 10, factor: 2, min: 0.25, max: 4 });
  });

  it('rejects bad options naming them', () => {
    expect(() => successRule({ target: 1 })).toThrow(/successRule.target must be < 1, got 1/);
    expect(() => successRule({ factor: 1 })).toThrow(/successRule.factor must be > 1, got 1/);
    expect(() => successRule({ window: 0 })).toThrow(/successRule.window must be an integer ≥ 1, got 0/);
    expect(() => successRule({ min: 2 })).toThrow(/min ≤ 1 ≤ max must hold, got min 2, max 20/);
    expect(() => new RSOOptimizer({ sigmaAdaptation: { name: 'sucessRule' } })).toThrow(/unknown sigmaAdaptation "sucessRule" \(did you mean "successRule"\?\)/);
  });
});

/** One tensor of 20 scalars searched with Δ = σ · multiplier (σ = 1, constant schedule); the evaluator decides moves. */
function search(config: RSOConfig): RSOSearch {
  const s = new RSOSearch(parseConfig({ sigmaBase: 1, sigma: constantSchedule(), distribution: { name: 'rademacher' }, ...config }));
  s.bind([describeTensor('d/kernel', [4, 5])], () => new Float32Array(20), null);
  return s;
}

/** An evaluator that makes w + Δ win when `move` says so, else keeps w; values in a plain array. */
function scripted(move: (step: number) => boolean): CandidateEvaluator {
  const w = new Float32Array(20);
  let step = 0;
  return {
    read: (_t, i) => w[i]!,
    write: (_t, i, v) => void (w[i] = v),
    evaluate: () => (move(step++) ? [1, 0, 2] : [0, 1, 2]),
  };
}

describe('σ adaptation in the search core', () => {
  it('multiplies Δ by the tensor\'s multiplier, updated after each window of its steps', () => {
    const rule = successRule({ window: 5, factor: 2 });
    // Windows 1 and 2 move on every step (σ doubles twice), window 3 never (σ halves).
    const s = search({ sigmaAdaptation: rule });
    const plain = search({});
    const ev = scripted((k) => k < 10);
    const evPlain = scripted((k) => k < 10);
    const ratios = Array.from({ length: 20 }, () => Math.abs(runStep(s, ev).delta / runStep(plain, evPlain).delta));
    expect(ratios).toEqual([...Array(5).fill(1), ...Array(5).fill(2), ...Array(5).fill(4), ...Array(5).fill(2)]);
    // The state carries the multiplier and the window: a restored copy proposes the same Δ.
    const copy = search({ sigmaAdaptation: rule });
    copy.restore(s.state());
    expect(copy.state().adapt).toEqual(s.state().adapt);
    expect(runStep(copy, scripted(() => false)).delta).toBe(runStep(s, scripted(() => false)).delta);
  });

  it('leaves the paper default untouched: no adaptation state, the same Δ', () => {
    const s = search({});
    expect(s.state().adapt).toBeUndefined();
    expect(parseConfig({}).sigmaAdaptation).toBeNull();
  });

  it('refuses a bad restored adaptation state and changes nothing', () => {
    const s = search({ sigmaAdaptation: successRule({ window: 5 }) });
    runStep(s, scripted(() => true));
    const before = s.state();
    const bad = (adapt: number[]) => ({ ...before, adapt: Float32Array.from(adapt) });
    expect(() => s.restore(bad([1, 0]))).toThrow(/adapt: expected 3 values \(3 per tensor\), got 2/);
    expect(() => s.restore(bad([-1, 0, 0]))).toThrow(/σ multiplier of tensor 0 must be finite and > 0, got -1/);
    expect(() => s.restore(bad([1, 5, 0]))).toThrow(/window steps of tensor 0 must be an integer in 0…4, got 5/);
    expect(() => s.restore(bad([1, 2, 3]))).toThrow(/window moves of tensor 0 must be an integer in 0…2, got 3/);
    expect(s.state()).toEqual(before);
  });
});

describe('σ adaptation in training', () => {
  const config = { seed: 5, cycles: 4, sigmaAdaptation: successRule({ window: 8 }) };

  it('saves its state with the model: load and continue gives the weights of an uninterrupted run', async () => {
    const { x, y } = toyData(64, [8], 3);
    const train = (model: tfl.LayersModel, from: number, to: number) => trainBatches(model, x, y, from, to, 16);
    const straight = tinyMlp(2);
    straight.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
    await train(straight, 0, 130);
    const first = tinyMlp(2);
    first.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
    await train(first, 0, 61);
    const names = (await first.optimizer.getWeights()).map((w) => w.name);
    expect(names).toEqual(['iter', 'rso/state', 'rso/sigma', 'rso/adapt']);
    let saved: tf.io.ModelArtifacts | undefined;
    await first.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    const resumed = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    expect((resumed.optimizer as RSOOptimizer).searchState().adapt).toEqual((first.optimizer as RSOOptimizer).searchState().adapt);
    await train(resumed, 61, 130);
    expect(Buffer.from(weightsOf(resumed).buffer).equals(Buffer.from(weightsOf(straight).buffer))).toBe(true);
    // The multipliers moved away from 1 (the test would be vacuous otherwise).
    const adapt = (straight.optimizer as RSOOptimizer).searchState().adapt!;
    expect(Array.from(adapt.subarray(0, 8)).some((m) => m !== 1)).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
    tf.dispose([x, y]);
  });

  it('gives worker threads the same adaptation: 2 threads make the decisions of 1 up to near-ties', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 9);
    const steps = async (workers: number) => {
      const model = tinyConvSeq(3);
      const opt = new RSOOptimizer(config);
      const out: { accepted: number; losses: number[]; delta: number }[] = [];
      await opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: 160, verbose: 0, batchNormSamples: 0,
        ...(workers > 1 ? { workers: nodeWorkers(workers) } : {}),
        callbacks: { onBatchEnd: async () => void out.push({ accepted: opt.lastStepResult!.accepted, losses: Array.from(opt.lastStepResult!.losses), delta: opt.lastStepResult!.delta }) },
      });
      model.dispose();
      return out;
    };
    const [one, two] = [await steps(1), await steps(2)];
    let same = 0;
    for (; same < one.length; same++) {
      expect(two[same]!.delta).toBe(one[same]!.delta);
      if (two[same]!.accepted !== one[same]!.accepted) break;
    }
    expect(same).toBeGreaterThanOrEqual(80);
    tf.dispose([x, y]);
  });
});
