import { describe, expect, it } from 'vitest';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';
import { describeTensor, groupWeights, searchOrderToFlat } from '../src/base/weight-groups.js';
import { parseConfig } from '../src/config/config.js';
import type { RSOConfig } from '../src/config/config.js';
import type { CandidateEvaluator } from '../src/engine/evaluator.js';
import { constantSchedule, greedyAcceptance, heSigma, initStdSigma } from '../src/index.js';
import type { PerturbationDistribution } from '../src/index.js';
import '../src/index.js';

/** Δ = 1 before scaling, so every candidate below can be written by hand. */
const unitDelta: PerturbationDistribution = { sample: () => 1 };

/** A quadratic loss Σ (w − target)² over plain arrays. */
function quadratic(values: Float32Array[], targets: Float32Array[]): CandidateEvaluator & { calls: number } {
  const ev = {
    calls: 0,
    read: (t: number, i: number) => values[t]![i]!,
    write: (t: number, i: number, v: number) => {
      values[t]![i] = v;
    },
    evaluate(t: number, i: number, cands: Float32Array) {
      return Array.from(cands, (c) => {
        ev.calls++;
        values[t]![i] = c;
        let s = 0;
        values.forEach((arr, a) => arr.forEach((w, j) => (s += (w - targets[a]![j]!) ** 2)));
        return s;
      });
    },
  };
  return ev;
}

function boundSearch(config: RSOConfig, tensors: { name: string; shape: number[] }[], values: Float32Array[]): RSOSearch {
  const s = new RSOSearch(parseConfig(config));
  s.bind(tensors.map((t) => describeTensor(t.name, t.shape)), (i) => values[i]!, null);
  return s;
}

describe('search order', () => {
  it('maps conv kernels filter by filter: out, in, kh, kw', () => {
    // [kh=2, kw=2, in=2, out=3]: k=1 is (o0, i0, h0, w1) → flat ((0·2+1)·2+0)·3+0 = 6
    const conv = describeTensor('c/kernel', [2, 2, 2, 3]);
    expect(searchOrderToFlat(conv, 0)).toBe(0);
    expect(searchOrderToFlat(conv, 1)).toBe(6);
    // k=4 is (o0, i1, h0, w0) → flat 1·3 = 3; k=8 is (o1, i0, h0, w0) → flat 1
    expect(searchOrderToFlat(conv, 4)).toBe(3);
    expect(searchOrderToFlat(conv, 8)).toBe(1);
    const flats = Array.from({ length: 24 }, (_, k) => searchOrderToFlat(conv, k));
    expect(new Set(flats).size).toBe(24);
  });
  it('maps dense kernels by output unit, then input feature', () => {
    // [in=3, out=2]: k = o·3 + i ↦ i·2 + o
    const dense = describeTensor('d/kernel', [3, 2]);
    expect(Array.from({ length: 6 }, (_, k) => searchOrderToFlat(dense, k))).toEqual([0, 2, 4, 1, 3, 5]);
  });
  it('groups a BN layer with the conv before it: kernel, then beta, then gamma', () => {
    const infos = [
      describeTensor('conv/kernel', [3, 3, 1, 2]),
      describeTensor('bn/gamma', [2]),
      describeTensor('bn/beta', [2]),
      describeTensor('dense/kernel', [2, 3]),
      describeTensor('dense/bias', [3]),
    ];
    expect(groupWeights(infos, true)).toEqual([
      { name: 'conv+bn', tensors: [0, 2, 1], size: 22 },
      { name: 'dense', tensors: [3, 4], size: 9 },
    ]);
    expect(groupWeights(infos, false).map((g) => g.name)).toEqual(['conv', 'bn', 'dense']);
  });
});

