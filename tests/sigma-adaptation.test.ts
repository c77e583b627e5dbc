import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, constantSchedule, successRule, tieWidening } from '../src/index.js';
import type { CandidateEvaluator, RSOConfig } from '../src/index.js';
import { parseConfig } from '../src/config/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { tinyMlp, toyData, trainBatches, useCpu, weightsOf } from './helpers.js';

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

describe('tieWidening', () => {
  it('widens after a window of ties, narrows after a window with a move, else keeps the multiplier, within its bounds', () => {
    const rule = tieWidening({ factor: 2, window: 4, min: 0.5, max: 8 });
    expect(rule.countsTies).toBe(true);
    expect(rule.update(1, 0, 4, 4)).toBe(2); // every step tied: 1 · 2
    expect(rule.update(2, 1, 4, 3)).toBe(1); // a move: 2 / 2
    expect(rule.update(2, 0, 4, 3)).toBe(2); // ties and strict wins of w, no move: unchanged
    expect(rule.update(8, 0, 4, 4)).toBe(8); // at max
    expect(rule.update(0.5, 4, 4, 0)).toBe(0.5); // at min
    expect(rule.update(1, 0, 4)).toBe(1); // called without ties (not by the search): none tied
    expect(rule.config).toEqual({ name: 'tieWidening', factor: 2, window: 4, min: 0.5, max: 8 });
    expect(tieWidening().config).toEqual({ name: 'tieWidening', factor: 2, window: 5, min: 1, max: 16 });
  });

  it('rejects bad options naming them', () => {
    expect(() => tieWidening({ factor: 1 })).toThrow(/tieWidening.factor must be > 1, got 1/);
    expect(() => tieWidening({ factor: -2 })).toThrow(/tieWidening.factor must be > 0, got -2/);
    expect(() => tieWidening({ window: 2.5 })).toThrow(/tieWidening.window must be an integer ≥ 1, got 2.5/);
    expect(() => tieWidening({ min: 2 })).toThrow(/tieWidening: min ≤ 1 ≤ max must hold, got min 2, max 16/);
    expect(() => tieWidening({ max: 0.5 })).toThrow(/tieWidening: min ≤ 1 ≤ max must hold, got min 1, max 0.5/);
    expect(() => tieWidening({ max: 1e13 })).toThrow(/tieWidening.max must be ≤ 1000000000000, got 10000000000000/);
    expect(() => tieWidening({ max: NaN })).toThrow(/tieWidening.max must be a finite number, got NaN/);
    expect(() => tieWidening({ facter: 2 } as never)).toThrow(/tieWidening: unknown field "facter" \(did you mean "factor"\?\)/);
    expect(() => new RSOOptimizer({ sigmaAdaptation: { name: 'tieWidening', factor: 0.5 } })).toThrow(/sigmaAdaptation: tieWidening.factor must be > 1, got 0.5/);
  });

  it('keeps the multiplier within [min, max] over any run of windows', () => {
    const options = fc.record({
      factor: fc.double({ min: 1.01, max: 100, noNaN: true }),
      window: fc.integer({ min: 1, max: 20 }),
      min: fc.double({ min: 1e-3, max: 1, noNaN: true }),
      max: fc.double({ min: 1, max: 1e12, noNaN: true }),
    });
    // Each window: steps moved and steps tied (a tie can also move under a custom acceptance rule).
    const windows = fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 60 });
    fc.assert(
      fc.property(options, windows, (o, ws) => {
        const rule = tieWidening(o);
        let m = 1;
        for (const [moved, tied] of ws) {
          m = rule.update(m, Math.round(moved * o.window), o.window, Math.round(tied * o.window));
          expect(m).toBeGreaterThanOrEqual(o.min);
          expect(m).toBeLessThanOrEqual(o.max);
        }
      }),
      { seed: 28, numRuns: 200 },
    );
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

/**
 * A flat loss: w, w + Δ and w − Δ tie (loss 0) unless |Δ| ≥ `reach`, where w + Δ wins; values in a plain array.
 */
function plateau(reach: number): CandidateEvaluator {
  const w = new Float32Array(20);
  return {
    read: (_t, i) => w[i]!,
    write: (_t, i, v) => void (w[i] = v),
    evaluate: (_t, _i, c) => (Math.abs(c[1]! - c[0]!) >= reach ? [1, 0, 2] : [0, 0, 0]),
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

  it('tieWidening: on a plateau every step ties and σ doubles per window until a step reaches past it and moves', () => {
    const s = search({ sigmaAdaptation: tieWidening({ window: 2, factor: 2 }) });
    const ev = plateau(7);
    const steps = Array.from({ length: 16 }, () => runStep(s, ev));
    // |Δ| = σ · m = m (rademacher, σ 1). m: 1 → 2 → 4 → 8 after windows of ties; at 8 ≥ 7 both steps move, so
    // m narrows to 4, where they tie again, and so on.
    expect(steps.map((r) => Math.abs(r.delta))).toEqual([1, 1, 2, 2, 4, 4, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8]);
    expect(steps.map((r) => r.accepted)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
    // successRule reads the same ties as steps without a move: σ shrinks, and no step ever moves.
    const shrinking = search({ sigmaAdaptation: successRule({ window: 2, factor: 2 }) });
    const ev2 = plateau(7);
    expect(Array.from({ length: 16 }, () => runStep(shrinking, ev2).accepted).every((a) => a === 0)).toBe(true);
  });

  it('tieWidening: the window\'s ties are saved; a copy restored mid-window proposes the same Δ, and a bad count is refused', () => {
    const rule = tieWidening({ window: 4, factor: 2 });
    const s = search({ sigmaAdaptation: rule });
    const ev = plateau(3);
    for (let k = 0; k < 7; k++) runStep(s, ev);
    // One window of 4 ties (m = 2), then 3 steps of the next, all tied: [m, steps, moves, ties].
    expect(Array.from(s.state().adapt!)).toEqual([2, 3, 0, 3]);
    const copy = search({ sigmaAdaptation: rule });
    copy.restore(s.state());
    const evCopy = plateau(3);
    for (let k = 0; k < 6; k++) expect(runStep(copy, evCopy).delta).toBe(runStep(s, ev).delta);
    const before = s.state();
    const bad = (adapt: number[]) => ({ ...before, adapt: Float32Array.from(adapt) });
    expect(() => s.restore(bad([1, 0, 0]))).toThrow(/rso\/sigmaAdaptation: expected 4 values \(4 per tensor\), got 3/);
    expect(() => s.restore(bad([1, 2, 0, 3]))).toThrow(/window ties of tensor 0 must be an integer in 0…2, got 3/);
    expect(s.state()).toEqual(before);
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
    expect(() => s.restore(bad([1, 0]))).toThrow(/rso\/sigmaAdaptation: expected 3 values \(3 per tensor\), got 2/);
    expect(() => s.restore(bad([-1, 0, 0]))).toThrow(/σ multiplier of tensor 0 must be finite and > 0, got -1/);
    expect(() => s.restore(bad([1, 5, 0]))).toThrow(/window steps of tensor 0 must be an integer in 0…4, got 5/);
    expect(() => s.restore(bad([1, 2, 3]))).toThrow(/window moves of tensor 0 must be an integer in 0…2, got 3/);
    expect(s.state()).toEqual(before);
  });
});

/** name and optimizer options. tieWidening starts from a σ far below float32's resolution, so that every step ties until it widens. */
const TRAINING_ROWS: readonly (readonly [string, RSOConfig])[] = [
  ['successRule', { seed: 5, cycles: 4, sigmaAdaptation: successRule({ window: 8 }) }],
  ['tieWidening from a σ below float32 resolution', { seed: 5, cycles: 4, sigmaBase: 1e-12, sigmaAdaptation: tieWidening({ window: 1, factor: 1e11, max: 1e11 }) }],
];

// Config round trip, save/load/continue and threads: the σ adaptation rows of tests/feature-table.ts.
for (const [name, config] of TRAINING_ROWS) {
  describe(`σ adaptation in training: ${name}`, () => {
    it('repeats a seeded run bit for bit, moves the multipliers, saves them as rso/sigmaAdaptation, and leaks no tensor', async () => {
      const { x, y } = toyData(64, [8], 3);
      const run = async () => {
        const model = tinyMlp(2);
        model.compile({ optimizer: new RSOOptimizer(config), loss: 'categoricalCrossentropy' });
        await trainBatches(model, x, y, 0, 90, 16);
        const opt = model.optimizer as RSOOptimizer;
        const out = { weights: weightsOf(model), adapt: opt.searchState().adapt!, names: (await opt.getWeights()).map((w) => w.name) };
        model.optimizer.dispose();
        model.dispose();
        return out;
      };
      const before = tf.memory().numTensors;
      const [a, b] = [await run(), await run()];
      expect(tf.memory().numTensors).toBe(before);
      expect(Buffer.from(b.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(true);
      expect(Array.from(b.adapt)).toEqual(Array.from(a.adapt));
      expect(a.names).toEqual(['iter', 'rso/search', 'rso/sigma', 'rso/sigmaAdaptation']);
      // The multipliers moved away from 1 (the test would be vacuous otherwise).
      expect(Array.from(a.adapt.subarray(0, 8)).some((m) => m !== 1)).toBe(true);
      tf.dispose([x, y]);
    });
  });
}
