import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, binaryGrid, channelBlocks, randomSubset, rankedSubset, sparseDirection, successRule, ternaryGrid, tieWidening, uniformGrid, unitMoves } from '../src/index.js';
import type { RSOConfig } from '../src/index.js';
import { assertEquivalent } from './equivalence-assert.js';
import { BATCH, EQUIVALENCE_CONFIG as config, STEPS, closureRun, compareSteps, engineRun, equivalenceRow, record, relErr } from './equivalence-runs.js';
import type { StepRecord as Record } from './equivalence-runs.js';
import { NO_GRADIENT_OPS, opMlp } from './no-gradient-models.js';
import { NAMED_KERNELS, namedConvSeq, namedPerChannelGrid, scrambledCosts } from './quantize-models.js';
import type { NoGradientOp } from './no-gradient-models.js';
import { chainResidual, mlpResidual, tinyConvSeq, tinyMlp, tinyResidual, toyData, useCpu } from './helpers.js';
import { regularizedConvNet, regularizedMlp, reusedSubModel, sharedConvNet, sharedDenseMlp } from './shared-models.js';

beforeAll(useCpu);

const CONV_INPUT = [6, 6, 1] as const;
const MLP_INPUT = [8] as const;
// Candidate losses of the engine against the closure path, relative, on cpu and wasm.
const LOSS_TOLERANCE = 1e-5;

/**
 * backend, name, model, takes the delta paths, batched candidates, input shape, optimizer options beyond `config`,
 * and whether block moves span several output channels (see RowExpectations.offChannel).
 */
type Row = readonly [string, string, () => tfl.LayersModel, boolean, boolean, readonly number[], RSOConfig?, boolean?];

