import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, constantSchedule, successRule } from '../src/index.js';
import type { CandidateEvaluator, RSOConfig } from '../src/index.js';
import { parseConfig } from '../src/config/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu, weightsOf } from './helpers.js';
import { sharedSteps, straightAndResumed, threadSteps } from './run-helpers.js';

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
    const { straight, first, resumed } = await straightAndResumed(() => tinyMlp(2), config, x, y, 61, 130);
    expect((await first.optimizer.getWeights()).map((w) => w.name)).toEqual(['iter', 'rso/state', 'rso/sigma', 'rso/adapt']);
    expect(Buffer.from(weightsOf(resumed).buffer).equals(Buffer.from(weightsOf(straight).buffer))).toBe(true);
    // The multipliers moved away from 1 (the test would be vacuous otherwise).
    const adapt = (straight.optimizer as RSOOptimizer).searchState().adapt!;
    expect(Array.from(adapt.subarray(0, 8)).some((m) => m !== 1)).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
    tf.dispose([x, y]);
  });

  it('gives worker threads the same adaptation: 2 threads make the decisions of 1 up to near-ties', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 9);
    const [one, two] = [await threadSteps(() => tinyConvSeq(3), config, x, y, 1), await threadSteps(() => tinyConvSeq(3), config, x, y, 2)];
    expect(sharedSteps(one, two)).toBeGreaterThanOrEqual(80);
    tf.dispose([x, y]);
  });
});
