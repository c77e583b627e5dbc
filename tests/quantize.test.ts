import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, dequantize, exportQuantized, fitScale, fittedGrid, packModel, quantizeModel, quantizeTensor, quantizedGrid, randomSubset, repairQuantized, roundingError, roundingOrder } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { tinyMlp, toyData, useCpu } from './helpers.js';
import { namedConvSeq, namedPerChannelGrid } from './quantize-models.js';

beforeAll(useCpu);

const maxCodeOf = (bits: number) => (bits === 1 ? 1 : 2 ** (bits - 1) - 1);

describe('fitScale', () => {
  it('finds a scale whose rounding error is at most that of a brute-force scan over 4,000 scales (seeded fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 1, max: 8 }),
        (raw, bits) => {
          const values = Float32Array.from(raw);
          const fitted = fitScale(values, bits);
          expect(fitted.scale).toBeGreaterThan(0);
          expect(fitted.sse).toBe(roundingError(values, fitted.scale, bits));
          const maxAbs = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          if (maxAbs === 0) return;
          // The scan covers (0, 2 · max|w| / maxCode]; beyond it every code only shrinks.
          const top = (2 * maxAbs) / maxCodeOf(bits);
          let brute = Infinity;
          for (let p = 1; p <= 4000; p++) brute = Math.min(brute, roundingError(values, Math.fround((top * p) / 4000), bits));
          expect(fitted.sse).toBeLessThanOrEqual(brute * (1 + 1e-6) + 1e-12);
        },
      ),
      { seed: 26, numRuns: 150 },
    );
  });

  it('gives the hand-derived scales: binary mean |w|, ternary of 0.9, −1.1, 0.05, 1.0, and max |w| / maxCode', () => {
    // Binary: every code is ±1, so E(s) = Σ (|w| − s)², least at s = mean |w| = (1 + 3 + 2) / 3 = 2.
    expect(fitScale(Float32Array.of(1, -3, 2), 1).scale).toBe(2);
    // Ternary: codes 1, −1, 0, 1 at s = (0.9 + 1.1 + 1.0) / 3 = 1, error 0.01 + 0.01 + 0.0025 + 0 = 0.0225.
    const t = fitScale(Float32Array.of(0.9, -1.1, 0.05, 1.0), 2);
    expect(t.scale).toBeCloseTo(1, 6);
    expect(t.sse).toBeCloseTo(0.0225, 6);
    // 4-bit max-abs: 1.4 / 7 = 0.2.
    expect(fitScale(Float32Array.of(1.4, -0.3, 0.1), 4, 'maxAbs').scale).toBe(Math.fround(0.2));
    // An all-zero channel gets a positive scale and no error (binary: the nearest levels ±2^−24).
    expect(fitScale(new Float32Array(5), 3).sse).toBe(0);
  });
});

describe('quantizeModel', () => {
  it('writes each kernel\'s levels into the model, per output channel, and leaves biases and BN alone', () => {
    const model = namedConvSeq(4);
    const before = model.weights.map((w) => w.read().dataSync().slice());
    const q = quantizeModel(model, { bits: 3 });
    expect(q.kernels.map((k) => k.name)).toEqual(['q_conv1/kernel', 'q_conv2/kernel', 'q_dense/kernel']);
    for (const k of q.kernels) {
      expect(k.scales.length).toBe(k.shape[k.shape.length - 1]);
      const w = model.weights.find((v) => v.name === k.name)!;
      expect(Array.from(w.read().dataSync())).toEqual(Array.from(dequantize(k)));
      for (const c of k.codes) expect(Math.abs(c)).toBeLessThanOrEqual(3);
    }
    model.weights.forEach((w, i) => {
      if (!q.kernels.some((k) => k.name === w.name)) expect(Array.from(w.read().dataSync())).toEqual(Array.from(before[i]!));
    });
    model.dispose();
  });

  it('fits no worse than max-abs, per channel no worse than per tensor', () => {
    for (const bits of [1, 2, 3, 4, 8]) {
      const err = (scales: 'channel' | 'tensor', fit: 'mse' | 'maxAbs') => {
        const m = namedConvSeq(5);
        const e = quantizeModel(m, { bits, scales, fit }).kernels.reduce((s, k) => s + k.sse, 0);
        m.dispose();
        return e;
      };
      const channel = err('channel', 'mse');
      expect(channel).toBeLessThanOrEqual(err('tensor', 'mse') + 1e-9);
      expect(err('tensor', 'mse')).toBeLessThanOrEqual(err('tensor', 'maxAbs') + 1e-9);
    }
  });

  it('names the field of a bad option', () => {
    const model = namedConvSeq(1);
    expect(() => quantizeModel(model, { bits: 9 })).toThrow(/quantizeModel\.bits .*9/);
    expect(() => quantizeModel(model, { bits: 2, scales: 'row' as never })).toThrow(/quantizeModel\.scales must be 'channel' or 'tensor', got "row"/);
    expect(() => quantizeModel(model, { bits: 2, fit: 'l1' as never })).toThrow(/quantizeModel\.fit must be 'mse' or 'maxAbs', got "l1"/);
    expect(() => quantizeModel(model, { bits: 2, layers: ['q_conv9'] })).toThrow(/quantizeModel\.layers: no weight or layer is named "q_conv9"/);
    expect(() => quantizeModel(model, { bits: 2, bit: 3 } as never)).toThrow(/unknown .*"bit"/);
    model.dispose();
  });
});

