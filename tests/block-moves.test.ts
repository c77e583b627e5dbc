import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, channelBlocks, createRng, sparseDirection, unitMoves } from '../src/index.js';
import type { MovePolicy, MoveSite, RSOConfig } from '../src/index.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu, weightsOf } from './helpers.js';
import { denseKernelSearch } from './run-helpers.js';

beforeAll(useCpu);

const config: RSOConfig = { seed: 5, cycles: 3, moves: channelBlocks() };

/** The scalars of each trainable tensor that differ between two weight lists. */
const changed = (a: readonly Float32Array[], b: readonly Float32Array[]) => a.map((w, t) => Array.from(w.keys()).filter((i) => w[i] !== b[t]![i]));
const trainable = (m: tfl.LayersModel) => m.trainableWeights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));

describe('channelBlocks', () => {
  it('rejects bad options naming the field, and rebuilds from its config', () => {
    expect(() => channelBlocks({ norm: 0 })).toThrow(/channelBlocks.norm/);
    expect(() => channelBlocks({ norm: Number.NaN })).toThrow(/channelBlocks.norm/);
    expect(() => channelBlocks({ nrom: 1 } as never)).toThrow(/unknown field "nrom"/);
    expect(() => new RSOOptimizer({ moves: { name: 'chanelBlocks' } })).toThrow(/did you mean "channelBlocks"/);
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (norm) => {
        const rebuilt = RSOOptimizer.fromConfig(RSOOptimizer, new RSOOptimizer({ moves: channelBlocks({ norm }) }).getConfig()) as RSOOptimizer;
        expect(rebuilt.config.moves?.norm).toBe(norm);
      }),
      { seed: 20261130, numRuns: 100 },
    );
  });
});

describe('block moves in rso.fit', () => {
  it('move every weight feeding one output channel at an accepted kernel step, and biases and BN parameters one at a time', async () => {
    const { x, y } = toyData(32, [8], 3);
    const model = tinyMlp(2);
    const opt = new RSOOptimizer(config);
    const before = tf.memory().numTensors;
    let previous = trainable(model);
    let blocks = 0;
    let scalars = 0;
    await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 120, verbose: 0, batchNormSamples: 0, engine: 'model',
      callbacks: {
        onBatchEnd: async () => {
          const now = trainable(model);
          const r = opt.lastStepResult!;
          const moved = changed(previous, now);
          previous = now;
          const shape = model.trainableWeights[r.tensor]!.shape;
          if (r.accepted === 0) return void expect(moved.flat()).toEqual([]);
          if (shape.length === 2) {
            // A Dense kernel [in, out]: the whole column of the scalar's output unit.
            const cout = shape[1]!;
            expect(moved[r.tensor]).toEqual(Array.from({ length: shape[0]! }, (_, i) => i * cout + (r.flat % cout)));
            expect(Array.from(r.block!.flats)).toEqual(moved[r.tensor]);
            blocks++;
          } else {
            expect(moved[r.tensor]).toEqual([r.flat]);
            expect(r.block).toBeNull();
            scalars++;
          }
          expect(moved.filter((_m, t) => t !== r.tensor).flat()).toEqual([]);
        },
      },
    });
    expect(blocks).toBeGreaterThan(20);
    expect(scalars).toBeGreaterThan(5);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('give Δ the length norm · σ over the block (Rademacher draws: exactly, up to float32 rounding)', async () => {
    const { x, y } = toyData(32, [6, 6, 1], 4);
    const model = tinyConvSeq(2);
    const opt = new RSOOptimizer({ ...config, moves: channelBlocks({ norm: 3 }), sigmaBase: 0.05, distribution: { name: 'rademacher' } });
    const ratios: number[] = [];
    await opt.fit(model, x, y, {
      loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: 60, verbose: 0, batchNormSamples: 0,
      callbacks: {
        onBatchEnd: async () => {
          const r = opt.lastStepResult!;
          if (r.block === null) return;
          const [w, plus] = r.block.candidates as [Float32Array, Float32Array];
          const length = Math.hypot(...Array.from(w, (v, i) => plus[i]! - v));
          // σ = 0.05 everywhere, and the schedule's factor is 1 in cycle 0 (60 steps of a 135-scalar net).
          expect(opt.cycle).toBe(0);
          ratios.push(length / (3 * 0.05));
        },
      },
    });
    expect(ratios.length).toBeGreaterThan(30);
    for (const q of ratios) expect(q).toBeCloseTo(1, 4);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('refuse weight regularizers with the model engine, naming both, and leave the weights as they were', async () => {
    const { x, y } = toyData(16, [8], 3);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 3, activation: 'softmax', kernelRegularizer: tfl.regularizers.l2({ l2: 0.01 }) })] });
    const start = weightsOf(model);
    const opt = new RSOOptimizer(config);
    await expect(opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 8, maxSteps: 4, verbose: 0, engine: 'model' })).rejects.toThrow(/block moves .* weight regularizers/);
    expect(Buffer.from(weightsOf(model).buffer).equals(Buffer.from(start.buffer))).toBe(true);
    model.dispose();
    tf.dispose([x, y]);
  });
});

