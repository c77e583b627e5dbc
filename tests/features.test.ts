// The cross-feature checks, run on every row of tests/feature-table.ts.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { POLICY_KINDS, RSOOptimizer, policyNames } from '../src/index.js';
import type { PolicyKind, RSOConfig, RSOFitArgs } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { CONFIG_FIELDS, parseConfig, serializeConfig } from '../src/config/config.js';
import { relErr } from './equivalence-runs.js';
import { FEATURES, FEATURE_BASE, FEATURE_SPLIT, FEATURE_STEPS, MIN_SHARED, MLP, ROWS_OF_DATA } from './feature-table.js';
import type { FeatureRow } from './feature-table.js';
import { toyData, trainBatches, useCpu } from './helpers.js';

beforeAll(useCpu);

/**
 * The model engine without kept heads: a kept head is brought up to date channel by channel, which rounds
 * differently from a fresh one, so a run that starts over (as after a load) would differ in the last bit of its
 * losses. Without them the engine's arithmetic does not depend on what it ran before.
 */
const UNCACHED: RSOFitArgs = { engine: 'model', hostCacheBytes: 0 };

/** One step as the checks compare it. */
interface Trace {
  readonly tensor: number;
  readonly flat: number;
  readonly accepted: number;
  readonly delta: number;
  readonly losses: number[];
}

const optionsOf = (row: FeatureRow): RSOConfig => ({ ...FEATURE_BASE, ...row.config });
const modelOf = (row: FeatureRow) => row.model ?? MLP;
const dataOf = (row: FeatureRow) => toyData(ROWS_OF_DATA, [...modelOf(row).features], 5);
const trainable = (m: tfl.LayersModel) => Float32Array.from(m.trainableWeights.flatMap((w) => Array.from(w.read().dataSync())));
const allWeights = (m: tfl.LayersModel) => Float32Array.from(m.getWeights().flatMap((w) => Array.from(w.dataSync())));
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

/** `steps` steps of rso.fit on `model` (compiled by this call when it is not yet), recording each step. */
async function fitSteps(row: FeatureRow, opt: RSOOptimizer, model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, steps: number, args: RSOFitArgs = {}): Promise<Trace[]> {
  const out: Trace[] = [];
  await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy', batchSize: row.batchSize ?? 16, maxSteps: steps, verbose: 0, batchNormSamples: 0, ...args,
    callbacks: {
      onBatchEnd: async () => {
        const r = opt.lastStepResult!;
        out.push({ tensor: r.tensor, flat: r.flat, accepted: r.accepted, delta: r.delta, losses: Array.from(r.losses) });
      },
    },
  });
  return out;
}

interface Run {
  readonly model: tfl.LayersModel;
  readonly opt: RSOOptimizer;
  readonly trace: Trace[];
}

/** A fresh model and optimizer of the row, trained `steps` steps; the caller disposes the model. */
async function freshRun(row: FeatureRow, x: tf.Tensor, y: tf.Tensor, args: RSOFitArgs = {}, steps = FEATURE_STEPS): Promise<Run> {
  const model = modelOf(row).build();
  const opt = new RSOOptimizer(optionsOf(row));
  const trace = await fitSteps(row, opt, model, x, y, steps, args);
  return { model, opt, trace };
}

/**
 * Two runs of `row` on different arithmetic: the same coordinates and Δ, candidate losses within the row's
 * tolerance, and the same decisions up to a first differing one, which must be a near-tie (gap below 1e-6) after
 * at least MIN_SHARED steps (any step for a row with exact ties); then, if they never parted, the same weights.
 */
function expectSameRun(row: FeatureRow, a: Run, b: Run): void {
  const tolerance = row.tolerance ?? 1e-5;
  expect(b.trace.length).toBe(a.trace.length);
  for (let s = 0; s < a.trace.length; s++) {
    const [ra, rb] = [a.trace[s]!, b.trace[s]!];
    expect([rb.tensor, rb.flat, rb.delta]).toEqual([ra.tensor, ra.flat, ra.delta]);
    ra.losses.forEach((l, k) => expect(relErr(l, rb.losses[k]!)).toBeLessThan(tolerance));
    if (ra.accepted !== rb.accepted) {
      expect(relErr(ra.losses[ra.accepted]!, ra.losses[rb.accepted]!)).toBeLessThan(1e-6);
      expect(s).toBeGreaterThanOrEqual(row.exactTies === true ? 0 : MIN_SHARED);
      return;
    }
  }
  const [wa, wb] = [trainable(a.model), trainable(b.model)];
  wa.forEach((v, i) => expect(Math.abs(v - wb[i]!)).toBeLessThan(tolerance * Math.max(1, Math.abs(v))));
}

/** Saves `model` with its optimizer (model.save with includeOptimizer) and loads it back. */
async function saveAndLoad(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
  return tfl.loadLayersModel(tf.io.fromMemory(saved!));
}

/** The policy names a row's options give a field of `kind` (a grid list gives several). */
function namesIn(row: FeatureRow, kind: PolicyKind): string[] {
  const fields = CONFIG_FIELDS.filter((f) => 'kind' in f && f.kind === kind);
  const values = fields.flatMap((f) => [(row.config as Record<string, unknown>)[f.name]].flat());
  return values.map((v) => (v as { name?: unknown } | undefined)?.name).filter((n): n is string => typeof n === 'string');
}