describe('roundingOrder', () => {
  it('records each weight\'s margin to the nearest other level (hand-derived), and visits the closest calls', () => {
    // Ternary, s = 1 (see fitScale above): codes 1, −1, 0, 1. Margins: 0.9 → |0.9 − 0| (code 2 is off the grid);
    // −1.1 → |−1.1 − 0|; 0.05 → min(|0.05 − 1|, |0.05 + 1|); 1.0 → |1 − 0|.
    const t = quantizeTensor('w', [4, 1], Float32Array.of(0.9, -1.1, 0.05, 1.0), 2, 'tensor', 'mse');
    expect(Array.from(t.codes)).toEqual([1, -1, 0, 1]);
    expect(Array.from(t.margins!)).toEqual([0.9, 1.1, 0.95, 1].map(Math.fround));
    // Binary, s = 2: x = w / s = 0.5, −1.5, 1 with codes 1, −1, 1; the other level is −code: |x + code|.
    expect(Array.from(quantizeTensor('w', [3, 1], Float32Array.of(1, -3, 2), 1, 'tensor', 'mse').margins!)).toEqual([1.5, 2.5, 2]);
    // 3-bit, s = 1: 2.45 → code 2, nearest other 3 at 0.55; 3.9 → code 3 (clipped), other 2 at 1.9.
    expect(Array.from(quantizeTensor('w', [3, 1], Float32Array.of(2.45, 3.9, 1), 3, 'tensor', 'maxAbs').margins!).map((m) => +m.toFixed(4))).toEqual(
      [2.45, 3.9, 1].map((w) => { const s = 3.9 / 3; const x = w / s; const c = Math.min(3, Math.round(x)); return +Math.min(...[c - 1, c + 1].filter((o) => Math.abs(o) <= 3).map((o) => Math.abs(x - o))).toFixed(4); }),
    );
  });

  it('selects the weights of least margin in each kernel, round-trips through the optimizer config, and names a bad option', () => {
    const model = namedConvSeq(4);
    const q = quantizeModel(model, { bits: 2 });
    const order = roundingOrder(q, { fraction: 0.25 });
    const opt = new RSOOptimizer({ seed: 1, grid: quantizedGrid(q), coordinates: order });
    const again = new RSOOptimizer(opt.getConfig() as never);
    expect(again.getConfig()).toEqual(opt.getConfig());
    expect((opt.getConfig()['coordinates'] as { name: string }).name).toBe('rankedSubset');
    // On the dense kernel [3, 3] alone: the 2 (round(0.25 · 9)) positions of least margin.
    const dense = q.kernels.find((k) => k.name.startsWith('q_dense'))!;
    const info = { name: dense.name, layer: 'q_dense', role: 'kernel' as const, shape: dense.shape, size: 9 };
    const picked = Array.from(order.select(9, { cycle: 0, seed: 1, group: 0, groups: 1, tensors: [info] })!);
    expect(picked).toHaveLength(2);
    // Search position k = o·3 + i ↦ flat i·3 + o; the picked margins are the two least (rounded to 1/1000).
    const flatOf = (k: number) => (k % 3) * 3 + Math.floor(k / 3);
    const rounded = Array.from(dense.margins!, (m) => Math.round(m * 1000) / 1000);
    const least = [...rounded].sort((a, b) => a - b).slice(0, 2);
    expect(picked.map((k) => rounded[flatOf(k)]!).sort((a, b) => a - b)).toEqual(least);
    expect(() => roundingOrder(q, { fraction: 1.5 })).toThrow(/roundingOrder.fraction must be ≤ 1/);
    expect(() => roundingOrder({ ...q, kernels: q.kernels.map(({ margins: _m, ...k }) => k) }, { fraction: 0.5 })).toThrow(/has no margins; quantize the model with quantizeModel/);
    model.dispose();
  });
});

