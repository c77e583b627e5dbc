// User-written probe reuse, early rejection and a stateful acceptance rule (tests/user-policies.ts) do what they
// say on every path. The feature table holds their cross-feature rows (config round trip, save/load/continue,
// threads, engine ≡ closure).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RSOOptimizer, policyNames } from '../src/index.js';
import type { RSOFitArgs, StepResult } from '../src/index.js';
import { nodeWorkers } from '../src/node/index.js';
import { tinyMlp, toyData, trainBatches, useCpu } from './helpers.js';
import { USER_POLICIES, meanMargin, partWayToBest, thinnedGreedy } from './user-policies.js';

beforeAll(useCpu);

const BASE = { seed: 31, cycles: 4 } as const;
const STEPS = 100;

/** The steps of a run of `steps` steps of rso.fit on tinyMlp(2), and its history's params. */
async function fitRun(config: object, args: RSOFitArgs, batchSize: number) {
  const { x, y } = toyData(64, [8], 5);
  const model = tinyMlp(2);
  const opt = new RSOOptimizer({ ...BASE, ...config });
  const steps: StepResult[] = [];
  const history = await opt.fit(model, x, y, {
    loss: 'categoricalCrossentropy', batchSize, maxSteps: STEPS, verbose: 0, batchNormSamples: 0, ...args,
    callbacks: { onBatchEnd: async () => void steps.push(opt.lastStepResult!) },
  });
  model.dispose();
  tf.dispose([x, y]);
  return { steps, params: history.params };
}

/** The steps of `STEPS` batches of 16 under model.fit's per-batch path (`minimize`). */
async function minimizeRun(config: object): Promise<StepResult[]> {
  const { x, y } = toyData(64, [8], 5);
  const model = tinyMlp(2);
  const opt = new RSOOptimizer({ ...BASE, ...config });
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  const steps: StepResult[] = [];
  for (let b = 0; b < STEPS; b++) {
    await trainBatches(model, x, y, b, b + 1, 16);
    steps.push(opt.lastStepResult!);
  }
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return steps;
}

/**
 * Checks every step against partWayToBest(fraction), derived by hand: with L₀, L₊, L₋ the losses of w, w + Δ and
 * w − Δ, a step whose better probe beats L₀ writes w ± fraction · Δ (in float32) toward that probe; any other
 * writes the kept candidate. Returns how many steps moved part way.
 */
function expectPartWay(steps: readonly StepResult[], fraction: number): number {
  let partWay = 0;
  for (const s of steps) {
    const [l0, lPlus, lMinus] = [s.losses[0]!, s.losses[1]!, s.losses[2]!];
    const c = s.move.candidates.map((v) => v[0]!);
    const better = lMinus < lPlus ? -1 : 1;
    if (Math.min(lPlus, lMinus) < l0) {
      expect(s.value).toBe(Math.fround(c[0]! + better * fraction * (c[1]! - c[0]!)));
      partWay++;
    } else {
      expect(s.value).toBe(c[s.accepted]!);
    }
  }
  return partWay;
}