describe('the feature table', () => {
  it('has a row for every registered policy of every kind, built-in or user-written, and unique row names', () => {
    for (const kind of POLICY_KINDS) {
      for (const name of policyNames(kind)) expect(FEATURES.some((row) => namesIn(row, kind).includes(name)), `${kind} "${name}"`).toBe(true);
    }
    expect(new Set(FEATURES.map((r) => r.name)).size).toBe(FEATURES.length);
  });
});

describe.each(FEATURES)('$name', (row) => {
  it('round-trips its config: serializeConfig, JSON, parseConfig, and getConfig → fromConfig', () => {
    const saved = serializeConfig(parseConfig(optionsOf(row)));
    // Every option the row gives survives, parameters included.
    expect(saved).toMatchObject(row.config as Record<string, unknown>);
    expect(serializeConfig(parseConfig(JSON.parse(JSON.stringify(saved)) as RSOConfig))).toEqual(saved);
    const config = new RSOOptimizer(optionsOf(row)).getConfig();
    expect(config).toEqual(saved);
    expect(RSOOptimizer.fromConfig(RSOOptimizer, JSON.parse(JSON.stringify(config))).getConfig()).toEqual(config);
  });

  it(`under rso.fit: save (model.save with the optimizer) after ${FEATURE_SPLIT} steps, load and continue gives the weights and state of an uninterrupted run, bit for bit, and no tensor leaks`, async () => {
    const { x, y } = dataOf(row);
    const before = tf.memory().numTensors;
    const straight = await freshRun(row, x, y, UNCACHED);
    const first = await freshRun(row, x, y, UNCACHED, FEATURE_SPLIT);
    const resumed = await saveAndLoad(first.model);
    const opt = resumed.optimizer as RSOOptimizer;
    expect(opt).toBeInstanceOf(RSOOptimizer);
    expect(opt.getConfig()).toEqual(straight.opt.getConfig());
    const rest = await fitSteps(row, opt, resumed, x, y, FEATURE_STEPS - FEATURE_SPLIT, UNCACHED);
    expect([...first.trace, ...rest]).toEqual(straight.trace);
    expect(opt.step).toBe(straight.opt.step);
    expect(opt.searchState()).toEqual(straight.opt.searchState());
    // BN moving statistics included.
    expect(sameBits(allWeights(resumed), allWeights(straight.model))).toBe(true);
    // The run moved the weights (the check would be vacuous otherwise).
    expect(straight.trace.some((s) => s.accepted !== 0)).toBe(true);
    for (const m of [straight.model, first.model, resumed]) {
      m.optimizer.dispose();
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it.skipIf(row.minimize === false)(`under model.fit's per-batch path: save after ${FEATURE_SPLIT} batches, load and continue gives the weights and state of an uninterrupted run, bit for bit, and no tensor leaks`, async () => {
    const { x, y } = dataOf(row);
    const before = tf.memory().numTensors;
    const batch = row.batchSize ?? 16;
    const compiled = () => {
      const model = modelOf(row).build();
      model.compile({ optimizer: new RSOOptimizer(optionsOf(row)), loss: 'categoricalCrossentropy' });
      return model;
    };
    const [straight, first] = [compiled(), compiled()];
    await trainBatches(straight, x, y, 0, FEATURE_STEPS, batch);
    await trainBatches(first, x, y, 0, FEATURE_SPLIT, batch);
    const resumed = await saveAndLoad(first);
    await trainBatches(resumed, x, y, FEATURE_SPLIT, FEATURE_STEPS, batch);
    const [a, b] = [straight.optimizer as RSOOptimizer, resumed.optimizer as RSOOptimizer];
    expect(b.step).toBe(a.step);
    expect(b.searchState()).toEqual(a.searchState());
    expect(sameBits(allWeights(resumed), allWeights(straight))).toBe(true);
    // The run moved the weights (the check would be vacuous otherwise).
    const init = modelOf(row).build();
    expect(sameBits(allWeights(straight), allWeights(init))).toBe(false);
    init.dispose();
    for (const m of [straight, first, resumed]) {
      m.optimizer.dispose();
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it(`2 worker threads make the steps of 1 thread${row.exactTies === true ? ' up to a tie, and repeat themselves' : ''}`, async () => {
    const { x, y } = dataOf(row);
    const before = tf.memory().numTensors;
    const two = { engine: 'model' as const, workers: nodeWorkers(2, { modules: row.modules ?? [] }) };
    const runs = [await freshRun(row, x, y, { engine: 'model' }), await freshRun(row, x, y, two)];
    expectSameRun(row, runs[0]!, runs[1]!);
    if (row.exactTies === true) {
      runs.push(await freshRun(row, x, y, two));
      expect(runs[2]!.trace).toEqual(runs[1]!.trace);
    }
    expect(new Set(runs[1]!.trace.map((s) => s.accepted)).size).toBeGreaterThan(1);
    for (const r of runs) r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('the model engine makes the steps of the closure path up to a near-tie, and then the same weights', async () => {
    const { x, y } = dataOf(row);
    const before = tf.memory().numTensors;
    const closure = await freshRun(row, x, y, { engine: 'closure' });
    const engine = await freshRun(row, x, y, { engine: 'model' });
    expectSameRun(row, closure, engine);
    closure.model.dispose();
    engine.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});
