/**
 * What an RSO step sees on a network of hard thresholds: the probe of `examples/benchmarks/threshold-probe.ts`.
 *
 * A {@link ThresholdProbe} is a `CandidateEvaluator` (the hook through which `RSOOptimizer.runSteps` asks for a
 * step's candidate losses) on a Sequential model. Besides the losses it counts, per candidate, the threshold units
 * whose output differs from the current weights' (the flips), and it can score a step's kept value on a second,
 * independent batch. The counting functions below are pure, so that each measure can be tested on its own.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { CandidateEvaluator, CoordinateContext, CoordinateSelection, SigmaRule } from '../../src/index.js';
import { createRng, initStdSigma } from '../../src/index.js';

/**
 * Whether all of a step's candidate losses are exactly equal (a tie: the search keeps w).
 *
 * @param losses - The losses of w, w + Δ and w − Δ on the step's batch.
 * @returns True when every loss equals the first, bit for bit.
 * @example
 * ```ts
 * allTied([0.5, 0.5, 0.5]); // true
 * ```
 */
export function allTied(losses: ArrayLike<number>): boolean {
  for (let i = 1; i < losses.length; i++) if (losses[i] !== losses[0]) return false;
  return losses.length > 0;
}

/**
 * How many units of a threshold layer changed output: the positions where `a` and `b` differ.
 *
 * @param a - A threshold layer's output on a batch (zeros and ones).
 * @param b - The same layer's output with one weight changed, the same shape.
 * @returns The number of positions whose value differs.
 * @example
 * ```ts
 * countFlips(tf.tensor1d([0, 1, 1]), tf.tensor1d([1, 1, 0])); // 2
 * ```
 */
export function countFlips(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.notEqual(a, b), 'int32')).dataSync()[0]!);
}

/** How a kept value did on the second batch, against the value it replaced. */
export type SignalOutcome = 'lower' | 'equal' | 'higher';

/**
 * The second-batch verdict on an accepted step: did the kept value lower the loss there too?
 *
 * @param before - Loss on the second batch with the value the step replaced.
 * @param after - Loss on the second batch with the kept value.
 * @returns `'lower'` (the step's gain holds: signal), `'equal'` (no unit flipped there) or `'higher'`.
 * @example
 * ```ts
 * signalOutcome(0.7, 0.6); // 'lower'
 * ```
 */
export function signalOutcome(before: number, after: number): SignalOutcome {
  if (after < before) return 'lower';
  return after === before ? 'equal' : 'higher';
}

/** What the probe recorded about one step. */
export interface ProbeStepRecord {
  /** The searched tensor's variable name. */
  readonly tensor: string;
  /** The candidates' losses on the step's batch: w, w + Δ, w − Δ. */
  readonly losses: readonly number[];
  /** The candidate kept: 0 (w), 1 or 2. */
  readonly accepted: number;
  /** Flips at the first threshold above the searched layer, for w + Δ and w − Δ; null without a threshold above. */
  readonly flips: readonly number[] | null;
  /** Flips summed over every threshold above the searched layer, for w + Δ and w − Δ; null without one. */
  readonly cascade: readonly number[] | null;
  /** Units (examples × positions) of the first threshold above, on the batch; 0 without one. */
  readonly units: number;
  /** The second-batch verdict when the step changed the weight, else null. */
  readonly signal: SignalOutcome | null;
}