/** A step site on a tensor of `shape` named `name`, at `flat`, with a seeded generator (seed 3). */
const site = (name: string, shape: number[], flat: number): MoveSite => ({ tensor: describeTensor(name, shape), flat, rng: createRng(3), distribution: { sample: () => 1 } });

describe('unitMoves and sparseDirection: the blocks they shape', () => {
  it('unitMoves: a Dense kernel row, a conv kernel input channel, and scalar steps elsewhere', () => {
    // Dense [3, 4]: scalar 6 is W[1, 2], so input unit 1: flats 4…7.
    expect(Array.from(unitMoves().block(site('d/kernel', [3, 4], 6))!)).toEqual([4, 5, 6, 7]);
    // Conv [2, 1, 3, 2] (kh, kw, cin, cout): scalar 3 is W[0, 0, 1, 1], input channel 1 at both kernel rows:
    // ((0·1 + 0)·3 + 1)·2 = 2, 3 and ((1·1 + 0)·3 + 1)·2 = 8, 9.
    expect(Array.from(unitMoves().block(site('c/kernel', [2, 1, 3, 2], 3))!)).toEqual([2, 3, 8, 9]);
    expect(unitMoves().block(site('c/bias', [2], 1))).toBeNull();
    expect(unitMoves().block(site('bn/gamma', [2], 0))).toBeNull();
  });

  it('sparseDirection: k distinct indices, the cursor among them, the same for the same seed (fast-check, seed 20261207)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 1, max: 70 }), fc.nat(), fc.integer(), (size, k, at, seed) => {
        const flat = at % size;
        const draw = (s: number) => sparseDirection({ k }).block({ ...site('d/kernel', [size, 1], flat), rng: createRng(s) })!;
        const flats = Array.from(draw(seed));
        expect(flats.length).toBe(Math.min(k, size));
        expect(new Set(flats).size).toBe(flats.length);
        expect(flats).toContain(flat);
        expect(flats).toEqual([...flats].sort((a, b) => a - b));
        expect(flats.every((f) => f >= 0 && f < size)).toBe(true);
        expect(Array.from(draw(seed))).toEqual(flats);
      }),
      { seed: 20261207, numRuns: 200 },
    );
    expect(sparseDirection().block(site('d/bias', [8], 1))).toBeNull();
  });

  it('reject bad options naming the field', () => {
    expect(() => unitMoves({ norm: -1 })).toThrow(/unitMoves.norm/);
    expect(() => sparseDirection({ k: 0 })).toThrow(/sparseDirection.k must be an integer ≥ 1, got 0/);
    expect(() => sparseDirection({ k: 2.5 })).toThrow(/sparseDirection.k/);
    expect(() => new RSOOptimizer({ moves: { name: 'unitMove' } })).toThrow(/did you mean "unitMoves"/);
  });

  it('rebuild from their config for any norm (fast-check, seed 20261207)', () => {
    const makers = [(norm: number) => unitMoves({ norm }), (norm: number) => sparseDirection({ k: 5, norm })];
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.constantFrom(...makers), (norm, make) => {
        const original = new RSOOptimizer({ moves: make(norm) });
        const rebuilt = RSOOptimizer.fromConfig(RSOOptimizer, original.getConfig()) as RSOOptimizer;
        expect(rebuilt.config.moves?.norm).toBe(norm);
        expect(rebuilt.getConfig()).toEqual(original.getConfig());
      }),
      { seed: 20261207, numRuns: 100 },
    );
  });
});