describe('ask/tell', () => {
  it('proposes candidates around the value it is given, never calls an evaluator, and re-proposes after cancel', () => {
    // One scalar, σ = 0.5, factor 1, Δ = 1 · σ: ask(w = 2) → [2, 2.5, 1.5]; loss (w − 1)² → keeps 1.5.
    const s = boundSearch({ sigmaBase: 0.5, sigma: constantSchedule({ value: 1 }), distribution: unitDelta }, [{ name: 'a/kernel', shape: [1, 1] }], [new Float32Array([2])]);
    const p = s.ask(() => 2);
    expect(Array.from(p.candidates)).toEqual([2, 2.5, 1.5]);
    expect(p.previous).toBe(2);
    expect(s.tell([1, 2.25, 0.25]).accepted).toBe(2);
    expect(() => s.tell([1, 1, 1])).toThrow(/no step was asked/);
    expect(s.step).toBe(1);
    // A cancelled step comes back the same, with the same Δ.
    const q = s.ask(() => 1.5);
    s.cancel();
    const again = s.ask(() => 1.5);
    expect(again).toEqual(q);
    expect(s.tell([0.25, 1, 0]).accepted).toBe(2);
    expect(s.step).toBe(2);
  });
});

describe('RSO step (hand-derived)', () => {
  it('keeps the lowest of w, w+Δ, w−Δ and visits output → input', () => {
    // Two layers a (input side) and b (output side), one scalar each, fixed σ = 0.5, σ factor 1.
    // Loss (wa − 1)² + (wb + 1)². Start wa = wb = 0.
    // Step 1 visits b (output first): candidates 0, 0.5, −0.5 → losses 2, 3.25, 1.25 → keeps −0.5.
    // Step 2 visits a: candidates 0, 0.5, −0.5 with wb = −0.5 → 1.25, 0.5, 2.5 → keeps 0.5.
    const values = [new Float32Array([0]), new Float32Array([0])];
    const ev = quadratic(values, [new Float32Array([1]), new Float32Array([-1])]);
    const s = boundSearch(
      { sigmaBase: 0.5, sigma: constantSchedule({ value: 1 }), distribution: unitDelta },
      [{ name: 'a/kernel', shape: [1, 1] }, { name: 'b/kernel', shape: [1, 1] }],
      values,
    );
    const r1 = runStep(s, ev);
    expect(r1.tensor).toBe(1);
    expect(Array.from(r1.losses)).toEqual([2, 3.25, 1.25]);
    expect(r1.accepted).toBe(2);
    const r2 = runStep(s, ev);
    expect(r2.tensor).toBe(0);
    expect(Array.from(r2.losses)).toEqual([1.25, 0.5, 2.5]);
    expect([values[0]![0], values[1]![0]]).toEqual([0.5, -0.5]);
    // Both scalars visited: cycle 1 starts.
    expect(s.cycle).toBe(1);
    expect(s.step).toBe(2);
    expect(ev.calls).toBe(6);
  });

  it('anneals σ with the schedule: cycle c uses σ · s(c, cycles)', () => {
    // σ = 1, linear 1 → 0.1 over 3 cycles: s(0) = 1, s(1) = 0.7, s(2) = 0.4. One scalar, target far away so
    // w + Δ always wins: w = 0 → 1 → 1.7 → 2.1.
    const values = [new Float32Array([0])];
    const ev = quadratic(values, [new Float32Array([100])]);
    const s = boundSearch({ sigmaBase: 1, cycles: 3, distribution: unitDelta }, [{ name: 'a/kernel', shape: [1, 1] }], values);
    const seen = [0, 1, 2].map(() => (runStep(s, ev), values[0]![0]!));
    expect(seen[0]).toBeCloseTo(1, 6);
    expect(seen[1]).toBeCloseTo(1.7, 6);
    expect(seen[2]).toBeCloseTo(2.1, 6);
  });

  it('applies weight decay before building the candidates', () => {
    // w0 = 2, decay 0.25 → w = 1.5; σ = 0.5: candidates 1.5, 2, 1; target 2 → keeps 2 (w + Δ).
    const values = [new Float32Array([2])];
    const ev = quadratic(values, [new Float32Array([2])]);
    const s = boundSearch(
      { sigmaBase: 0.5, sigma: constantSchedule(), distribution: unitDelta, weightDecay: 0.25 },
      [{ name: 'a/kernel', shape: [1, 1] }],
      values,
    );
    const r = runStep(s, ev);
    expect(Array.from(r.losses)).toEqual([0.25, 0, 1]);
    expect(values[0]![0]).toBe(2);
  });

  it('greedy acceptance: ties keep w, NaN and ±Inf never win', () => {
    const g = greedyAcceptance();
    expect(g.accept([1, 1, 1])).toBe(0);
    expect(g.accept([1, 0.5, 0.5])).toBe(1);
    expect(g.accept([1, 2, 0.5])).toBe(2);
    expect(g.accept([NaN, 3, 2])).toBe(2);
    expect(g.accept([1, -Infinity, NaN])).toBe(0);
    expect(g.accept([Infinity, NaN, 5])).toBe(2);
    expect(g.accept([NaN, NaN, NaN])).toBe(0);
  });

  it('on an evaluator error, restores the weight bit-identically, rewinds the generator, and rethrows', () => {
    const values = [new Float32Array([0.1, -0.2, 0.3])];
    const original = values[0]!.slice();
    let failAt = 2;
    const inner = quadratic(values, [new Float32Array([1, 1, 1])]);
    const ev: CandidateEvaluator = {
      read: inner.read,
      write: inner.write,
      evaluate(t, i, c) {
        // Writes a candidate, then fails mid-step.
        values[t]![i] = c[1]!;
        if (--failAt === 0) throw new Error('loss exploded');
        return inner.evaluate(t, i, c);
      },
    };
    const s = boundSearch({ seed: 4, sigmaBase: 0.5 }, [{ name: 'a/kernel', shape: [3, 1] }], values);
    const first = runStep(s, ev);
    const after1 = values[0]!.slice();
    const state = s.state();
    expect(() => runStep(s, ev)).toThrow('loss exploded');
    expect(values[0]!).toEqual(after1);
    expect(Buffer.from(values[0]!.buffer).equals(Buffer.from(after1.buffer))).toBe(true);
    expect(s.state()).toEqual(state);
    // Retrying continues exactly as a run without the failure would.
    const retry = runStep(s, ev);
    const clean = [original.slice()];
    const s2 = boundSearch({ seed: 4, sigmaBase: 0.5 }, [{ name: 'a/kernel', shape: [3, 1] }], clean);
    const ev2 = quadratic(clean, [new Float32Array([1, 1, 1])]);
    expect(runStep(s2, ev2).delta).toBe(first.delta);
    expect(runStep(s2, ev2).delta).toBe(retry.delta);
  });
});