// On wasm the engine normalises BN layers with its own fast kernels (engine/channel-norm.ts), elsewhere with tfjs's.
// The fifth column turns on batchCandidates: the candidates of a conv step stacked through the rest in one pass.
const ROWS: readonly Row[] = [
  ['cpu', 'Sequential conv/BN/pool/dense', () => tinyConvSeq(2), true, false, CONV_INPUT],
  ['cpu', 'functional DAG: conv chains into a residual add with a projected skip', () => chainResidual(2), true, false, CONV_INPUT],
  ['cpu', 'functional DAG: a skip that leaves a BN output (suffix re-run only)', () => tinyResidual(2), false, false, CONV_INPUT],
  ['cpu', 'functional DAG: conv chains into a residual add, batched candidates', () => chainResidual(2), true, true, CONV_INPUT],
  ['cpu', 'Sequential MLP: dense/BN/dense (tanh)/dense', () => tinyMlp(2), true, false, MLP_INPUT],
  ['cpu', 'functional MLP: dense chains into a residual add with a projected skip', () => mlpResidual(2), true, false, MLP_INPUT],
  ['wasm', 'Sequential conv/BN/pool/dense', () => tinyConvSeq(2), true, false, CONV_INPUT],
  ['wasm', 'functional DAG: conv chains into a residual add with a projected skip', () => chainResidual(2), true, false, CONV_INPUT],
  ['wasm', 'Sequential conv/BN/pool/dense, batched candidates', () => tinyConvSeq(2), true, true, CONV_INPUT],
  ['wasm', 'functional MLP: dense chains into a residual add, batched candidates', () => mlpResidual(2), true, true, MLP_INPUT],
  // A layer called more than once: the delta paths fall back to the suffix re-run for it and for chains through it.
  ['cpu', 'functional MLP: a Dense layer called twice', () => sharedDenseMlp(2), true, false, MLP_INPUT],
  ['cpu', 'functional conv net: a Conv2D layer called twice', () => sharedConvNet(2), true, false, CONV_INPUT],
  ['cpu', 'functional MLP: a sub-model called twice, its first layer also called on its own', () => reusedSubModel(2), false, false, MLP_INPUT],
  ['wasm', 'functional MLP: a Dense layer called twice', () => sharedDenseMlp(2), true, false, MLP_INPUT],
  // Kernel and bias regularizers: their penalties are part of every candidate's loss, as under model.fit.
  ['cpu', 'Sequential conv net with L2 and L1L2 kernel and bias regularizers', () => regularizedConvNet(2), true, false, CONV_INPUT],
  ['cpu', 'functional MLP with L2 and L1L2 kernel and bias regularizers', () => regularizedMlp(2), true, false, MLP_INPUT],
  ['wasm', 'functional MLP with L2 and L1L2 kernel and bias regularizers', () => regularizedMlp(2), true, false, MLP_INPUT],
  // Ops without a (useful) gradient, in a custom layer between Dense layers: the layers around it take the suffix.
  ...(Object.keys(NO_GRADIENT_OPS) as NoGradientOp[]).map((op) => ['cpu', `MLP with a ${op} layer (no gradient)`, () => opMlp(op, 2), true, false, MLP_INPUT] as const),
  ['wasm', 'MLP with a greater layer (no gradient)', () => opMlp('greater', 2), true, false, MLP_INPUT],
  // The same layers declared elementwise: the Dense delta path runs through them.
  ...(['greater', 'sign', 'intCast'] as const).map((op) => ['cpu', `MLP with a ${op} layer declared elementwise`, () => opMlp(op, 2, true), true, false, MLP_INPUT] as const),
  ['wasm', 'MLP with a step layer declared elementwise, batched candidates', () => opMlp('step', 2, true), true, true, MLP_INPUT],
  // Weight grids: the candidates are grid neighbours (binary: the sign flip, and a repeat of w), on the same paths.
  // A flip often leaves the loss unchanged, an exact tie decided by float rounding; weight-grid.test.ts checks
  // the engine's losses against the whole model at every step instead, so the two runs never part.
  ['cpu', 'Sequential conv/BN/pool/dense with ternary kernels', () => tinyConvSeq(2), true, false, CONV_INPUT, { grid: ternaryGrid() }],
  ['cpu', 'Sequential conv/BN/pool/dense with binary kernels', () => tinyConvSeq(2), true, false, CONV_INPUT, { grid: binaryGrid() }],
  ['wasm', 'functional DAG with binary kernels: conv chains into a residual add', () => chainResidual(2), true, false, CONV_INPUT, { grid: binaryGrid() }],
  ['cpu', 'Sequential MLP with 3-bit kernels, batched candidates', () => tinyMlp(2), true, true, MLP_INPUT, { grid: uniformGrid({ bits: 3 }) }],
  // A fitted grid: a step per output channel, given (as quantizeModel fits them) rather than derived from σ.
  ['cpu', 'Sequential conv/BN/pool/dense with 3-bit kernels, a step per output channel', () => namedConvSeq(2), true, false, CONV_INPUT, { grid: namedPerChannelGrid() }],
  ['wasm', 'Sequential conv/BN/pool/dense with 3-bit kernels, a step per output channel, batched candidates', () => namedConvSeq(3), true, true, CONV_INPUT, { grid: namedPerChannelGrid() }],
  // σ adapted per tensor from its share of moves (window 10, so that it changes within the run).
  ['cpu', 'Sequential conv/BN/pool/dense with σ adaptation', () => tinyConvSeq(2), true, false, CONV_INPUT, { sigmaAdaptation: successRule({ window: 10 }) }],
  // σ widened while steps tie (window 2, min 0.5 so that moving windows narrow it too); ties counted from the losses.
  ['cpu', 'Sequential MLP with σ widened on ties', () => tinyMlp(2), true, false, MLP_INPUT, { sigmaAdaptation: tieWidening({ window: 2, min: 0.5 }) }],
  // Block moves: each kernel step moves every weight of one output channel; the delta paths take the channel change.
  ['cpu', 'Sequential conv/BN/pool/dense with block moves', () => tinyConvSeq(2), true, false, CONV_INPUT, { moves: channelBlocks() }],
  ['cpu', 'Sequential MLP with block moves', () => tinyMlp(2), true, false, MLP_INPUT, { moves: channelBlocks() }],
  // Per-group shares: a random half and quarter of the two conv blocks per cycle, every dense weight.
  ['cpu', 'Sequential conv/BN/pool/dense with block moves and per-group shares', () => tinyConvSeq(2), true, false, CONV_INPUT, { moves: channelBlocks(), coordinates: randomSubset({ fraction: [0.5, 0.25, 1] }) }],
  // Ranked shares, as roundingOrder spends a repair: the cheaper 40% of each kernel on its grid, every BN and bias scalar.
  ['cpu', 'Sequential conv/BN/pool/dense with 3-bit kernels per channel, visiting the cheapest 40% of each kernel', () => namedConvSeq(2), true, false, CONV_INPUT, {
    grid: namedPerChannelGrid(),
    coordinates: rankedSubset({ fraction: 0.4, tensors: NAMED_KERNELS.map((k, i) => ({ name: k.name, costs: scrambledCosts(k.size, i) })) }),
  }],
  ['wasm', 'functional DAG with block moves: conv chains into a residual add, batched candidates', () => chainResidual(2), true, true, CONV_INPUT, { moves: channelBlocks({ norm: 2 }) }],
  // Unit moves: each kernel step moves every weight leaving one input unit or channel, across every output
  // channel, so kernel steps re-run the suffix and only scalar steps take the output layer's path.
  ['cpu', 'Sequential conv/BN/pool/dense with unit moves', () => tinyConvSeq(2), false, false, CONV_INPUT, { moves: unitMoves() }, true],
  ['cpu', 'Sequential MLP with unit moves', () => tinyMlp(2), false, false, MLP_INPUT, { moves: unitMoves() }, true],
  ['wasm', 'functional DAG with unit moves: conv chains into a residual add', () => chainResidual(2), false, false, CONV_INPUT, { moves: unitMoves({ norm: 2 }) }, true],
  // Sparse directions: a block of k scalars of one kernel. One that falls in one output channel takes the delta
  // paths (a filter that is zero off the block); the others re-run the suffix, and the kept heads learn of every
  // channel they changed.
  ['cpu', 'Sequential conv/BN/pool/dense with sparse directions (k = 2)', () => tinyConvSeq(2), true, false, CONV_INPUT, { moves: sparseDirection({ k: 2 }) }, true],
  ['wasm', 'functional MLP with sparse directions (k = 2): dense chains into a residual add, batched candidates', () => mlpResidual(2), true, true, MLP_INPUT, { moves: sparseDirection({ k: 2 }) }, true],
];

