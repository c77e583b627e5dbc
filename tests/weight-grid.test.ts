import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import { RSOOptimizer, binaryGrid, exportQuantized, ternaryGrid, uniformGrid } from '../src/index.js';
import type { CandidateEvaluator, RSOConfig, TensorGrid } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { codeOf, gridCandidates, snapToGrid } from '../src/search/tensor-grids.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu } from './helpers.js';
import { dataLoss, relErr, wholeModelLosses } from './lockstep.js';

beforeAll(useCpu);

const GRIDS: Record<string, TensorGrid> = {
  binary: { step: 0.25, maxCode: 1, zero: false },
  ternary: { step: 0.25, maxCode: 1, zero: true },
  '3-bit': { step: 0.1, maxCode: 3, zero: true },
};

/** Whether `w` is exactly a level of `grid`. */
const onGrid = (grid: TensorGrid, w: number) => snapToGrid(grid, w) === w && Math.abs(codeOf(grid, w)) <= grid.maxCode && (grid.zero || w !== 0);

/** The grid of each trainable weight of `model` that `opt` covers, with the weight's values. */
function gridded(model: tfl.LayersModel, opt: RSOOptimizer) {
  return model.trainableWeights.flatMap((w) => {
    const grid = opt.tensorGrids.get(w.name);
    return grid === undefined ? [] : [{ name: w.name, grid, values: Array.from(w.read().dataSync()) }];
  });
}

function expectOnGrid(model: tfl.LayersModel, opt: RSOOptimizer, tensors: number): void {
  const g = gridded(model, opt);
  expect(g.length).toBe(tensors);
  for (const { grid, values } of g) for (const w of values) expect(onGrid(grid, w)).toBe(true);
}

describe('grid levels and neighbours', () => {
  it('snaps any float to its nearest level, idempotently, and proposes the levels next to it', () => {
    for (const [name, grid] of Object.entries(GRIDS)) {
      fc.assert(
        fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }), (w) => {
          const s = snapToGrid(grid, w);
          expect(onGrid(grid, s)).toBe(true);
          expect(snapToGrid(grid, s)).toBe(s);
          // No level is nearer to w than its snap (ties aside), inside the grid's range.
          const inside = Math.abs(w) <= grid.maxCode * grid.step;
          if (inside) expect(Math.abs(s - w)).toBeLessThanOrEqual((grid.zero ? 0.5 : 1) * grid.step + 1e-6);
          const out = new Float32Array(3);
          gridCandidates(grid, s, out);
          expect(out[0]).toBe(s);
          for (const c of out) expect(onGrid(grid, c)).toBe(true);
          expect(out[1]!).toBeGreaterThanOrEqual(s);
          expect(out[2]!).toBeLessThanOrEqual(s);
        }),
        { seed: 20261130, numRuns: 300 },
      );
      expect(name).not.toBe('');
    }
  });

  it('flips binary weights across zero, steps ternary and k-bit weights by one level, and repeats a level at the ends', () => {
    const c = (grid: TensorGrid, w: number) => {
      const out = new Float32Array(3);
      gridCandidates(grid, w, out);
      return Array.from(out);
    };
    expect(c(GRIDS.binary!, 0.25)).toEqual([0.25, 0.25, -0.25]);
    expect(c(GRIDS.binary!, -0.25)).toEqual([-0.25, 0.25, -0.25]);
    expect(c(GRIDS.ternary!, 0)).toEqual([0, 0.25, -0.25]);
    expect(c(GRIDS.ternary!, -0.25)).toEqual([-0.25, 0, -0.25]);
    expect(c(GRIDS['3-bit']!, Math.fround(0.2))).toEqual([0.2, 0.3, 0.1].map(Math.fround));
    expect(c(GRIDS['3-bit']!, Math.fround(0.3))).toEqual([0.3, 0.3, 0.2].map(Math.fround));
    expect(snapToGrid(GRIDS.binary!, 0)).toBe(0.25);
    expect(snapToGrid(GRIDS.ternary!, 0.1)).toBe(0);
    expect(snapToGrid(GRIDS['3-bit']!, -7)).toBe(Math.fround(-0.3));
  });
});

