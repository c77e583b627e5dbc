// The threshold probe (examples/lib/threshold-probe.ts): each measure on hand-made cases where the answer is
// known, so that a wrong count fails: ties, flips per candidate, and the second-batch (signal) verdict.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer } from '../src/index.js';
import { ThresholdLayer } from '../examples/lib/straight-through.js';
import { allTied, countFlips, createThresholdProbe, sampleEveryTensor, scaledBelowThresholds, signalOutcome, summarizeSteps } from '../examples/lib/threshold-probe.js';
import type { ProbeStepRecord } from '../examples/lib/threshold-probe.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

/**
 * x (2 features) → dense 2→2 (kernel K, no bias) → H → dense 2→2 (kernel W, no bias) → softmax.
 * K = identity, W = 0 unless given: every softmax output is [1/2, 1/2], so every loss is ln 2.
 */
function tinyNet(w: number[] = [0, 0, 0, 0]): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 2, useBias: false }),
      new ThresholdLayer({}),
      tfl.layers.dense({ units: 2, useBias: false, activation: 'softmax' }),
    ],
  });
  model.setWeights([tf.tensor2d([1, 0, 0, 1], [2, 2]), tf.tensor2d(w, [2, 2])]);
  return model;
}
const isThreshold = (l: tfl.layers.Layer) => l instanceof ThresholdLayer;