for (const [backend, name, build, usesDeltas, batched, features, extra = {}, offChannel = false] of ROWS) {
  describe(`model engine ≡ closure path on ${backend}: ${name}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(useCpu);
    it(`gives the same three candidate losses (1e-5 relative) and decisions over ${STEPS} steps up to a reported near-tie, and then the same weights`, async () => {
      const { x, y } = toyData(64, [...features], 11);
      const report = await equivalenceRow(build, x, y, batched, { config: extra });
      assertEquivalent(`${backend}, ${name}`, report, { usesDeltas, batched, lossTolerance: LOSS_TOLERANCE, offChannel });
      tf.dispose([x, y]);
    });
  });
}

/** The 0-1 loss per example: 1 where the arg-max of the prediction is not the true class (no gradient). */
const errorRate = (yt: tf.Tensor, yp: tf.Tensor) => tf.cast(tf.notEqual(tf.argMax(yp, -1), tf.argMax(yt, -1)), 'float32');

// A loss function, here one without a gradient: the engine evaluates it on the layers above the searched one
// (the softmax output path is for categoricalCrossentropy by name only, so it must not run).
for (const [backend, name, build, features] of [
  ['cpu', 'Sequential MLP: dense/BN/dense (tanh)/dense', () => tinyMlp(2), MLP_INPUT],
  ['cpu', 'Sequential conv/BN/pool/dense', () => tinyConvSeq(2), CONV_INPUT],
  ['wasm', 'Sequential MLP: dense/BN/dense (tanh)/dense', () => tinyMlp(2), MLP_INPUT],
] as const) {
  describe(`model engine ≡ closure path on ${backend} under a 0-1 loss: ${name}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(useCpu);
    it(`gives the same error rates and decisions over ${STEPS} steps, with the delta paths and without the output path`, async () => {
      const { x, y } = toyData(64, [...features], 11);
      const a = await closureRun(build, x, y, { loss: errorRate });
      const b = await engineRun(build, x, y, false, { loss: errorRate });
      const { same, worst, coordinateMismatches } = compareSteps(a.steps, b.steps);
      const ties = a.steps.slice(0, STEPS).filter((r) => r.losses[0] === r.losses[1] && r.losses[0] === r.losses[2]).length;
      console.log(`${backend}, 0-1 loss, ${name}: ${same} steps agree, worst relative loss difference ${worst.toExponential(2)}; ${ties} steps with three equal losses (w kept); ${b.deltaSteps} on the delta path`);
      // An error rate moves only when an example's arg-max changes, so float rounding could show only for an
      // example whose two largest outputs agree to the last bit: none does here, and every loss is equal.
      expect(coordinateMismatches).toBe(0);
      expect(same).toBe(STEPS);
      expect(worst).toBe(0);
      expect(b.deltaSteps).toBeGreaterThan(40);
      expect(b.outputSteps).toBe(0);
      // Every candidate loss is a multiple of 1/16 (the batch): an error rate, not a surrogate.
      for (const r of b.steps) for (const l of r.losses) expect(l * BATCH).toBeCloseTo(Math.round(l * BATCH), 4);
      a.model.dispose();
      b.model.dispose();
      tf.dispose([x, y]);
    });
  });
}

