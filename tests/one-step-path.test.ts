import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, channelBlocks } from '../src/index.js';
import type { MovePolicy, StepResult } from '../src/index.js';
import { createModelEvaluator } from '../src/engine/model-evaluator.js';
import type { DataLoss } from '../src/engine/model-evaluator.js';
import { tinyConvSeq, tinyMlp, toyData, useCpu } from './helpers.js';
import { denseKernelSearch } from './run-helpers.js';

beforeAll(useCpu);

/** Every other scalar of a Dense kernel [4, 3] moves with its right neighbour; the rest are scalar steps. */
const pairsOnEven: MovePolicy = { norm: 1, block: ({ flat }) => (flat % 2 === 0 ? Int32Array.of(flat, (flat + 1) % 12) : null) };

/** A search over that kernel and an evaluator that prefers w + Δ, with the weights it holds. */
function searchWith(moves: MovePolicy | undefined) {
  return denseKernelSearch({ seed: 3, sigmaBase: 0.1, ...(moves === undefined ? {} : { moves }) }, Float32Array.from({ length: 12 }, (_, i) => i / 10));
}

/** The weights a step's move wrote: its values at its flats. */
const written = (r: StepResult) => Array.from(r.move.flats, (f, i) => [f, r.values[i]!]);

describe('one step path: every step is a move', () => {
  it('a scalar step is a move of one scalar: its flat, Δ, value before and candidates', () => {
    const { step, values } = searchWith(undefined);
    for (let s = 0; s < 30; s++) {
      const r = step();
      expect(r.block).toBeNull();
      expect(r.blockValues).toBeNull();
      expect(r.move.tensor).toBe(r.tensor);
      expect(Array.from(r.move.flats)).toEqual([r.flat]);
      expect(Array.from(r.move.direction)).toEqual([r.delta]);
      expect(Array.from(r.move.previous)).toEqual([r.previous]);
      expect(r.move.candidates.map((c) => Array.from(c))).toEqual([[r.previous], [Math.fround(r.previous + r.delta)], [Math.fround(r.previous - r.delta)]]);
      expect(written(r)).toEqual([[r.flat, r.value]]);
      expect(values[r.flat]).toBe(r.value);
    }
  });

  it('a block move is the same representation: its move is its block, its values what was written', () => {
    const { step, values } = searchWith(pairsOnEven);
    let blocks = 0;
    for (let s = 0; s < 40; s++) {
      const r = step();
      const at = r.move.flats.indexOf(r.flat);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(r.values[at]).toBe(r.value);
      expect(r.move.previous[at]).toBe(r.previous);
      for (const [f, v] of written(r)) expect(values[f!]).toBe(v);
      if (r.block === null) continue;
      blocks++;
      expect(r.move).toBe(r.block);
      expect(r.values).toBe(r.blockValues);
      expect(r.move.flats.length).toBe(2);
      // Δ per scalar: candidate 1 − candidate 0, candidate 0 − candidate 2, in float32.
      r.move.direction.forEach((d, i) => expect(r.move.candidates[1]![i]).toBe(Math.fround(r.move.candidates[0]![i]! + d)));
    }
    expect(blocks).toBeGreaterThan(10);
  });

  it('the model engine gives a move of one scalar the same losses by evaluateBlock as by evaluate, bit for bit', async () => {
    for (const [build, features] of [
      [() => tinyMlp(2), [8]],
      [() => tinyConvSeq(2), [6, 6, 1]],
    ] as const) {
      const tensorsBefore = tf.memory().numTensors;
      const model = build();
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const opt = new RSOOptimizer({ seed: 5, moves: channelBlocks() });
      opt.bind(variables);
      const crossEntropy: DataLoss = (ys, ps) => tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(ys[0]!, tf.log(tf.add(ps[0]!, 1e-7))), -1))) as tf.Scalar);
      const engine = createModelEvaluator(model, variables, opt.weightGroups, crossEntropy, { loss: { name: 'categoricalCrossentropy', reduction: 'mean' } });
      const { x, y } = toyData(16, [...features], 4);
      engine.setBatch('b', [x], [y]);
      let compared = 0;
      variables.forEach((v, t) => {
        for (const flat of [0, v.size - 1]) {
          const w = engine.read(t, flat);
          const candidates = Float32Array.of(w, w + 0.05, w - 0.05);
          const one = Array.from(engine.evaluate(t, flat, candidates));
          engine.write(t, flat, w);
          const asBlock = Array.from(engine.evaluateBlock(t, Int32Array.of(flat), Array.from(candidates, (c) => Float32Array.of(c))));
          engine.writeBlock(t, Int32Array.of(flat), Float32Array.of(w));
          expect(asBlock, `tensor ${t} scalar ${flat}`).toEqual(one);
          compared++;
        }
      });
      expect(compared).toBe(2 * variables.length);
      engine.dispose();
      model.dispose();
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    }
  });
});