describe('the grid option', () => {
  it('rejects bad options naming the field', () => {
    expect(() => uniformGrid({ bits: 9 })).toThrow(/uniformGrid.bits must be an integer ≤ 8, got 9/);
    expect(() => uniformGrid({} as { bits: number })).toThrow(/uniformGrid.bits must be an integer ≥ 2, got undefined/);
    expect(() => ternaryGrid({ a: 0.1, stds: 2 })).toThrow(/ternaryGrid: give a or stds, not both/);
    expect(() => binaryGrid({ a: -1 })).toThrow(/binaryGrid.a must be > 0/);
    expect(() => ternaryGrid({ layers: [] })).toThrow(/ternaryGrid.layers must name at least one layer/);
    expect(() => ternaryGrid({ lyers: ['x'] } as never)).toThrow(/unknown field "lyers" \(did you mean "layers"\?\)/);
    expect(() => new RSOOptimizer({ grid: 5 as never })).toThrow(/grid: expected a weightGrid policy or its config \{"name": ...\}, got 5/);
    expect(() => new RSOOptimizer({ grid: [ternaryGrid(), null] as never })).toThrow(/grid\[1\]: expected a weightGrid policy or its config \{"name": ...\}, got null/);
    expect(() => new RSOOptimizer({ grid: { name: 'ternery' } })).toThrow(/unknown weightGrid "ternery" \(did you mean "ternary"\?\)/);
    expect(() => new RSOOptimizer({ quantization: 1 } as RSOConfig)).toThrow(/unknown field "quantization" \(did you mean "grid"\?\)/);
  });

  it('rejects, when it binds, a layer name the model lacks (with a suggestion) and a tensor under two grids', () => {
    const model = tinyMlp(1);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const dense = model.layers[0]!.name;
    const typo = `${dense.slice(0, -1)}9`;
    expect(() => new RSOOptimizer({ grid: ternaryGrid({ layers: [typo] }) }).bind(vars)).toThrow(new RegExp(`no trainable layer or tensor is named "${typo}" \\(did you mean`));
    expect(() => new RSOOptimizer({ grid: [ternaryGrid(), binaryGrid({ layers: [dense] })] }).bind(vars)).toThrow(new RegExp(`tensor "${dense}/kernel" is covered by 2 grids`));
    // Nothing was snapped by the failed binds.
    expect(Array.from(vars[0]!.dataSync()).some((w) => !onGrid({ step: 1, maxCode: 1, zero: true }, w))).toBe(true);
    model.dispose();
  });

  it('saves with the model and reloads with its layer names intact (tfjs camel-cases other strings)', async () => {
    const model = tinyMlp(1);
    const last = model.layers[3]!.name;
    const opt = new RSOOptimizer({ seed: 3, grid: [ternaryGrid({ layers: [model.layers[0]!.name] }), uniformGrid({ bits: 4, a: 0.5, layers: [`${last}/kernel`] })] });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(32, [8], 1);
    await model.trainOnBatch(x, y);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const again = loaded.optimizer as RSOOptimizer;
    expect(again.getConfig()['grid']).toEqual(opt.getConfig()['grid']);
    expect(opt.getConfig()['grid']).toEqual([
      { name: 'ternary', stds: 1, layers: [{ name: model.layers[0]!.name }] },
      { name: 'uniform', bits: 4, a: 0.5, layers: [{ name: `${last}/kernel` }] },
    ]);
    await loaded.trainOnBatch(x, y);
    // The reloaded variables are named `…/kernel_1`: a tensor named without the suffix still matches.
    const names = loaded.trainableWeights.map((w) => w.name);
    expect([...again.tensorGrids.keys()]).toEqual([names[0], names[1], names[6]]);
    expect(names[6]).toMatch(/kernel_\d+$/);
    expectOnGrid(loaded, again, 3);
    tf.dispose([x, y]);
    model.dispose();
    loaded.dispose();
  });
});

const lossOf = (model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) =>
  tf.tidy(() => tf.mean(tfl.metrics.categoricalCrossentropy(y, model.predict(x) as tf.Tensor)).dataSync()[0]!);

