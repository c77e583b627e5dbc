import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import { RSOOptimizer, channelBlocks, earlyRejection, parabolicStep, ternaryGrid } from '../src/index.js';
import type { CandidateEvaluator, RSOConfig } from '../src/index.js';
import { parseConfig } from '../src/config/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';
import { gridCandidates } from '../src/search/tensor-grids.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu, weightsOf } from './helpers.js';
import { dataLoss, relErr, wholeModelLosses } from './lockstep.js';

beforeAll(useCpu);

const SEED = 20261130;

/** The losses of w, w + Δ, w − Δ on the parabola a + g·t + c·t²/2 (t in units of Δ). */
const probes = (a: number, g: number, c: number) => [a, a + g + c / 2, a - g + c / 2];

describe('parabolicStep', () => {
  it('finds the vertex of the parabola through the probes, clamps it to ±maxStep, and returns null without positive curvature', () => {
    const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(finite(-10, 10), finite(-5, 5), finite(1e-3, 10), finite(0.1, 4), (a, g, c, maxStep) => {
        const t = parabolicStep({ maxStep }).position(probes(a, g, c));
        expect(t).not.toBeNull();
        const vertex = -g / c;
        expect(t!).toBeCloseTo(Math.min(maxStep, Math.max(-maxStep, vertex)), 6);
        expect(Math.abs(t!)).toBeLessThanOrEqual(maxStep);
      }),
      { seed: SEED, numRuns: 300 },
    );
    fc.assert(
      fc.property(finite(-10, 10), finite(-5, 5), finite(-10, -1e-3), (a, g, c) => {
        expect(parabolicStep().position(probes(a, g, c))).toBeNull();
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(parabolicStep().position([1, Number.NaN, 2])).toBeNull();
    expect(parabolicStep().position([1, Infinity, 2])).toBeNull();
  });

  it('rejects bad options naming the field, refuses early rejection beside it, and rebuilds from its config', () => {
    expect(() => parabolicStep({ maxStep: 0 })).toThrow(/parabolicStep.maxStep must be > 0/);
    expect(() => parabolicStep({ maxStep: Number.NaN })).toThrow(/parabolicStep.maxStep/);
    expect(() => parabolicStep({ maxstep: 1 } as never)).toThrow(/unknown field "maxstep"/);
    expect(() => new RSOOptimizer({ probeReuse: { name: 'parabolicStp' } })).toThrow(/did you mean "parabolicStep"/);
    expect(() => new RSOOptimizer({ probeReuse: parabolicStep(), earlyRejection: earlyRejection() })).toThrow(/probeReuse: cannot be combined with earlyRejection/);
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (maxStep) => {
        const rebuilt = RSOOptimizer.fromConfig(RSOOptimizer, new RSOOptimizer({ probeReuse: parabolicStep({ maxStep }) }).getConfig()) as RSOOptimizer;
        expect(rebuilt.config.probeReuse?.maxStep).toBe(maxStep);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});

/** Weights in plain arrays, with the loss Σ (w − target)² over every scalar: a parabola along any direction. */
function quadraticBowl(sizes: readonly number[], target: (t: number, i: number) => number): CandidateEvaluator & { values: Float32Array[] } {
  const values = sizes.map((n) => new Float32Array(n));
  const lossWith = (t: number, flats: ArrayLike<number>, v: ArrayLike<number>) => {
    let sum = 0;
    values.forEach((w, ti) => w.forEach((x, i) => (sum += (x - target(ti, i)) ** 2)));
    for (let k = 0; k < flats.length; k++) {
      const i = flats[k]!;
      sum += (v[k]! - target(t, i)) ** 2 - (values[t]![i]! - target(t, i)) ** 2;
    }
    return sum;
  };
  return {
    values,
    read: (t, flat) => values[t]![flat]!,
    write: (t, flat, v) => void (values[t]![flat] = v),
    evaluate: (t, flat, candidates) => Array.from(candidates, (c) => lossWith(t, [flat], [c])),
    evaluateBlock: (t, flats, candidates) => candidates.map((c) => lossWith(t, flats, c)),
    writeBlock: (t, flats, v) => flats.forEach((i, k) => (values[t]![i] = v[k]!)),
  };
}

describe('probe reuse in the search', () => {
  const info = (shape: number[], name: string, role: 'kernel' | 'bias') => ({ name, layer: name.split('/')[0]!, role, shape, size: shape.reduce((a, b) => a * b, 1) });
  const searchOn = (config: RSOConfig, tensor: ReturnType<typeof info>, start: (i: number) => number) => {
    const search = new RSOSearch(parseConfig(config));
    search.bind([tensor], () => Float32Array.from({ length: tensor.size }, (_, i) => start(i)), null);
    return search;
  };

  it('moves a scalar to the minimum of a parabolic loss when it lies within ±Δ, and to the better probe beyond', () => {
    const target = (t: number, i: number) => Math.sin(7 * i + t) * 0.3;
    const bowl = quadraticBowl([12], target);
    const search = searchOn({ seed: 3, probeReuse: parabolicStep(), sigmaBase: 0.2 }, info([12], 'd/bias', 'bias'), () => 0);
    let inside = 0;
    for (let s = 0; s < 60; s++) {
      const before = bowl.values[0]!.slice();
      const r = runStep(search, bowl);
      const w = before[r.flat]!;
      const goal = target(0, r.flat);
      const now = bowl.values[0]![r.flat]!;
      expect(now).toBe(r.value);
      if (Math.abs(goal - w) <= Math.abs(r.delta)) {
        inside++;
        expect(now).toBeCloseTo(goal, 5);
      } else expect(now).toBe(r.losses[1]! < r.losses[2]! ? Math.fround(w + r.delta) : Math.fround(w - r.delta));
      bowl.values[0]!.forEach((v, i) => i !== r.flat && expect(v).toBe(before[i]));
    }
    expect(inside).toBeGreaterThan(5);
  });

  it('moves a block to the minimum along its direction', () => {
    const target = (t: number, i: number) => Math.cos(3 * i + t) * 0.05;
    const bowl = quadraticBowl([12], target);
    const search = searchOn({ seed: 4, probeReuse: parabolicStep({ maxStep: 1e3 }), moves: channelBlocks(), sigmaBase: 0.05 }, info([4, 3], 'd/kernel', 'kernel'), () => 0);
    for (let s = 0; s < 30; s++) {
      const before = bowl.values[0]!.slice();
      const r = runStep(search, bowl);
      const flats = Array.from(r.block!.flats);
      // The direction d = (W + Δ) − W; the minimum along it is at t = d·(target − W) / |d|².
      const d = flats.map((i, k) => r.block!.candidates[1]![k]! - before[i]!);
      const t = flats.reduce((sum, i, k) => sum + d[k]! * (target(0, i) - before[i]!), 0) / d.reduce((sum, x) => sum + x * x, 0);
      flats.forEach((i, k) => expect(bowl.values[0]![i]!).toBeCloseTo(before[i]! + t * d[k]!, 5));
      expect(Array.from(r.blockValues!)).toEqual(flats.map((i) => bowl.values[0]![i]!));
      expect(r.value).toBe(r.blockValues![flats.indexOf(r.flat)]);
    }
  });

  it('keeps the grid neighbours on a weight grid', () => {
    const bowl = quadraticBowl([12], (_t, i) => 0.3 * ((i % 3) - 1));
    const search = searchOn({ seed: 5, probeReuse: parabolicStep(), grid: ternaryGrid() }, info([4, 3], 'd/kernel', 'kernel'), () => 0);
    const grid = search.tensorGrids[0]!;
    for (let s = 0; s < 24; s++) {
      const r = runStep(search, bowl);
      const levels = new Float32Array(3);
      gridCandidates(grid, r.previous, levels);
      expect(r.value).toBe(levels[r.accepted]);
    }
  });

  it('throws when a policy returns a position beyond its maxStep, and leaves the weight as it was', () => {
    const bowl = quadraticBowl([4], () => 1);
    const bad = { maxStep: 1, position: () => 2 };
    const search = searchOn({ seed: 6, probeReuse: bad }, info([4], 'd/bias', 'bias'), () => 0);
    expect(() => runStep(search, bowl)).toThrow(/probeReuse: position must return null or a number in \[-1, 1\], got 2/);
    expect(Array.from(bowl.values[0]!)).toEqual([0, 0, 0, 0]);
    expect(search.step).toBe(0);
  });
});


// Probe reuse writes values that no candidate held, which the engine's kept layer outputs must follow. Its
// decisions are continuous in the losses, so a model-engine run and a closure run part after float rounding
// differs; the contract is checked in lockstep instead: at every step, the engine's losses against the whole model's.
for (const [backend, name, build, features, config] of [
  ['wasm', 'conv/BN/pool/dense, scalar steps', () => tinyConvSeq(2), [6, 6, 1], { seed: 13, probeReuse: parabolicStep() }],
  ['cpu', 'conv/BN/pool/dense, block moves', () => tinyConvSeq(3), [6, 6, 1], { seed: 14, probeReuse: parabolicStep(), moves: channelBlocks() }],
  ['wasm', 'MLP, block moves', () => tinyMlp(2), [8], { seed: 15, probeReuse: parabolicStep({ maxStep: 2 }), moves: channelBlocks() }],
] as const) {
  describe(`model engine with probe reuse, ${backend}, ${name}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(useCpu);
    it("gives the whole model's losses (1e-5 relative) for every candidate of 300 steps, and lowers the loss", () => {
      const { x, y } = toyData(64, [...features], 11);
      const model = build();
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const opt = new RSOOptimizer(config as RSOConfig);
      opt.bind(variables);
      const engine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss, {});
      engine.setBatch('all', [x], [y]);
      let worst = 0;
      const check = (expected: number[], got: ArrayLike<number>) => expected.forEach((l, k) => (worst = Math.max(worst, relErr(l, got[k]!))));
      const checked: CandidateEvaluator = {
        read: (t, flat) => engine.read(t, flat),
        write: (t, flat, value) => engine.write(t, flat, value),
        writeBlock: (t, flats, values) => engine.writeBlock!(t, flats, values),
        evaluate(t, flat, candidates) {
          const expected = wholeModelLosses(model, variables[t]!, [flat], Array.from(candidates, (c) => [c]), x, y);
          const got = engine.evaluate(t, flat, candidates);
          check(expected, got);
          return got;
        },
        evaluateBlock(t, flats, candidates) {
          const expected = wholeModelLosses(model, variables[t]!, flats, candidates, x, y);
          const got = engine.evaluateBlock!(t, flats, candidates);
          check(expected, got);
          return got;
        },
      };
      const start = wholeModelLosses(model, variables[0]!, [], [[]], x, y)[0]!;
      let between = 0;
      for (let step = 0; step < 300; step++) {
        const r = opt.runSteps(checked);
        const at = r.block === null ? -1 : r.block.flats.indexOf(r.flat);
        const probesAt = r.block === null ? [r.previous, Math.fround(r.previous + r.delta), Math.fround(r.previous - r.delta)] : r.block.candidates.map((c) => c[at]!);
        if (!probesAt.includes(r.value)) between++;
      }
      const end = wholeModelLosses(model, variables[0]!, [], [[]], x, y)[0]!;
      console.log(`${backend}, ${name}: worst relative loss difference ${worst.toExponential(2)}; ${engine.stats().deltaSteps} delta steps; loss ${start.toFixed(4)} → ${end.toFixed(4)}; ${between} steps wrote a value between the probes`);
      expect(worst).toBeLessThan(1e-5);
      expect(engine.stats().deltaSteps).toBeGreaterThan(40);
      expect(end).toBeLessThan(start);
      expect(between).toBeGreaterThan(100);
      engine.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      tf.dispose([x, y]);
    });
  });
}

describe('probe reuse in rso.fit and model.fit', () => {
  const config: RSOConfig = { seed: 7, cycles: 3, probeReuse: parabolicStep(), moves: channelBlocks() };

  it('trains the same weights from the same seed, lowers the loss, and leaks no tensor (model engine and closure path)', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 9);
    for (const engine of ['model', 'closure'] as const) {
      const run = async () => {
        const model = tinyConvSeq(4);
        const opt = new RSOOptimizer(config);
        const before = tf.memory().numTensors;
        const h = await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 32, maxSteps: 150, verbose: 0, batchNormSamples: 0, engine });
        expect(tf.memory().numTensors).toBe(before);
        const w = weightsOf(model);
        model.dispose();
        return { w, loss: h.history['loss']! as number[] };
      };
      const [one, two] = [await run(), await run()];
      expect(Buffer.from(one.w.buffer).equals(Buffer.from(two.w.buffer))).toBe(true);
      expect(one.loss.at(-1)!).toBeLessThan(one.loss[0]!);
    }
    tf.dispose([x, y]);
  });
});