describe('counting functions', () => {
  it('allTied: only three bit-equal losses are a tie', () => {
    expect(allTied([0.5, 0.5, 0.5])).toBe(true);
    expect(allTied([0.5, 0.5, 0.5000001])).toBe(false);
    expect(allTied([0.5, 0.4, 0.5])).toBe(false);
    expect(allTied([NaN, NaN, NaN])).toBe(false); // NaN never equals itself: not a tie
  });

  it('countFlips counts the positions whose 0/1 output differs, and leaks nothing', () => {
    const a = tf.tensor2d([0, 1, 1, 0, 1, 0], [2, 3]);
    const b = tf.tensor2d([1, 1, 0, 0, 1, 1], [2, 3]);
    const before = tf.memory().numTensors;
    expect(countFlips(a, b)).toBe(3); // positions 0, 2 and 5
    expect(countFlips(a, a)).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('signalOutcome: lower, equal or higher on the second batch', () => {
    expect(signalOutcome(0.7, 0.6)).toBe('lower');
    expect(signalOutcome(0.7, 0.7)).toBe('equal');
    expect(signalOutcome(0.7, 0.8)).toBe('higher');
  });

  it('summarizeSteps: tie share, flips per candidate and the signal rate of hand-made records', () => {
    const r = (losses: number[], accepted: number, flips: number[] | null, signal: ProbeStepRecord['signal']): ProbeStepRecord => ({
      tensor: 't',
      losses,
      accepted,
      flips,
      cascade: flips === null ? null : flips.map((f) => 2 * f),
      units: flips === null ? 0 : 100,
      signal,
    });
    const records = [
      r([1, 1, 1], 0, [0, 0], null), // a tie: no flip, w kept
      r([1, 0.9, 1.1], 1, [4, 2], 'lower'),
      r([1, 1.2, 0.8], 2, [6, 0], 'higher'),
      r([1, 1.1, 1.2], 0, [2, 2], null), // w kept without a tie
      r([1, 0.5, 1], 1, [10, 0], 'lower'),
    ];
    const s = summarizeSteps(records);
    expect(s.steps).toBe(5);
    expect(s.tieShare).toBeCloseTo(1 / 5, 10);
    // flips per perturbed candidate: 0 0 4 2 6 0 2 2 10 0 → mean 26/10, sorted 0 0 0 0 2 2 2 4 6 10 → median 2
    expect(s.meanFlips).toBeCloseTo(2.6, 10);
    expect(s.medianFlips).toBe(2);
    expect(s.zeroFlipShare).toBeCloseTo(4 / 10, 10);
    expect(s.meanCascade).toBeCloseTo(5.2, 10);
    expect(s.flipShare).toBeCloseTo(0.026, 10);
    // 3 changed steps: 2 lower, 1 higher
    expect(s.changed).toBe(3);
    expect(s.signalRate).toBeCloseTo(2 / 3, 10);
    expect(s.signalEqual).toBe(0);
    expect(s.signalHigher).toBeCloseTo(1 / 3, 10);
    const none = summarizeSteps([r([0.3, 0.2, 0.4], 1, null, 'lower')]);
    expect([none.meanFlips, none.zeroFlipShare, none.signalRate]).toEqual([null, null, 1]);
  });
});

describe('createThresholdProbe', () => {
  it('counts the flips of each candidate and gives an unflipped candidate the loss of w, bit for bit', () => {
    const model = tinyNet([0.5, -0.5, -0.5, 0.5]);
    const probe = createThresholdProbe(model, isThreshold);
    const x = tf.tensor2d([1, -0.5, 0.2, 0.3], [2, 2]);
    const y = tf.tensor2d([1, 0, 0, 1], [2, 2]);
    const before = tf.memory().numTensors;
    probe.setBatch(x, y);
    // K[1][1] (flat 3): the hidden column 1 is x[:, 1] · K[1][1] = [-0.5, 0.3] · k.
    // k = 1: H = [0, 1]; k = 2: [-1, 0.6] → H = [0, 1], no flip; k = -1: [0.5, -0.3] → H = [1, 0], 2 flips.
    const losses = probe.evaluate(0, 3, Float32Array.from([1, 2, -1]));
    expect(losses[1]).toBe(losses[0]);
    expect(losses[2]).not.toBe(losses[0]);
    expect(probe.lastFlips).toEqual({ flips: [0, 2], cascade: [0, 2], units: 4 });
    // The shortcut's loss is the one a full forward gives with k = 2.
    probe.write(0, 3, 2);
    const full = tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)).dataSync()[0]!);
    expect(losses[1]).toBe(full);
    probe.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('has no flips to count above the last threshold', () => {
    const model = tinyNet();
    const probe = createThresholdProbe(model, isThreshold);
    const x = tf.tensor2d([1, -0.5], [1, 2]);
    const y = tf.tensor2d([1, 0], [1, 2]);
    probe.setBatch(x, y);
    probe.evaluate(1, 0, Float32Array.from([0, 1, -1]));
    expect(probe.lastFlips).toEqual({ flips: null, cascade: null, units: 0 });
    probe.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });

  it('scores a kept value on a second batch: lower, higher or equal, with hand-derived losses', () => {
    const model = tinyNet();
    const probe = createThresholdProbe(model, isThreshold);
    // W[0][0] (flat 0 of tensor 1) from 0 to 1: logit 0 rises by h0. With h = [1, 0] (x = [1, −0.5]) the softmax is
    // [e/(1+e), 1/(1+e)]: label 0 → loss ln(1 + 1/e) = 0.313262 (lower than ln 2 = 0.693147); label 1 → ln(1 + e)
    // = 1.313262 (higher). With h = [0, 1] (x = [−1, 0.5]) the logits stay 0: equal.
    const cases: [number[], number[], string, number][] = [
      [[1, -0.5], [1, 0], 'lower', Math.log(1 + Math.exp(-1))],
      [[1, -0.5], [0, 1], 'higher', Math.log(1 + Math.E)],
      [[-1, 0.5], [1, 0], 'equal', Math.LN2],
    ];
    for (const [xs, ys, outcome, after] of cases) {
      const x = tf.tensor2d(xs, [1, 2]);
      const y = tf.tensor2d(ys, [1, 2]);
      const [l0, l1] = probe.secondBatch(1, 0, 0, 1, x, y);
      expect(l0).toBeCloseTo(Math.LN2, 5);
      expect(l1).toBeCloseTo(after, 5);
      expect(signalOutcome(l0, l1)).toBe(outcome);
      expect(probe.read(1, 0)).toBe(1); // the kept value stays
      tf.dispose([x, y]);
    }
    probe.dispose();
    model.dispose();
  });

  it('is the evaluator of the library’s steps: runSteps reports the losses the probe computed', () => {
    const model = tinyNet([0.5, -0.5, -0.5, 0.5]);
    const probe = createThresholdProbe(model, isThreshold);
    const optimizer = new RSOOptimizer({ seed: 3, cycles: 1 });
    optimizer.bind(model.trainableWeights.map((w) => w.read() as tf.Variable));
    const x = tf.tensor2d([1, -0.5, 0.2, 0.3, -0.4, 0.9], [3, 2]);
    const y = tf.tensor2d([1, 0, 0, 1, 0, 1], [3, 2]);
    probe.setBatch(x, y);
    for (let s = 0; s < 8; s++) {
      const r = optimizer.runSteps(probe);
      const flips = probe.lastFlips!;
      // The first group searched is the output layer (tensor 1): no threshold above it; then the hidden kernel.
      expect(flips.flips === null).toBe(r.tensor === 1);
      if (flips.flips !== null) for (let c = 0; c < 2; c++) expect(flips.flips[c] === 0).toBe(r.losses[c + 1] === r.losses[0]);
      expect(probe.read(r.tensor, r.flat)).toBe(r.value);
    }
    probe.dispose();
    optimizer.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('sampleEveryTensor', () => {
  const tensors = [
    { name: 'c/kernel', layer: 'c', role: 'kernel' as const, shape: [10], size: 10 },
    { name: 'b/beta', layer: 'b', role: 'beta' as const, shape: [4], size: 4 },
    { name: 'b/gamma', layer: 'b', role: 'gamma' as const, shape: [4], size: 4 },
  ];
  const context = { cycle: 0, seed: 42, group: 0, groups: 1, tensors };
  const pick = (n: number, m: number, c = context) => Array.from(sampleEveryTensor(n, m).select(18, c) ?? []);

  it('visits n distinct scalars of each kernel and m of each other tensor, sorted, the same for the same seed', () => {
    const picked = pick(3, 2);
    expect(picked).toEqual([...picked].sort((a, b) => a - b));
    expect(new Set(picked).size).toBe(7);
    expect(picked.filter((p) => p < 10)).toHaveLength(3);
    expect(picked.filter((p) => p >= 10 && p < 14)).toHaveLength(2);
    expect(picked.filter((p) => p >= 14 && p < 18)).toHaveLength(2);
    expect(pick(3, 2)).toEqual(picked);
    expect(pick(3, 2, { ...context, seed: 7 })).not.toEqual(picked);
    expect(pick(50, 50)).toHaveLength(18);
  });
});

describe('scaledBelowThresholds', () => {
  it('multiplies the initial-std σ of the layers below the last threshold only', () => {
    const model = tinyNet();
    const rule = scaledBelowThresholds(model, isThreshold, 3);
    // values ±1: std 1, so σ = 1 · scale below the threshold and 1 above it.
    const kernel = (layer: string) => ({ name: `${layer}/kernel`, layer, role: 'kernel' as const, shape: [4], size: 4, values: Float32Array.from([1, -1, 1, -1]) });
    const below = kernel(model.layers[0]!.name);
    const above = kernel(model.layers[2]!.name);
    expect(rule.sigma(below, [below])).toBeCloseTo(3, 10);
    expect(rule.sigma(above, [above])).toBeCloseTo(1, 10);
    model.dispose();
  });
});