describe('training on a grid', () => {
  for (const [label, engine] of [['rso.fit, model engine', 'model'], ['rso.fit, closure path', 'closure']] as const) {
    it(`${label}: snaps the kernels when it binds, keeps them on the grid, leaves biases and BN continuous, and lowers the loss`, async () => {
      const { x, y } = toyData(128, [8], 5);
      const model = tinyMlp(3);
      const kernel0 = Array.from(model.trainableWeights[0]!.read().dataSync());
      const before = lossOf(model, x, y);
      const tensors = tf.memory().numTensors;
      const opt = new RSOOptimizer({ seed: 9, cycles: 3, grid: ternaryGrid() });
      await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 64, maxSteps: 400, verbose: 0, engine, batchNormSamples: 0 });
      expect(tf.memory().numTensors).toBe(tensors);
      expectOnGrid(model, opt, 3);
      // a = the kernel's initial std (the default base σ): every level is −a, 0 or a.
      const std = Math.sqrt(kernel0.reduce((s, w) => s + w * w, 0) / kernel0.length - (kernel0.reduce((s, w) => s + w, 0) / kernel0.length) ** 2);
      expect(opt.tensorGrids.get(model.trainableWeights[0]!.name)!.step).toBeCloseTo(std, 5);
      const levels = new Set(model.trainableWeights[0]!.read().dataSync());
      expect(levels.size).toBeGreaterThan(1);
      expect(levels.size).toBeLessThanOrEqual(3);
      // The bias of the first Dense layer stays continuous and moved off its zeros.
      expect(Array.from(model.trainableWeights[1]!.read().dataSync()).some((b) => b !== 0 && Math.abs(b) !== Math.fround(std))).toBe(true);
      expect(lossOf(model, x, y)).toBeLessThan(before - 0.05);
      const q = exportQuantized(model, opt);
      expect(q.map((t) => t.name)).toEqual(model.trainableWeights.filter((w) => w.name.endsWith('kernel')).map((w) => w.name));
      for (const t of q) {
        const values = model.trainableWeights.find((w) => w.name === t.name)!.read().dataSync();
        expect(t.codes).toBeInstanceOf(Int8Array);
        t.codes.forEach((c, k) => expect(Math.fround(c * t.scale)).toBe(values[k]));
        expect(new Set(t.codes).size).toBeGreaterThan(1);
      }
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('model.fit with the optimizer trains binary kernels, which then export as ±1 codes', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 2);
    const model = tinyConvSeq(2);
    const opt = new RSOOptimizer({ seed: 4, grid: binaryGrid({ stds: 0.5 }) });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const before = lossOf(model, x, y);
    await model.fit(x, y, { batchSize: 32, epochs: 40, verbose: 0, shuffle: false });
    expectOnGrid(model, opt, 3);
    expect(lossOf(model, x, y)).toBeLessThan(before);
    for (const t of exportQuantized(model, opt)) expect(new Set(t.codes)).toEqual(new Set([-1, 1]));
    // A weight moved off its grid outside the optimizer is an error that names it.
    const k = model.trainableWeights[0]!.read() as tf.Variable;
    tf.tidy(() => k.assign(tf.add(k, 0.01)));
    expect(() => exportQuantized(model, opt)).toThrow(new RegExp(`${k.name}\\[0\\] = .* is not on its grid`));
    expect(() => exportQuantized(model, new RSOOptimizer())).toThrow(/no weight grid/);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('keeps the weights on the grid across worker threads', async () => {
    const { x, y } = toyData(96, [6, 6, 1], 8);
    const model = tinyConvSeq(5);
    const opt = new RSOOptimizer({ seed: 2, grid: ternaryGrid() });
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 48, maxSteps: 150, verbose: 0, workers: nodeWorkers(2), batchNormSamples: 0 });
    expect(opt.step).toBe(150);
    expectOnGrid(model, opt, 3);
    tf.dispose([x, y]);
    model.dispose();
  });
});


for (const [backend, name, build, features, grid] of [
  ['wasm', 'conv/BN/pool/dense, binary kernels', () => tinyConvSeq(2), [6, 6, 1], binaryGrid()],
  ['wasm', 'MLP, binary kernels', () => tinyMlp(2), [8], binaryGrid()],
  ['cpu', 'conv/BN/pool/dense, 4-bit kernels', () => tinyConvSeq(3), [6, 6, 1], uniformGrid({ bits: 4 })],
] as const) {
  describe(`model engine on a grid, ${backend}, ${name}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(useCpu);
    it('gives the whole model\'s losses (1e-5 relative) for every candidate of 300 steps, where a flip that changes nothing is an exact tie', () => {
      const { x, y } = toyData(64, [...features], 11);
      const model = build();
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numTensors;
      const opt = new RSOOptimizer({ seed: 13, grid });
      opt.bind(variables);
      const engine = createModelEvaluator(model, variables, opt.weightGroups, dataLoss, {});
      engine.setBatch('all', [x], [y]);
      let worst = 0;
      let decisionsDiffer = 0;
      const checked: CandidateEvaluator = {
        read: (t, flat) => engine.read(t, flat),
        write: (t, flat, value) => engine.write(t, flat, value),
        evaluate(t, flat, candidates) {
          const expected = wholeModelLosses(model, variables[t]!, [flat], Array.from(candidates, (c) => [c]), x, y);
          const got = engine.evaluate(t, flat, candidates);
          expected.forEach((l, k) => (worst = Math.max(worst, relErr(l, got[k]!))));
          const best = (ls: ArrayLike<number>) => [0, 1, 2].reduce((b, k) => (ls[k]! < ls[b]! ? k : b), 0);
          if (best(expected) !== best(got)) {
            decisionsDiffer++;
            expect(relErr(expected[best(expected)]!, expected[best(got)]!)).toBeLessThan(1e-6);
          }
          return got;
        },
      };
      let moves = 0;
      for (let step = 0; step < 300; step++) moves += opt.runSteps(checked).accepted === 0 ? 0 : 1;
      console.log(`${backend}, ${name}: worst relative loss difference ${worst.toExponential(2)}; ${engine.stats().deltaSteps} delta steps; ${moves} moves; ${decisionsDiffer} decisions at near-ties differ`);
      expect(worst).toBeLessThan(1e-5);
      expect(engine.stats().deltaSteps).toBeGreaterThan(40);
      expect(moves).toBeGreaterThan(10);
      expectOnGrid(model, opt, 3);
      engine.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      tf.dispose([x, y]);
    });
  });
}