describe('a user-written probe reuse (partWayToBest)', () => {
  it('is registered, and rebuilt from its config with its parameter', () => {
    expect(policyNames('probeReuse')).toContain('partWayToBest');
    expect(new RSOOptimizer({ probeReuse: partWayToBest(0.25) }).getConfig()['probeReuse']).toEqual({ name: 'partWayToBest', fraction: 0.25 });
    expect(() => new RSOOptimizer({ probeReuse: { name: 'partWayToBest', fraction: 2 } })).toThrow(/probeReuse: partWayToBest.fraction must be in \(0, 1\], got 2/);
  });

  for (const [path, run] of [
    ['rso.fit on the model engine', () => fitRun({ probeReuse: partWayToBest(0.25) }, { engine: 'model' }, 16)],
    ['rso.fit on 2 worker threads', () => fitRun({ probeReuse: partWayToBest(0.25) }, { engine: 'model', workers: nodeWorkers(2, { modules: [USER_POLICIES] }) }, 16)],
    ['rso.fit on the closure path', () => fitRun({ probeReuse: partWayToBest(0.25) }, { engine: 'closure' }, 16)],
  ] as const) {
    it(`moves a quarter of the way to the better probe under ${path}`, async () => {
      const before = tf.memory().numTensors;
      const { steps } = await run();
      expect(steps).toHaveLength(STEPS);
      expect(expectPartWay(steps, 0.25)).toBeGreaterThan(10);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('moves a quarter of the way to the better probe under minimize (model.fit, trainOnBatch)', async () => {
    const before = tf.memory().numTensors;
    const steps = await minimizeRun({ probeReuse: partWayToBest(0.25) });
    expect(expectPartWay(steps, 0.25)).toBeGreaterThan(10);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a user-written early rejection (meanMargin)', () => {
  const rule = { name: 'meanMargin', margin: 0.002, share: 0.375 };

  it('is registered, and rebuilt from its config with its parameters', () => {
    expect(policyNames('earlyRejection')).toContain('meanMargin');
    expect(new RSOOptimizer({ earlyRejection: meanMargin(0.002, 0.375) }).getConfig()['earlyRejection']).toEqual(rule);
    expect(() => new RSOOptimizer({ earlyRejection: { name: 'meanMargin', margin: -1 } })).toThrow(/earlyRejection: meanMargin.margin must be ≥ 0, got -1/);
  });

  it('decides steps on its stage and the rest on the full batch, the same ones on the model engine, 2 threads and the closure path', async () => {
    const before = tf.memory().numTensors;
    const one = await fitRun({ earlyRejection: rule }, { engine: 'model' }, 64);
    const decided = String(one.params['engineStagesDecided']).split(',').map(Number);
    // Stage 0 is ⌈0.375 · 64⌉ = 24 rows; some steps stop there, the others take the full batch.
    expect(decided).toHaveLength(2);
    expect(decided[0]).toBeGreaterThan(10);
    expect(decided[1]).toBeGreaterThan(10);
    expect(decided[0]! + decided[1]!).toBe(STEPS);
    expect(one.params['engineStagesEvaluated']).toBe(`${STEPS},${decided[1]}`);
    expect(one.params['engineStageExamples']).toBe(STEPS * 24 + decided[1]! * 64);
    // An early step's losses are the stage's means, whose best beats the others by more than the margin.
    const clear = one.steps.filter((s) => [0, 1, 2].every((k) => k === s.accepted || s.losses[k]! - s.losses[s.accepted]! > rule.margin));
    expect(clear.length).toBeGreaterThanOrEqual(decided[0]!);
    const two = await fitRun({ earlyRejection: rule }, { engine: 'model', workers: nodeWorkers(2, { modules: [USER_POLICIES] }) }, 64);
    const closure = await fitRun({ earlyRejection: rule }, { engine: 'closure' }, 64);
    for (const other of [two, closure]) {
      expect(other.params['engineStagesDecided']).toBe(one.params['engineStagesDecided']);
      expect(other.steps.map((s) => s.accepted)).toEqual(one.steps.map((s) => s.accepted));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('needs its module in the worker threads, and is refused by minimize as the built-in is', async () => {
    await expect(fitRun({ earlyRejection: rule }, { engine: 'model', workers: nodeWorkers(2) }, 64)).rejects.toThrow(/worker thread 1 failed: .*unknown earlyRejection "meanMargin"/);
    await expect(minimizeRun({ earlyRejection: rule })).rejects.toThrow(/earlyRejection needs per-example losses/);
  });
});

describe('a user-written stateful acceptance rule (thinnedGreedy): a policy state saved as rso/<name>', () => {
  it('counts the moves greedy would keep and turns every 3rd down; the count is saved as rso/acceptance and loads back', async () => {
    const before = tf.memory().numTensors;
    const { steps } = await fitRun({ acceptance: { name: 'thinnedGreedy', every: 3 } }, { engine: 'model' }, 16);
    // By hand: m steps had a probe below w (finite); of those, ⌊m / 3⌋ were turned down and kept w.
    const wouldMove = steps.filter((s) => Math.min(...[1, 2].map((k) => (Number.isFinite(s.losses[k]!) ? s.losses[k]! : Infinity))) < s.losses[0]!).length;
    expect(wouldMove).toBeGreaterThan(10);
    expect(steps.filter((s) => s.accepted !== 0)).toHaveLength(wouldMove - Math.floor(wouldMove / 3));
    const opt = new RSOOptimizer({ ...BASE, acceptance: thinnedGreedy(3) });
    const model = tinyMlp(2);
    const { x, y } = toyData(64, [8], 5);
    await opt.fit(model, x, y, { loss: 'categoricalCrossentropy', batchSize: 16, maxSteps: STEPS, verbose: 0, batchNormSamples: 0, engine: 'model' });
    const saved = await opt.getWeights();
    expect(saved.map((w) => w.name)).toEqual(['iter', 'rso/search', 'rso/sigma', 'rso/acceptance']);
    expect(Array.from(saved[3]!.tensor.dataSync())).toEqual([wouldMove]);
    expect(opt.searchState().policies).toEqual([{ name: 'rso/acceptance', dtype: 'int32', values: Int32Array.of(wouldMove) }]);
    // Loaded into a fresh optimizer, and refused with a bad count, which changes nothing.
    const other = new RSOOptimizer({ ...BASE, acceptance: thinnedGreedy(3) });
    await other.setWeights(saved);
    expect(other.searchState()).toEqual(opt.searchState());
    const bad = saved.map((w) => (w.name === 'rso/acceptance' ? { name: w.name, tensor: tf.tensor1d([-1], 'int32') } : w));
    await expect(other.setWeights(bad)).rejects.toThrow(/rso\/acceptance: expected one count ≥ 0, got \[-1\]/);
    expect(other.searchState()).toEqual(opt.searchState());
    // A stateless acceptance rule declares no such part.
    await expect(new RSOOptimizer(BASE).setWeights(saved)).rejects.toThrow(/unknown state part "rso\/acceptance"/);
    tf.dispose([bad[3]!.tensor, x, y]);
    for (const o of [opt, other]) o.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('puts the state back when a batch is undone, so that a retry gives the uninterrupted run (minimize, 3 steps per batch)', () => {
    const before = tf.memory().numTensors;
    const target = tf.tensor1d([0.5, -1, 2, 0.25]);
    const make = () => {
      const v = tf.tidy(() => tf.variable(tf.zeros([4])));
      const opt = new RSOOptimizer({ seed: 5, cycles: 50, sigmaBase: { name: 'fixed', value: 0.5 }, stepsPerBatch: { name: 'constant', value: 3 }, acceptance: thinnedGreedy(2) });
      return { v, opt };
    };
    let calls = 0;
    let failAt = Infinity;
    const lossOf = (v: tf.Variable) => () => {
      if (++calls === failAt) throw new Error('evaluation failed');
      return tf.sum(tf.square(tf.sub(v, target))) as tf.Scalar;
    };
    const [a, b] = [make(), make()];
    for (const r of [a, b]) for (let k = 0; k < 4; k++) r.opt.minimize(lossOf(r.v), false, [r.v]);
    const moved = Number(a.opt.searchState().policies![0]!.values[0]);
    // A batch of 3 steps uninterrupted, counting the loss calls of its steps.
    calls = 0;
    a.opt.minimize(lossOf(a.v), false, [a.v]);
    expect(Number(a.opt.searchState().policies![0]!.values[0])).toBeGreaterThan(moved);
    // The same batch failing in its last step: the earlier steps' moves, counted, are undone with the count.
    const stateBefore = b.opt.searchState();
    failAt = calls - 1;
    calls = 0;
    expect(() => b.opt.minimize(lossOf(b.v), false, [b.v])).toThrow(/evaluation failed/);
    expect(b.opt.searchState()).toEqual(stateBefore);
    failAt = Infinity;
    b.opt.minimize(lossOf(b.v), false, [b.v]);
    expect(b.opt.searchState()).toEqual(a.opt.searchState());
    expect(Array.from(b.v.dataSync())).toEqual(Array.from(a.v.dataSync()));
    for (const r of [a, b]) {
      r.opt.dispose();
      r.v.dispose();
    }
    target.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a state named as one of the search\'s parts, or as another policy\'s', () => {
    const named = (name: string) => ({ ...thinnedGreedy(3), state: { ...thinnedGreedy(3).state!, name } });
    expect(() => new RSOOptimizer({ acceptance: named('search') })).toThrow(/acceptance: the policy's state part "rso\/search" is the search's own/);
    expect(() => new RSOOptimizer({ acceptance: named('two words') })).toThrow(/its name must be one word, got "two words"/);
    const probe = { ...partWayToBest(), state: thinnedGreedy(3).state! };
    expect(() => new RSOOptimizer({ acceptance: thinnedGreedy(3), probeReuse: probe })).toThrow(/probeReuse: the policy's state part "rso\/acceptance" is the state of acceptance's policy/);
  });
});