describe('a user-written move policy', () => {
  /** A search over one Dense kernel [4, 3] with `moves`, every weight 0, and an evaluator that prefers w + Δ. */
  const searchWith = (moves: MovePolicy) => denseKernelSearch({ seed: 6, moves, sigmaBase: 0.1 }, new Float32Array(12));


  it('moves the block it returns along its own direction: Δ = σ · norm · z / √n', () => {
    // The cursor's scalar and its right neighbour (wrapping), along z = (3, 4): |z| = 5, n = 2, so
    // Δ = 0.1 · 2 · (3, 4) / √2 and the kept W + Δ is ≈ (0.4243, 0.5657).
    const pairs: MovePolicy = { norm: 2, block: ({ flat }) => Int32Array.of(flat, (flat + 1) % 12), direction: () => [3, 4] };
    const { values, step } = searchWith(pairs);
    const r = step();
    expect(Array.from(r.block!.flats)).toEqual([r.flat, (r.flat + 1) % 12]);
    expect(values[r.flat]).toBeCloseTo((0.1 * 2 * 3) / Math.SQRT2, 5);
    expect(values[(r.flat + 1) % 12]).toBeCloseTo((0.1 * 2 * 4) / Math.SQRT2, 5);
    expect(values.filter((v) => v !== 0).length).toBe(2);
  });

  it('refuses a bad block or direction, naming the call, and rewinds the generator', () => {
    const cases: [MovePolicy, RegExp][] = [
      [{ norm: 1, block: () => [0] as unknown as Int32Array }, /moves: block\(\) at scalar \d+ of "d\/kernel" \(12 scalars\) must return null or an Int32Array/],
      [{ norm: 1, block: () => Int32Array.of(12) }, /returned index 12 at \[0\]; indices must be in 0…11/],
      [{ norm: 1, block: ({ flat }) => Int32Array.of(flat, flat) }, /returned index \d+ twice/],
      [{ norm: 1, block: ({ flat }) => Int32Array.of((flat + 1) % 12) }, /must include the scalar under the cursor/],
      [{ norm: 1, block: ({ flat }) => Int32Array.of(flat), direction: () => [1, 2] }, /direction\(\) at scalar \d+ of "d\/kernel" must return one number per index of the block \(1\), got 2 values/],
    ];
    for (const [moves, message] of cases) {
      // The policy draws before it fails: the generator must be where it was.
      const drawing: MovePolicy = { ...moves, block: (s) => (s.rng.next(), moves.block(s)) };
      const { search, step } = searchWith(drawing);
      const before = search.state().rng;
      expect(step).toThrow(message);
      expect(search.state().rng).toEqual(before);
      expect(search.step).toBe(0);
    }
  });

  it('is refused by the config when it has no block() or no norm', () => {
    expect(() => new RSOOptimizer({ moves: { norm: 1 } as unknown as MovePolicy })).toThrow(/moves: expected a moves policy or its config/);
    expect(() => new RSOOptimizer({ moves: { block: () => null } as unknown as MovePolicy })).toThrow(/moves: expected a moves policy or its config/);
  });
});