describe('model engine cache budgets', () => {
  it('change where cut inputs and heads live (backend, host, recomputed), never the decisions', async () => {
    const { x, y } = toyData(64, [6, 6, 1], 12);
    const run = async (budget: { cacheBytes: number; hostCacheBytes: number }) => {
      const model = chainResidual(3);
      const opt = new RSOOptimizer(config);
      const seen: Record[] = [];
      const history = await opt.fit(model, x, y, {
        loss: 'categoricalCrossentropy',
        batchSize: BATCH,
        maxSteps: 120,
        shuffle: true,
        verbose: 0,
        engine: 'model',
        batchNormSamples: 0,
        ...budget,
        callbacks: { onBatchEnd: async () => void seen.push(record(opt.lastStepResult!)) },
      });
      model.dispose();
      const p = history.params;
      return { seen, hits: Number(p['engineCacheHits']), misses: Number(p['engineCacheMisses']), headHits: Number(p['engineHeadHits']) };
    };
    const device = await run({ cacheBytes: 1e9, hostCacheBytes: 0 });
    const host = await run({ cacheBytes: 0, hostCacheBytes: 1e9 });
    const none = await run({ cacheBytes: 0, hostCacheBytes: 0 });
    // Without host memory no head is kept, so `device` and `none` run the same arithmetic bit for bit. Kept
    // heads are brought up to date channel by channel, which rounds differently: same decisions, losses
    // within 1e-6 relative.
    expect(none.seen).toEqual(device.seen);
    expect(device.headHits).toBe(0);
    expect(host.headHits).toBeGreaterThan(0);
    host.seen.forEach((r, s) => {
      const d = device.seen[s]!;
      expect([r.tensor, r.flat, r.accepted]).toEqual([d.tensor, d.flat, d.accepted]);
      r.losses.forEach((l, k) => expect(relErr(l, d.losses[k]!)).toBeLessThan(1e-6));
    });
    // 4 chunks per pass: every chunk after the first visit of a group is a hit when cached.
    expect(device.hits).toBeGreaterThan(device.misses);
    expect(host.hits).toBe(device.hits);
    expect(none.hits).toBe(0);
    expect(none.misses).toBe(120);
    tf.dispose([x, y]);
  });
});
