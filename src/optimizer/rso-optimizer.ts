import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** A named tensor, as tfjs optimizers save their state (tfjs-core's NamedTensor, which it does not export). */
export interface NamedTensor {
  /** The weight name, e.g. `rso/search`. */
  name: string;
  /** The value. */
  tensor: tf.Tensor;
}
import { createClosureEvaluator, requireScalar } from '../engine/closure-evaluator.js';
import { trainableVariablesReadBy } from '../engine/read-variables.js';
import { RSOSearch } from '../search/rso-search.js';
import { runBatch } from '../train/run-batch.js';
import type { StageCounts } from '../train/stage-counts.js';
import { snapshotOf } from '../search/snapshot.js';
import type { SearchSnapshot } from '../search/snapshot.js';
import type { StepResult } from '../search/rso-search.js';
import type { SearchState } from '../base/search-state.js';
import { partWeightName } from '../base/state-codec.js';
import { decodeSearch, encodeSearch, searchPart, sigmaPart } from '../search/state-parts.js';
import { snapToGrid } from '../search/tensor-grids.js';
import type { TensorGrid } from '../search/tensor-grids.js';
import { describeTensor } from '../base/weight-groups.js';
import type { WeightGroup } from '../base/weight-groups.js';
import type { CandidateEvaluator } from '../engine/evaluator.js';
import { fitRSO } from '../train/fit.js';
import type { RSOFitArgs, TensorsOrMap } from '../train/fit-args.js';
import { parseConfig, serializeConfig } from '../config/config.js';
import type { RSOConfig, ResolvedConfig } from '../config/config.js';

/** The weight name of the base σ per tensor, for error messages. */
const SIGMA_NAME = partWeightName(sigmaPart.name);

/**
 * RSO (random search optimization) as a `tf.Optimizer`: a gradient-free drop-in for SGD.
 *
 * @remarks
 * Each step takes one scalar weight w, draws Δ = z · σ_t · s_c (z from the perturbation distribution, σ_t the
 * tensor's base σ, s_c the cycle's σ factor), evaluates the loss at w, w + Δ and w − Δ on the same
 * mini-batch, and keeps the lowest (ties keep w; NaN and ±Inf never win). A cycle visits every trainable
 * scalar once, layer by layer from the output to the input.
 *
 * Under `model.fit` and `model.trainOnBatch`, each mini-batch runs `stepsPerBatch` steps (default 1: a new
 * batch per weight, as in the paper), three closure calls each. {@link RSOOptimizer.fit} is the RSO-native
 * trainer with cycles, a time budget, tfjs callbacks and one log line per cycle (a terminal progress bar is
 * `progressBar()` from `tfjs-rso/node`).
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * model.compile({ optimizer: new RSOOptimizer({ seed: 42, cycles: 50 }), loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { batchSize: 1000, epochs: 1 });
 * ```
 */
export class RSOOptimizer extends tf.Optimizer {
  /** The class name used by tfjs serialization. */
  static get className(): string {
    return 'RSOOptimizer';
  }

  private readonly resolved: ResolvedConfig;
  private readonly search: RSOSearch;
  private boundNames: string | null = null;
  private pendingSigmas: Float32Array | null = null;
  private lastStep: StepResult | null = null;
  private work = 0;
  // The tensors the last getWeights returned: owned here, freed by the next getWeights or dispose.
  private saved: tf.Tensor[] = [];

  /**
   * Creates an optimizer.
   *
   * @param config - Options; all optional, defaults follow the paper. Invalid values throw an error that
   *   names the field.
   */
  constructor(config: RSOConfig = {}) {
    super();
    this.resolved = parseConfig(config);
    this.search = new RSOSearch(this.resolved);
  }

  /** The parsed configuration. */
  get config(): ResolvedConfig {
    return this.resolved;
  }

  /** RSO steps taken so far (one scalar visited per step). */
  get step(): number {
    return this.search.step;
  }

  /** Completed cycles. */
  get cycle(): number {
    return this.search.cycle;
  }

  /** Same as {@link RSOOptimizer.step}: tfjs's counter of optimizer updates. */
  override get iterations(): number {
    return this.search.step;
  }

  /**
   * Forward work of the steps this optimizer ran in this process, as its evaluators counted it (see
   * {@link CandidateEvaluator.work}): examples × layers evaluated. `rso.fit`'s model engine counts it, in
   * whole-batch examples also with worker threads; the closure path and `minimize` do not (they add 0). Not saved.
   */
  get forwardWork(): number {
    return this.work;
  }

  /** The last step taken, or null before the first. */
  get lastStepResult(): StepResult | null {
    return this.lastStep;
  }

  /** Number of scalars one cycle visits, once bound to a model (0 before). */
  get scalarsPerCycle(): number {
    return this.search.bound ? this.search.scalarsPerCycle : 0;
  }

  /** A snapshot of the search position (cursor, cycle, counts, generator state). */
  searchState(): SearchState {
    return this.search.state();
  }

  /** Name of the weight group (layer or block) the cursor is on, or '' before binding. */
  currentGroup(): string {
    return this.search.currentGroupName();
  }

  /**
   * Runs the RSO steps of one mini-batch: `stepsPerBatch` steps, three calls of `f` each.
   *
   * @param f - The loss closure, evaluated on one fixed mini-batch.
   * @param returnCost - When true, returns the loss of the value kept by the last step as a scalar tensor.
   * @param varList - The variables to search (`model.fit` passes the trainable weights); defaults to the
   *   trainable variables that `f` reads, as `tf.train.sgd` searches only the variables that get a gradient.
   * @returns The loss tensor, or null when `returnCost` is false.
   * @throws RangeError when `varList` is omitted and `f` reads no trainable variable, or when the config sets
   *   `earlyRejection` (a loss closure gives one number per candidate, not the per-example losses it needs).
   * @remarks Without `varList`, each call first runs `f` once more with tfjs's tape on, to see which trainable
   * variables it reads (any kernel input counts, with or without a gradient). That call leaves every variable
   * as it was. Pass `varList` to skip it.
   */
  override minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    if (this.resolved.earlyRejection !== null) {
      throw new RangeError(
        'RSOOptimizer.minimize (model.fit, trainOnBatch): earlyRejection needs per-example losses, and a loss closure gives one number per candidate; ' +
          'train with rso.fit, or leave earlyRejection out',
      );
    }
    if (varList !== undefined && !Array.isArray(varList)) {
      throw new TypeError(`RSOOptimizer.minimize: varList must be an array of tf.Variable, got ${typeof varList}`);
    }
    const variables = varList ?? trainableVariablesReadBy(f);
    if (variables.length === 0 && varList === undefined) {
      throw new RangeError('RSOOptimizer.minimize: the loss closure reads no trainable variable, so there is nothing to search; pass varList or read the variables in f');
    }
    this.bind(variables, 'RSOOptimizer.minimize');
    const evaluator = createClosureEvaluator(variables, checkedClosure(f));
    try {
      this.runSteps(evaluator);
    } catch (e) {
      evaluator.rollback();
      throw e;
    } finally {
      evaluator.dispose();
    }
    if (!returnCost) return null;
    const last = this.lastStep!;
    return tf.scalar(last.losses[last.accepted]!);
  }

  /**
   * Runs the steps of one mini-batch (`stepsPerBatch` of them) through any evaluator.
   *
   * @remarks When a step throws, the whole batch is undone: every weight the batch's earlier steps changed is
   * written back and the search state (cursor, counters, generator) is restored, so a retry of the batch
   * reproduces an uninterrupted run.
   * @param evaluator - Computes candidate losses on the batch; the optimizer must be bound first.
   * @param keepGoing - Asked after each step but the batch's last: false ends the batch early (a step budget).
   * @param counts - With `earlyRejection`, the caller's counters (see `stageCounts`), updated with where each
   *   step stopped; `rso.fit` reports its own in `history.params`.
   * @returns The last step.
   */
  runSteps(evaluator: CandidateEvaluator, keepGoing?: () => boolean, counts?: StageCounts): StepResult {
    const before = evaluator.work?.() ?? 0;
    try {
      this.lastStep = runBatch(this.search, evaluator, keepGoing, counts);
    } finally {
      this.work += (evaluator.work?.() ?? 0) - before;
    }
    return this.lastStep;
  }


  /**
   * The bound search as plain data (config, packed state, σ per tensor), from which a worker thread rebuilds it.
   *
   * @returns The snapshot.
   * @throws TypeError when a policy is a custom one without a config.
   */
  searchSnapshot(): SearchSnapshot {
    return snapshotOf(this.search);
  }

  /** The weight groups (layers or conv+BN blocks) of the bound model, input → output; empty before binding. */
  get weightGroups(): readonly WeightGroup[] {
    return this.search.bound ? this.search.weightGroups : [];
  }

  /**
   * Binds the search to its variables (done by the first `minimize`): computes each tensor's base σ from its
   * current values. A call with other variables (the model was recompiled after `trainable` changed) rebinds:
   * the step, cycle and generator go on, the cursor restarts at the first group of the current cycle, and
   * tensors searched before keep their σ.
   *
   * @param variables - The trainable variables, in the model's order.
   * @param caller - The public method the user called, which the error messages name (`minimize` passes
   *   `'RSOOptimizer.minimize'`, `fit` passes `'rso.fit'`).
   */
  bind(variables: readonly tf.Variable[], caller = 'RSOOptimizer.bind'): void {
    const names = variables.map((v) => `${v.name}:${v.shape.join('x')}`).join(',');
    if (this.boundNames === names) return;
    for (const v of variables) {
      if (v.dtype !== 'float32') throw new TypeError(`${caller}: variable "${v.name}" has dtype ${v.dtype}; only float32 is searched`);
    }
    const infos = variables.map((v) => describeTensor(v.name, v.shape));
    const before = this.search.bound ? { state: this.search.state(), sigmas: this.sigmasByName() } : null;
    if (before !== null && !infos.some((t) => before.sigmas.has(t.name))) {
      throw new Error(`${caller}: this optimizer searches [${this.boundNames}] but was called with [${names}]. Use one optimizer per model.`);
    }
    const restored = before === null ? this.pendingSigmas : null;
    if (restored !== null && restored.length !== infos.length && infos.some((t) => t.size > 0)) {
      throw new RangeError(`${caller}: ${SIGMA_NAME} holds σ for ${restored.length} tensors, the model has ${infos.length} trainable tensors`);
    }
    const values = (i: number) => Float32Array.from(variables[i]!.dataSync() as Float32Array);
    named(caller, () => this.search.bind(infos, values, restored));
    if (before !== null) {
      const sigmas = this.search.baseSigmas!;
      infos.forEach((t, i) => (sigmas[i] = before.sigmas.get(t.name) ?? sigmas[i]!));
      // The adaptation state is per tensor of the old list: it starts afresh for the new one.
      this.search.restore({ ...before.state, group: 0, index: 0, adapt: undefined });
    }
    this.pendingSigmas = null;
    this.boundNames = names;
    snapVariables(variables, this.search.tensorGrids);
  }

  /**
   * The weight grid of each bound tensor that has one, by variable name (see {@link RSOConfig.grid}).
   *
   * @returns The grids; empty before binding or without grids.
   */
  get tensorGrids(): ReadonlyMap<string, TensorGrid> {
    const out = new Map<string, TensorGrid>();
    this.search.tensorGrids.forEach((g, i) => {
      if (g !== null) out.set(this.search.tensorInfo[i]!.name, g);
    });
    return out;
  }

  private sigmasByName(): Map<string, number> {
    return new Map(this.search.tensorInfo.map((t, i) => [t.name, this.search.baseSigmas![i]!]));
  }

  /**
   * RSO is gradient-free: this always throws.
   *
   * @throws Error explaining that RSO does not use gradients.
   */
  override computeGradients(): never {
    throw new Error('RSOOptimizer is gradient-free: computeGradients is not available. Use minimize(), model.fit() or rso.fit().');
  }

  /**
   * RSO is gradient-free: this always throws.
   *
   * @throws Error explaining that RSO does not use gradients.
   */
  applyGradients(): void {
    throw new Error('RSOOptimizer is gradient-free: applyGradients is not available. Use minimize(), model.fit() or rso.fit().');
  }

  /**
   * The full search state as named tensors: the step count (`iter`), then each part of the state through one
   * codec, as `rso/<part>`: the cursor, counts and generator state (`rso/search`, int32), each tensor's base σ
   * (`rso/sigma`, float32), and with `sigmaAdaptation` each tensor's σ multiplier and window counts
   * (`rso/sigmaAdaptation`, float32: the state of the policy, named after its kind).
   *
   * @returns The weights; saved by `model.save(…, { includeOptimizer: true })`.
   * @remarks The tensors belong to the optimizer, as a tfjs optimizer's slot variables do: they stay valid until
   * the next `getWeights` call or {@link RSOOptimizer.dispose}, which free them (so `model.save`, which does not
   * dispose what it saves, leaks nothing). Clone one to keep it longer; disposing them yourself is harmless.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const sigmas = this.search.baseSigmas ?? this.pendingSigmas ?? new Float32Array(0);
    const parts = encodeSearch(this.search.state(), sigmas);
    const weights: NamedTensor[] = [
      { name: 'iter', tensor: tf.scalar(this.search.step, 'int32') },
      ...parts.map((p) => ({ name: p.name, tensor: tf.tensor1d(p.values, p.dtype) })),
    ];
    tf.dispose(this.saved);
    this.saved = weights.map((w) => w.tensor);
    return weights;
  }

  /** Frees the tensors the last {@link RSOOptimizer.getWeights} returned (the optimizer holds no other tensor). */
  override dispose(): void {
    tf.dispose(this.saved);
    this.saved = [];
    super.dispose();
  }

  /**
   * Restores a state saved by {@link RSOOptimizer.getWeights}, or by a version that saved `rso/state` and
   * `rso/adapt` (read as `rso/search` and `rso/sigmaAdaptation`).
   *
   * @param weightValues - The named tensors.
   * @throws RangeError naming the part and the field when any part of the state is invalid: an unknown `rso/*`
   *   part (σ adaptation's without `sigmaAdaptation` in the config), a missing or twice-saved one, the layout, a
   *   counter or the cursor (checked against the model now if bound, else when the optimizer binds), the RNG table (a
   *   permutation of 0…255) and indices (0…255), a σ outside the range a config accepts, σ of another length
   *   than the model's trainable tensors (checked now if bound, else when the optimizer binds; empty only for an
   *   optimizer saved before it ever bound, at step 0), or σ adaptation's values. Nothing changes then.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const saved = new Map<string, ArrayLike<number>>();
    for (const w of weightValues) {
      if (!w.name.startsWith('rso/')) continue;
      if (w.tensor.rank !== 1) throw new RangeError(`RSOOptimizer.setWeights: "${w.name}" must be 1-D, got shape [${w.tensor.shape.join(', ')}]`);
      saved.set(w.name, await w.tensor.data());
    }
    const { state, sigmas } = named('RSOOptimizer.setWeights', () => decodeSearch(saved, this.resolved));
    this.checkSigmaCount(sigmas, state);
    // Every part is checked before anything changes; restore also checks the cursor against a bound model.
    named(`RSOOptimizer.setWeights: ${partWeightName(searchPart.name)}`, () => this.search.restore(state));
    if (this.search.bound) this.search.baseSigmas!.set(sigmas);
    else this.pendingSigmas = sigmas.length === 0 ? null : sigmas;
  }

  /** Checks restored σ against the bound model, and that only a never-bound save has none. */
  private checkSigmaCount(sigmas: Float32Array, state: SearchState): void {
    if (this.search.bound && this.search.baseSigmas!.length !== sigmas.length) {
      throw new RangeError(`RSOOptimizer.setWeights: ${SIGMA_NAME} holds σ for ${sigmas.length} tensors, the bound model has ${this.search.baseSigmas!.length}`);
    }
    // An optimizer saved before it ever bound has no σ and no step; any later state needs the σ it was saved with.
    if (sigmas.length === 0 && (state.step > 0 || state.batch > 0 || state.cycle > 0)) {
      throw new RangeError(
        `RSOOptimizer.setWeights: ${SIGMA_NAME} is empty but the state is at step ${state.step} (cycle ${state.cycle}, batch ${state.batch}); ` +
          'a state saved after binding holds one σ per trainable tensor, and σ recomputed from trained weights would part from the uninterrupted run',
      );
    }
  }

  /**
   * The configuration as plain JSON (policies by their registry config).
   *
   * @returns The config; {@link RSOOptimizer.fromConfig} rebuilds an equal optimizer from it.
   * @throws TypeError when a custom policy has no config.
   */
  getConfig(): tf.serialization.ConfigDict {
    return serializeConfig(this.resolved) as tf.serialization.ConfigDict;
  }

  /**
   * Rebuilds an optimizer from {@link RSOOptimizer.getConfig}'s output.
   *
   * @param cls - The class (tfjs passes it).
   * @param config - The config.
   * @returns A new optimizer with a fresh state.
   * @throws RangeError or TypeError naming the field, as the constructor does; RangeError for a field that is null.
   */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    // tfjs adds its own `customObjects` entry when it deserializes a saved model.
    const rest: Record<string, unknown> = { ...config };
    delete rest['customObjects'];
    // getConfig writes a value for every field it saves; a null in a saved config is damage, not a default.
    for (const [field, value] of Object.entries(rest)) {
      if (value === null) {
        throw new RangeError(`RSOOptimizer.fromConfig: ${field} is null in the saved config; a saved config holds a value for every field it has (a constructed config's null would take the default)`);
      }
    }
    return new cls(rest as RSOConfig);
  }

  /**
   * Trains `model` with RSO in RSO-native units (cycles, steps), with tfjs callbacks and, at `verbose: 1`, one
   * console line per cycle (for a terminal progress bar, pass `callbacks: [progressBar()]` from `tfjs-rso/node`).
   *
   * @param model - Any LayersModel; an uncompiled one is compiled with this optimizer and `args.loss`.
   * @param x - Inputs, as `model.fit` takes them: a tensor, an array in input order, or a map by input name.
   * @param y - Targets, likewise by output.
   * @param args - Batch size, cycles, time budget, validation, callbacks, …
   * @returns The training History.
   */
  async fit(model: LayersModel, x: TensorsOrMap, y: TensorsOrMap, args: RSOFitArgs = {}) {
    return fitRSO(this, model, x, y, args);
  }
}

tf.serialization.registerClass(RSOOptimizer);

/** Runs `run`, prefixing the message of any error it throws with `caller`: the public method the user called. */
function named<T>(caller: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof Error) e.message = `${caller}: ${e.message}`;
    throw e;
  }
}

/** The user's loss closure, checked where `minimize` received it: each call must return a scalar tensor. */
function checkedClosure(f: () => tf.Scalar): () => tf.Scalar {
  return () => requireScalar(f(), 'RSOOptimizer.minimize: the loss closure') as tf.Scalar;
}

/** Moves every weight of a gridded tensor to its nearest grid level (a no-op for weights already on it). */
function snapVariables(variables: readonly tf.Variable[], grids: readonly (TensorGrid | null)[]): void {
  grids.forEach((grid, i) => {
    if (grid === null) return;
    const v = variables[i]!;
    const values = v.dataSync() as Float32Array;
    const snapped = values.map((w, k) => snapToGrid(grid, w, k));
    if (snapped.some((w, k) => w !== values[k])) tf.tidy(() => v.assign(tf.tensor(snapped, v.shape, 'float32')));
  });
}