describe('fittedGrid', () => {
  it('rejects bad options, naming the field', () => {
    expect(() => fittedGrid({ bits: 0, tensors: [{ name: 'a', steps: [1] }] })).toThrow(/fittedGrid\.bits/);
    expect(() => fittedGrid({ bits: 2, tensors: [] })).toThrow(/fittedGrid\.tensors must name at least one tensor/);
    expect(() => fittedGrid({ bits: 2, tensors: [{ name: 'a', steps: [1, -2] }] })).toThrow(/fittedGrid\.tensors\[0\]\.steps\[1\] must be finite and > 0 in float32, got -2/);
    expect(() => fittedGrid({ bits: 2, tensors: [{ name: 'a', steps: [1] }, { name: 'a', steps: [1] }] })).toThrow(/fittedGrid\.tensors\[1\]\.name: "a" is listed twice/);
    // The wrong number of steps for a tensor is found when the optimizer binds.
    const model = namedConvSeq(1);
    const opt = new RSOOptimizer({ grid: fittedGrid({ bits: 2, tensors: [{ name: 'q_dense/kernel', steps: [1, 2] }] }) });
    expect(() => opt.bind(model.trainableWeights.map((w) => w.read() as tf.Variable))).toThrow(/"q_dense\/kernel.*" \(shape \[3, 3\]\) needs 1 step or 3 \(one per output channel\), got 2/);
    model.dispose();
  });

  it('round-trips through the optimizer config with its steps', () => {
    const opt = new RSOOptimizer({ seed: 1, grid: namedPerChannelGrid() });
    const again = RSOOptimizer.fromConfig(RSOOptimizer, opt.getConfig());
    expect(again.getConfig()['grid']).toEqual(opt.getConfig()['grid']);
    expect(JSON.parse(JSON.stringify(opt.getConfig()['grid']))).toMatchObject([{ name: 'fitted', bits: 3, tensors: [{ name: 'q_conv1/kernel', steps: [Math.fround(0.15), Math.fround(0.2), Math.fround(0.25)] }, {}, {}] }]);
  });
});

describe('RSO on a quantized model\'s grid', () => {
  afterAll(useCpu);
  it('keeps every kernel on its channel\'s levels, searches BN and biases, and exports the codes and scales', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 8);
    const model = namedConvSeq(6);
    const q = quantizeModel(model, { bits: 2 });
    const continuous = model.trainableWeights.filter((w) => !q.kernels.some((k) => k.name === w.name)).map((w) => w.read().dataSync().slice());
    const opt = new RSOOptimizer({ seed: 2, grid: quantizedGrid(q) });
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: 150, verbose: 0, batchNormSamples: 0 });
    const exported = exportQuantized(model, opt);
    expect(exported.map((e) => e.name)).toEqual(q.kernels.map((k) => k.name));
    exported.forEach((e, i) => {
      expect(Array.from(e.scales!)).toEqual(Array.from(q.kernels[i]!.scales));
      expect(Array.from(model.weights.find((w) => w.name === e.name)!.read().dataSync())).toEqual(Array.from(dequantize({ codes: e.codes, scales: e.scales! })));
    });
    const changed = exported.some((e, i) => e.codes.some((c, k) => c !== q.kernels[i]!.codes[k]));
    expect(changed).toBe(true);
    const after = model.trainableWeights.filter((w) => !q.kernels.some((k) => k.name === w.name)).map((w) => w.read().dataSync());
    expect(after.some((a, i) => a.some((v, k) => v !== continuous[i]![k]))).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('makes the decisions of one thread on two worker threads, up to a near-tie, on a quantized model\'s grid', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 9);
    const STEPS = 120;
    const run = async (workers: boolean) => {
      // Not the first model of these names in this process: its variables are named q_conv1/kernel_N, while a
      // worker's copy has the plain names, which quantizedGrid uses.
      const model = namedConvSeq(7);
      const q = quantizeModel(model, { bits: 3 });
      const opt = new RSOOptimizer({ seed: 5, grid: quantizedGrid(q) });
      const steps: { tensor: number; flat: number; accepted: number; losses: number[] }[] = [];
      await opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: STEPS, verbose: 0, batchNormSamples: 0,
        callbacks: { onBatchEnd: async () => void steps.push({ ...opt.lastStepResult!, losses: Array.from(opt.lastStepResult!.losses) }) },
        ...(workers ? { workers: nodeWorkers(2) } : {}),
      });
      expect(model.weights[0]!.name).toMatch(/_\d+$/);
      expect(() => packModel(model, q)).not.toThrow();
      model.dispose();
      return steps;
    };
    const one = await run(false);
    const two = await run(true);
    expect(two).toHaveLength(STEPS);
    // Shard losses are summed in another order: the runs may part only at a tie within float32 rounding (the
    // conv bias in front of BN cancels, so its three candidates tie exactly), after most steps agreed.
    let same = 0;
    for (; same < STEPS; same++) {
      const [a, b] = [one[same]!, two[same]!];
      expect([b.tensor, b.flat]).toEqual([a.tensor, a.flat]);
      for (let k = 0; k < 3; k++) expect(Math.abs(a.losses[k]! - b.losses[k]!)).toBeLessThan(1e-5 * Math.abs(a.losses[k]!));
      if (a.accepted !== b.accepted) {
        expect(Math.abs(a.losses[a.accepted]! - a.losses[b.accepted]!)).toBeLessThan(1e-6 * Math.abs(a.losses[a.accepted]!));
        break;
      }
    }
    expect(same).toBeGreaterThanOrEqual(STEPS / 2);
    tf.dispose([x, y]);
  });
});