describe('σ rules', () => {
  const t = (name: string, values: number[], shape = [values.length]) => ({ ...describeTensor(name, shape), values: Float32Array.from(values) });
  it('initStd: own std, else the layer kernel std, else the constant 0.167', () => {
    const kernel = t('d/kernel', [1, -1, 1, -1], [2, 2]); // std 1
    const bias = t('d/bias', [0, 0]);
    const gamma = t('bn/gamma', [1, 1]);
    const rule = initStdSigma();
    expect(rule.sigma(kernel, [kernel, bias])).toBeCloseTo(1, 6);
    expect(rule.sigma(bias, [kernel, bias])).toBeCloseTo(1, 6);
    expect(rule.sigma(gamma, [gamma])).toBeCloseTo(0.167, 6);
  });
  it('he: sqrt(2 / fanIn), bias borrows the kernel value', () => {
    const kernel = t('c/kernel', new Array(3 * 3 * 4 * 2).fill(0), [3, 3, 4, 2]); // fanIn 36 → sqrt(2/36)
    const bias = t('c/bias', [0, 0]);
    expect(heSigma().sigma(kernel, [kernel, bias])).toBeCloseTo(Math.sqrt(2 / 36), 9);
    expect(heSigma().sigma(bias, [kernel, bias])).toBeCloseTo(Math.sqrt(2 / 36), 9);
  });
  it('bnSigma overrides the rule for gamma and beta only', () => {
    const values = [Float32Array.from([0.5, -0.5]), Float32Array.from([1, 1]), Float32Array.from([0, 0])];
    const s = new RSOSearch(parseConfig({ bnSigma: 0.3 }));
    s.bind([describeTensor('d/kernel', [2, 1]), describeTensor('bn/gamma', [2]), describeTensor('bn/beta', [2])], (i) => values[i]!, null);
    expect(Array.from(s.baseSigmas!)).toEqual([0.5, Math.fround(0.3), Math.fround(0.3)]);
  });
  it('a rule that returns 0 is an error that names the tensor', () => {
    const s = new RSOSearch(parseConfig({ sigmaBase: { sigma: () => 0 } }));
    expect(() => s.bind([describeTensor('d/kernel', [2, 1])], () => new Float32Array(2), null)).toThrow(/σ for "d\/kernel" must be finite and > 0, got 0/);
  });
});