/** The measures of a set of steps (one tensor, state and batch size). */
export interface ProbeSummary {
  readonly steps: number;
  /** Share of steps whose three losses were exactly equal. */
  readonly tieShare: number;
  /** Mean flips per perturbed candidate at the first threshold above (null without one). */
  readonly meanFlips: number | null;
  /** Median flips per perturbed candidate at the first threshold above (null without one). */
  readonly medianFlips: number | null;
  /** Share of perturbed candidates that flipped no unit (null without a threshold above). */
  readonly zeroFlipShare: number | null;
  /** Mean flips per perturbed candidate over every threshold above (null without one). */
  readonly meanCascade: number | null;
  /** Mean flips per perturbed candidate as a share of the first threshold's units (null without one). */
  readonly flipShare: number | null;
  /** Steps that changed the weight. */
  readonly changed: number;
  /** Of the changed steps: share whose kept value also lowered the second batch's loss (null if none changed). */
  readonly signalRate: number | null;
  /** Of the changed steps: share that left the second batch's loss exactly equal. */
  readonly signalEqual: number | null;
  /** Of the changed steps: share that raised it. */
  readonly signalHigher: number | null;
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Aggregates the probe's step records: the tie share, the flips per candidate and the signal rate.
 *
 * @param records - The steps of one cell (tensor, state, batch size).
 * @returns The cell's measures; a measure that does not apply (no threshold above, no changed step) is null.
 * @example
 * ```ts
 * summarizeSteps(records).signalRate; // e.g. 0.55: 55% of the changed steps also lowered the second batch's loss
 * ```
 */
export function summarizeSteps(records: readonly ProbeStepRecord[]): ProbeSummary {
  const flips = records.flatMap((r) => r.flips ?? []);
  const cascade = records.flatMap((r) => r.cascade ?? []);
  const shares = records.flatMap((r) => (r.flips === null || r.units === 0 ? [] : r.flips.map((f) => f / r.units)));
  const changed = records.filter((r) => r.signal !== null);
  const share = (o: SignalOutcome) => (changed.length === 0 ? null : changed.filter((r) => r.signal === o).length / changed.length);
  return {
    steps: records.length,
    tieShare: records.length === 0 ? 0 : records.filter((r) => allTied(r.losses)).length / records.length,
    meanFlips: mean(flips),
    medianFlips: median(flips),
    zeroFlipShare: flips.length === 0 ? null : flips.filter((f) => f === 0).length / flips.length,
    meanCascade: mean(cascade),
    flipShare: mean(shares),
    changed: changed.length,
    signalRate: share('lower'),
    signalEqual: share('equal'),
    signalHigher: share('higher'),
  };
}

/** The per-candidate flip counts of the probe's last `evaluate`. */
export interface StepFlips {
  readonly flips: readonly number[] | null;
  readonly cascade: readonly number[] | null;
  readonly units: number;
}

/** A {@link CandidateEvaluator} on a Sequential model that also counts threshold flips. */
export interface ThresholdProbe extends CandidateEvaluator {
  /** Sets the batch of the next steps (the probe keeps no reference beyond the next `setBatch` or `dispose`). */
  setBatch(x: tf.Tensor, y: tf.Tensor): void;
  /** The flips of the last `evaluate`. */
  readonly lastFlips: StepFlips | null;
  /**
   * The loss on another batch with scalar `flat` of tensor `tensor` at `before`, then at `after` (left in place).
   *
   * @returns `[loss at before, loss at after]`.
   */
  secondBatch(tensor: number, flat: number, before: number, after: number, x: tf.Tensor, y: tf.Tensor): [number, number];
  /** Frees the probe's cached tensors. */
  dispose(): void;
}

/** The mean categorical cross-entropy of softmax outputs, as `rso.fit` computes `'categoricalCrossentropy'`. */
export const meanCrossEntropy = (y: tf.Tensor, p: tf.Tensor): tf.Scalar => tf.mean(tfl.metrics.categoricalCrossentropy(y, p)) as tf.Scalar;

/** One forward pass from a layer up: the loss, and each threshold layer's output (kept) by layer index. */
interface Pass {
  readonly loss: number;
  readonly outputs: Map<number, tf.Tensor>;
}

/** What a forward pass needs besides its input: the layers, which of them are thresholds, and the loss. */
interface Net {
  readonly layers: readonly tfl.layers.Layer[];
  readonly thresholds: readonly number[];
  readonly loss: (y: tf.Tensor, p: tf.Tensor) => tf.Scalar;
}

/**
 * Runs layers `k`… of `net` on `h0` in training mode. Without `base`, keeps each threshold's output; with it,
 * counts each threshold's flips against `base`, and stops at the first threshold if it flipped nothing (the
 * loss is then `base`'s, bit for bit).
 */
function runFrom(net: Net, k: number, h0: tf.Tensor, y: tf.Tensor, base: Pass | null): Pass & { counts: number[] } {
  const outputs = new Map<number, tf.Tensor>();
  const counts: number[] = [];
  let value = base?.loss ?? NaN;
  tf.tidy(() => {
    let h = h0;
    for (let j = k; j < net.layers.length; j++) {
      h = net.layers[j]!.apply(h, { training: true }) as tf.Tensor;
      if (!net.thresholds.includes(j)) continue;
      if (base === null) outputs.set(j, tf.keep(h));
      else {
        counts.push(countFlips(base.outputs.get(j)!, h));
        if (counts.length === 1 && counts[0] === 0) return;
      }
    }
    value = net.loss(y, h).dataSync()[0]!;
  });
  return { loss: value, outputs, counts };
}

/** Runs `runFrom` without a base and returns the loss alone. */
function lossFrom(net: Net, k: number, h: tf.Tensor, y: tf.Tensor): number {
  const r = runFrom(net, k, h, y, null);
  r.outputs.forEach((o) => o.dispose());
  return r.loss;
}

/**
 * Builds a {@link ThresholdProbe}.
 *
 * @param model - A Sequential model (each layer applied to the previous one's output); training-mode BN.
 * @param isThreshold - Which layers are the thresholds whose flips are counted.
 * @param loss - The loss of a batch from targets and model outputs (default {@link meanCrossEntropy}).
 * @returns The probe, searching `model.trainableWeights` in order (as `rso.fit` does).
 * @remarks A perturbed candidate that flips no unit of the first threshold above its layer leaves everything
 * above that threshold bit for bit as w leaves it, so its loss is w's: the probe returns it without running the
 * rest of the model.
 */
export function createThresholdProbe(model: tfl.LayersModel, isThreshold: (layer: tfl.layers.Layer) => boolean, loss = meanCrossEntropy): ThresholdProbe {
  const layers = model.layers;
  const weights = model.trainableWeights;
  const variables = weights.map((w) => w.read() as tf.Variable);
  const host = variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const layerOf = weights.map((w) => layers.findIndex((l) => l.trainableWeights.includes(w)));
  const thresholds = layers.map((l, k) => (isThreshold(l) ? k : -1)).filter((k) => k >= 0);
  const net: Net = { layers, thresholds, loss };
  const inputs = new Map<string, { layer: number; value: tf.Tensor }>();
  let batch: { x: tf.Tensor; y: tf.Tensor } | null = null;
  let lastFlips: StepFlips | null = null;

  const write = (t: number, flat: number, value: number) => {
    host[t]![flat] = value;
    const v = tf.tensor(host[t]!.slice(), variables[t]!.shape);
    variables[t]!.assign(v);
    v.dispose();
  };
  /** The input of layer `k` on batch `key`, computed once per batch (the layers below do not change meanwhile). */
  const inputOf = (key: string, x: tf.Tensor, k: number): tf.Tensor => {
    if (k === 0) return x;
    const cached = inputs.get(key);
    if (cached !== undefined && cached.layer === k) return cached.value;
    cached?.value.dispose();
    const value = tf.tidy(() => layers.slice(0, k).reduce((h, l) => l.apply(h, { training: true }) as tf.Tensor, x));
    inputs.set(key, { layer: k, value });
    return value;
  };
  const firstAbove = (k: number) => thresholds.find((j) => j >= k);
  const unitsAt = (j: number | undefined, base: Pass) => (j === undefined ? 0 : base.outputs.get(j)!.size);

  return {
    read: (t, flat) => host[t]![flat]!,
    write,
    setBatch(x, y) {
      batch = { x, y };
      inputs.get('a')?.value.dispose();
      inputs.delete('a');
    },
    get lastFlips() {
      return lastFlips;
    },
    evaluate(t, flat, candidates) {
      if (batch === null) throw new Error('ThresholdProbe: setBatch before evaluate');
      const k = layerOf[t]!;
      const h = inputOf('a', batch.x, k);
      write(t, flat, candidates[0]!);
      const base = runFrom(net, k, h, batch.y, null);
      const losses = [base.loss];
      const flips: number[] = [];
      const cascade: number[] = [];
      try {
        for (let c = 1; c < candidates.length; c++) {
          write(t, flat, candidates[c]!);
          const r = runFrom(net, k, h, batch.y, base);
          losses.push(r.loss);
          flips.push(r.counts[0] ?? 0);
          cascade.push(r.counts.reduce((s, n) => s + n, 0));
        }
        const above = firstAbove(k) !== undefined;
        lastFlips = { flips: above ? flips : null, cascade: above ? cascade : null, units: unitsAt(firstAbove(k), base) };
      } finally {
        base.outputs.forEach((o) => o.dispose());
      }
      return losses;
    },
    secondBatch(t, flat, before, after, x, y) {
      const k = layerOf[t]!;
      const h = inputOf('b', x, k);
      write(t, flat, before);
      const l0 = lossFrom(net, k, h, y);
      write(t, flat, after);
      const l1 = lossFrom(net, k, h, y);
      inputs.get('b')?.value.dispose();
      inputs.delete('b');
      return [l0, l1];
    },
    dispose() {
      inputs.forEach((i) => i.value.dispose());
      inputs.clear();
      batch = null;
    },
  };
}

/**
 * A coordinate selection that visits, per cycle, `kernelSteps` random scalars of each kernel and `otherSteps` of
 * each other tensor (BN beta and gamma), in the search order: a cheap sample of every layer.
 *
 * @param kernelSteps - Scalars per kernel (all of them if the kernel is smaller).
 * @param otherSteps - Scalars per other tensor.
 * @returns The selection, for `new RSOOptimizer({ coordinates })`.
 * @example
 * ```ts
 * new RSOOptimizer({ seed: 42, coordinates: sampleEveryTensor(24, 8) });
 * ```
 */
export function sampleEveryTensor(kernelSteps: number, otherSteps: number): CoordinateSelection {
  return {
    select(size: number, context: CoordinateContext): Int32Array {
      const picked: number[] = [];
      let start = 0;
      context.tensors.forEach((t, i) => {
        const n = Math.min(t.size, t.role === 'kernel' ? kernelSteps : otherSteps);
        const rng = createRng(`${context.seed}/probe/${context.cycle}/${context.group}/${i}`);
        const order = Array.from({ length: t.size }, (_, j) => j);
        for (let j = 0; j < n; j++) {
          const r = j + Math.floor(rng.next() * (t.size - j));
          [order[j], order[r]] = [order[r]!, order[j]!];
          picked.push(start + order[j]!);
        }
        start += t.size;
      });
      if (start !== size) throw new RangeError(`sampleEveryTensor: the group's tensors hold ${start} scalars, not ${size}`);
      return Int32Array.from(picked.sort((a, b) => a - b));
    },
  };
}

/**
 * The default σ rule (the initial std, `initStdSigma()`), times `scale` for the tensors of every layer below the
 * last threshold: the layers whose steps act only by flipping threshold units.
 *
 * @param model - A Sequential model.
 * @param isThreshold - Which layers are the thresholds.
 * @param scale - The factor for the layers below the last threshold.
 * @returns The rule, for `new RSOOptimizer({ sigmaBase })`.
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaBase: scaledBelowThresholds(model, (l) => l instanceof ThresholdLayer, 3) });
 * ```
 */
export function scaledBelowThresholds(model: tfl.LayersModel, isThreshold: (layer: tfl.layers.Layer) => boolean, scale: number): SigmaRule {
  const base = initStdSigma();
  const last = model.layers.map(isThreshold).lastIndexOf(true);
  const below = new Set(model.layers.slice(0, Math.max(last, 0)).map((l) => l.name));
  return { sigma: (t, layer) => base.sigma(t, layer) * (below.has(t.layer) ? scale : 1) };
}