describe('repairQuantized', () => {
  it('raises the accuracy of a binarized small model, and reports it before and after', async () => {
    const { x, y } = toyData(128, [8], 21);
    const model = tinyMlp(3);
    // A float model first: Adam on the toy data.
    model.compile({ optimizer: tf.train.adam(0.03), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 60, batchSize: 32, verbose: 0, shuffle: false });
    const r = await repairQuantized(model, x, y, { quantize: { bits: 1 }, optimizer: { seed: 3 }, fit: { loss: 'categoricalCrossentropy', batchSize: 64, cycles: 2, verbose: 0, batchNormSamples: 64 } });
    console.log(`binary tiny MLP: accuracy ${r.before.acc} → ${r.after.acc}, loss ${r.before.loss.toFixed(4)} → ${r.after.loss.toFixed(4)}`);
    expect(r.after.loss).toBeLessThan(r.before.loss);
    expect(r.after.acc).toBeGreaterThan(r.before.acc);
    expect(r.optimizer.cycle).toBe(2);
    // Still on the grid of the fitted scales.
    expect(() => packModel(model, r.quantized)).not.toThrow();
    tf.dispose([x, y]);
    model.dispose();
  });

  it('with roundingOrder, visits only the closest rounding calls of each kernel, and still lowers the loss', async () => {
    const { x, y } = toyData(128, [8], 21);
    const model = tinyMlp(3);
    model.compile({ optimizer: tf.train.adam(0.03), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 60, batchSize: 32, verbose: 0, shuffle: false });
    const r = await repairQuantized(model, x, y, {
      quantize: { bits: 2 }, roundingOrder: { fraction: 0.5 }, optimizer: { seed: 3 },
      fit: { loss: 'categoricalCrossentropy', batchSize: 64, cycles: 1, verbose: 0, batchNormSamples: 64 },
    });
    expect((r.optimizer.getConfig()['coordinates'] as { name: string }).name).toBe('rankedSubset');
    const kernels = r.quantized.kernels.reduce((n, k) => n + k.codes.length, 0);
    const all = model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    // One cycle: half of each kernel (rounded up) and every other weight.
    const half = r.quantized.kernels.reduce((n, k) => n + Math.ceil(k.codes.length * 0.5), 0);
    expect(r.optimizer.step).toBeLessThanOrEqual(all - kernels + half);
    expect(r.optimizer.step).toBeLessThan(all);
    expect(r.after.loss).toBeLessThan(r.before.loss);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('names a bad option', async () => {
    const { x, y } = toyData(8, [8], 1);
    const model = tinyMlp(1);
    await expect(repairQuantized(model, x, y, { quantize: { bits: 2 }, steps: 5 } as never)).rejects.toThrow(/unknown option "steps"/);
    await expect(repairQuantized(model, x, y, { quantize: { bits: 2 }, optimizer: { grid: null } as never })).rejects.toThrow(/optimizer\.grid is set from the quantization/);
    await expect(repairQuantized(model, x, y, { quantize: 2 } as never)).rejects.toThrow(/options\.quantize must be/);
    await expect(repairQuantized(model, x, y, { quantize: { bits: 2 }, fit: { maxSteps: -1 } })).rejects.toThrow(/maxSteps/);
    await expect(repairQuantized(model, x, y, { quantize: { bits: 2 }, roundingOrder: { fraction: 0.5 }, optimizer: { coordinates: randomSubset({ fraction: 0.5 }) } })).rejects.toThrow(/roundingOrder sets optimizer\.coordinates/);
    await expect(repairQuantized(model, x, y, { quantize: { bits: 2 }, roundingOrder: { fraction: 2 } })).rejects.toThrow(/roundingOrder\.fraction/);
    tf.dispose([x, y]);
    model.dispose();
  });
});