describe('coordinate selection', () => {
  it('randomSubset visits the requested share of each group, seeded by (seed, cycle)', async () => {
    const { randomSubset } = await import('../src/index.js');
    const sel = randomSubset({ fraction: 0.25 });
    const a = sel.select(100, { cycle: 0, seed: 1, group: 0, groups: 2, tensors: [] })!;
    expect(a.length).toBe(25);
    expect(new Set(a).size).toBe(25);
    expect(Array.from(a)).toEqual([...a].sort((x, y) => x - y));
    expect(sel.select(100, { cycle: 0, seed: 1, group: 0, groups: 2, tensors: [] })).toEqual(a);
    expect(sel.select(100, { cycle: 1, seed: 1, group: 0, groups: 2, tensors: [] })).not.toEqual(a);
  });
  it('randomSubset with one share per group visits each group’s share, sweeping a share of 1 whole', async () => {
    const { randomSubset } = await import('../src/index.js');
    const sel = randomSubset({ fraction: [0.25, 1] });
    expect(sel.select(100, { cycle: 0, seed: 1, group: 0, groups: 2, tensors: [] })!.length).toBe(25);
    expect(sel.select(100, { cycle: 0, seed: 1, group: 1, groups: 2, tensors: [] })).toBeNull();
    expect(sel.select(100, { cycle: 0, seed: 1, group: 0, groups: 2, tensors: [] })).toEqual(randomSubset({ fraction: 0.25 }).select(100, { cycle: 0, seed: 1, group: 0, groups: 2, tensors: [] }));
    expect(() => sel.select(100, { cycle: 0, seed: 1, group: 0, groups: 3, tensors: [] })).toThrow(/coordinates: randomSubset.fraction lists 2 shares \(\[0.25,1\]\), but the model has 3 weight groups/);
  });
  it('rankedSubset visits the cheapest share of each ranked tensor in search order, and every other scalar', async () => {
    const { rankedSubset } = await import('../src/index.js');
    // A dense kernel [in 2, out 3], row-major flat i·3 + o, searched filter by filter: position k = o·2 + i.
    const kernel = describeTensor('d/kernel_4', [2, 3]);
    const bias = describeTensor('d/bias', [3]);
    // Row-major costs: flat 0 (i0,o0) 0.9, 1 (i0,o1) 0.1, 2 (i0,o2) 0.5, 3 (i1,o0) 0.2, 4 (i1,o1) 0.8, 5 (i1,o2) 0.3.
    const costs = [0.9, 0.1, 0.5, 0.2, 0.8, 0.3];
    const sel = rankedSubset({ fraction: 0.5, tensors: [{ name: 'd/kernel', costs }] });
    // The cheapest three: flats 1, 3, 5 ↦ positions (o1,i0) = 2, (o0,i1) = 1, (o2,i1) = 5; then the bias at 6, 7, 8.
    const context = { cycle: 0, seed: 1, group: 0, groups: 1, tensors: [kernel, bias] };
    expect(Array.from(sel.select(9, context)!)).toEqual([1, 2, 5, 6, 7, 8]);
    expect(Array.from({ length: 6 }, (_, k) => searchOrderToFlat(kernel, k))).toEqual([0, 3, 1, 4, 2, 5]);
    // The same in every cycle and seed; a share of 1 over every ranked tensor is the full sweep.
    expect(sel.select(9, { ...context, cycle: 3, seed: 8 })).toEqual(sel.select(9, context));
    expect(rankedSubset({ fraction: 1, tensors: [{ name: 'd/kernel', costs }] }).select(9, context)).toBeNull();
    // Ties go to the earlier position; at least one scalar per ranked tensor.
    expect(Array.from(rankedSubset({ fraction: 0.01, tensors: [{ name: 'd/kernel', costs: [1, 1, 1, 1, 1, 1] }] }).select(6, { ...context, tensors: [kernel] })!)).toEqual([0]);
    expect(() => rankedSubset({ fraction: 0.5, tensors: [{ name: 'd/kernel', costs: [1, 2] }] }).select(9, context)).toThrow(/rankedSubset lists 2 costs for "d\/kernel_4", which has 6 scalars/);
  });
  it('rankedSubset names the field of a bad option', async () => {
    const { rankedSubset } = await import('../src/index.js');
    const t = [{ name: 'd/kernel', costs: [0.1] }];
    expect(() => rankedSubset({ fraction: 0, tensors: t })).toThrow(/rankedSubset.fraction must be > 0/);
    expect(() => rankedSubset({ fraction: 0.5, tensors: [] })).toThrow(/rankedSubset.tensors must name at least one tensor/);
    expect(() => rankedSubset({ fraction: 0.5, tensors: [...t, { name: 'd/kernel_2', costs: [1] }] })).toThrow(/rankedSubset.tensors\[1\].name: "d\/kernel_2" is listed twice/);
    expect(() => rankedSubset({ fraction: 0.5, tensors: [{ name: 'd/kernel', costs: [0.1, NaN] }] })).toThrow(/rankedSubset.tensors\[0\].costs\[1\] must be a finite number, got NaN/);
    expect(() => rankedSubset({ fraction: 0.5, tensors: [{ name: '', costs: [1] }] })).toThrow(/rankedSubset.tensors\[0\].name must be a tensor name/);
    expect(() => rankedSubset({ fraction: 0.5, tensors: t, share: 1 } as never)).toThrow(/unknown/);
  });
  it('rankedSubset round-trips through the optimizer config and runs its share of a cycle', () => {
    const values = [new Float32Array(40), new Float32Array(40)];
    const ev = quadratic(values, [new Float32Array(40), new Float32Array(40)]);
    const costs = Array.from({ length: 40 }, (_, k) => 40 - k);
    const s = boundSearch(
      { coordinates: { name: 'rankedSubset', fraction: 0.25, tensors: [{ name: 'a/kernel', costs }] }, sigmaBase: 1 },
      [{ name: 'a/kernel', shape: [40, 1] }, { name: 'b/kernel', shape: [40, 1] }],
      values,
    );
    const perGroup = new Map<string, number>();
    while (s.cycle === 0) {
      const group = s.currentGroupName();
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
      runStep(s, ev);
    }
    expect(Object.fromEntries(perGroup)).toEqual({ a: 10, b: 40 });
  });
  it('a cycle with per-group shares runs share × size steps in each group', () => {
    const values = [new Float32Array(40), new Float32Array(40)];
    const ev = quadratic(values, [new Float32Array(40), new Float32Array(40)]);
    const s = boundSearch(
      { coordinates: { name: 'randomSubset', fraction: [0.1, 0.5] }, sigmaBase: 1 },
      [{ name: 'a/kernel', shape: [40, 1] }, { name: 'b/kernel', shape: [40, 1] }],
      values,
    );
    const perGroup = new Map<string, number>();
    while (s.cycle === 0) {
      const group = s.currentGroupName();
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
      runStep(s, ev);
    }
    expect(Object.fromEntries(perGroup)).toEqual({ a: 4, b: 20 });
  });
  it('per-group shares of the wrong length stop the first step, before any weight moves', () => {
    const values = [Float32Array.from({ length: 40 }, (_, i) => i / 40), new Float32Array(40)];
    const before = values.map((v) => Float32Array.from(v));
    const ev = quadratic(values, [new Float32Array(40), new Float32Array(40)]);
    const s = boundSearch({ coordinates: { name: 'randomSubset', fraction: [0.5, 0.5, 0.5] }, sigmaBase: 1 }, [{ name: 'a/kernel', shape: [40, 1] }, { name: 'b/kernel', shape: [40, 1] }], values);
    expect(() => runStep(s, ev)).toThrow(/coordinates: randomSubset.fraction lists 3 shares .*the model has 2 weight groups/);
    expect(values).toEqual(before);
    expect(s.step).toBe(0);
  });
  it('a cycle with randomSubset runs fraction × size steps', () => {
    const values = [new Float32Array(40), new Float32Array(40)];
    const ev = quadratic(values, [new Float32Array(40), new Float32Array(40)]);
    const s = boundSearch(
      { coordinates: { name: 'randomSubset', fraction: 0.1 }, sigmaBase: 1 },
      [{ name: 'a/kernel', shape: [40, 1] }, { name: 'b/kernel', shape: [40, 1] }],
      values,
    );
    let steps = 0;
    while (s.cycle === 0) {
      runStep(s, ev);
      steps++;
    }
    expect(steps).toBe(8);
  });
});
