import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { requireFinite, suggest } from '../base/validate.js';
import { LOSS_NAMES } from './losses.js';
import type { LossSpec } from './losses.js';
import { outputNamesOf } from './fit-data.js';
import type { RSOFitArgs } from './fit-args.js';

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;


/**
 * What `rso.fit` minimises, read from the compiled model as `model.fit` reads it: the per-output losses, their
 * weights and the reduction over the batch. Regularizer penalties are added by the evaluators.
 */
export interface Objective {
  /** Data loss of a batch: Σ over outputs of weight · per-example loss, then the mean (or the sum) over the batch. */
  readonly loss: (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Scalar;
  /**
   * One loss per example (a 1-D tensor): Σ over outputs of weight · the output's loss reduced over its other
   * axes by the reduction, so that `loss` is its mean (or its sum). Only a loss by name is known to give
   * per-example values; see {@link perExampleReason}.
   */
  readonly perExample: (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Tensor1D;
  /** The data loss with the mean over the batch, whatever the reduction: the loss of validation logs. */
  readonly meanLoss: (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]) => tf.Scalar;
  readonly reduction: 'mean' | 'sum';
  /** The loss by name when the model has one output and a unit weight, for the engine's fast output path. */
  readonly name: string | undefined;
  /** Each output's loss by name, when all are names: what worker threads compile their copy with. */
  readonly names: readonly string[] | undefined;
}

/** Per output, the loss the model will train on: from `args.loss` for an uncompiled model, else the compiled one. */
export function lossEntries(model: LayersModel, loss: RSOFitArgs['loss'] | undefined, compiled: boolean): LossSpec[] {
  const spec = compiled ? (model.loss as unknown as RSOFitArgs['loss']) : loss;
  if (spec === undefined || spec === null || (Array.isArray(spec) && spec.length === 0)) {
    throw new RangeError(
      'rso.fit: the model is not compiled and no loss was given. Pass one, e.g. { loss: \'categoricalCrossentropy\' }, ' +
        'or compile the model with this optimizer first.',
    );
  }
  const outputs = outputNamesOf(model);
  let entries: unknown[];
  if (typeof spec === 'string' || typeof spec === 'function') entries = outputs.map(() => spec);
  else if (Array.isArray(spec)) {
    if (spec.length !== outputs.length) throw new RangeError(`loss: ${spec.length} losses for a model with ${outputs.length} outputs`);
    entries = [...spec];
  } else if (typeof spec === 'object') {
    const map = spec as Record<string, unknown>;
    for (const key of Object.keys(map)) {
      if (!outputs.includes(key)) throw new RangeError(`loss: no output named "${key}"${suggest(key, outputs)}; outputs: ${outputs.join(', ')}`);
    }
    entries = outputs.map((o) => {
      if (map[o] === undefined) throw new RangeError(`loss: no loss for output "${o}"`);
      return map[o];
    });
  } else {
    throw new TypeError(`loss must be a loss name, a function, an array or a map by output name, got ${String(spec)}`);
  }
  for (const e of entries) {
    if (typeof e === 'function') continue;
    if (typeof e !== 'string' || !(LOSS_NAMES as readonly string[]).includes(e)) {
      throw new RangeError(`loss: unknown loss ${JSON.stringify(e)}${typeof e === 'string' ? suggest(e, LOSS_NAMES) : ''}; known: ${LOSS_NAMES.join(', ')}, or a function`);
    }
  }
  return entries as LossSpec[];
}

/** Checks `args.loss` against a compiled model: it must be absent or the compiled loss itself. */
export function checkLossMatches(model: LayersModel, loss: RSOFitArgs['loss'] | undefined): void {
  if (loss === undefined) return;
  const same = JSON.stringify(lossEntries(model, loss, false).map(String)) === JSON.stringify(lossEntries(model, undefined, true).map(String));
  if (!same) {
    throw new RangeError(
      `rso.fit: the model is compiled with loss ${describeLoss(model.loss)} but loss ${describeLoss(loss)} was given. ` +
        'rso.fit trains the compiled loss: leave out loss, or compile the model again with the loss you want.',
    );
  }
}

const describeLoss = (l: unknown) => (typeof l === 'function' ? `function ${(l as { name?: string }).name || '(anonymous)'}` : JSON.stringify(l));

/** Parses `lossWeights` into one weight per output. */
export function parseLossWeights(model: LayersModel, w: RSOFitArgs['lossWeights']): number[] {
  const outputs = outputNamesOf(model);
  if (w === undefined) return outputs.map(() => 1);
  if (Array.isArray(w)) {
    if (w.length !== outputs.length) throw new RangeError(`lossWeights: ${w.length} weights for a model with ${outputs.length} outputs`);
    return w.map((v, i) => requireFinite(`lossWeights[${i}]`, v));
  }
  if (w === null || typeof w !== 'object') throw new TypeError(`lossWeights must be an array or a map by output name, got ${String(w)}`);
  const map = w as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    if (!outputs.includes(key)) throw new RangeError(`lossWeights: no output named "${key}"${suggest(key, outputs)}; outputs: ${outputs.join(', ')}`);
  }
  return outputs.map((o) => (map[o] === undefined ? 1 : requireFinite(`lossWeights.${o}`, map[o])));
}

/**
 * The objective of a compiled model.
 *
 * @param model - A compiled model (its `lossFunctions` are read).
 * @param weights - One loss weight per output.
 * @param reduction - Mean or sum over the batch.
 */
export function modelObjective(model: LayersModel, weights: readonly number[], reduction: 'mean' | 'sum'): Objective {
  // A Sequential model keeps its compiled loss functions on the functional model it wraps.
  const core = (model as unknown as { model?: LayersModel }).model ?? model;
  const fns = core.lossFunctions as unknown as LossFn[];
  const raw = model.loss as unknown;
  const entries = typeof raw === 'string' ? fns.map(() => raw) : Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? outputNamesOf(model).map((o) => (raw as Record<string, unknown>)[o]) : [];
  const names = entries.length === fns.length && entries.every((e) => typeof e === 'string') ? (entries as string[]) : undefined;
  const perExample = (ys: readonly tf.Tensor[], preds: readonly tf.Tensor[]): tf.Tensor => {
    let total: tf.Tensor | null = null;
    fns.forEach((fn, o) => {
      const l = weights[o] === 1 ? fn(ys[o]!, preds[o]!) : tf.mul(fn(ys[o]!, preds[o]!), weights[o]!);
      total = total === null ? l : tf.add(total, l);
    });
    return total!;
  };
  // A loss of rank > 1 per example (per pixel, say) reduces over its other axes: the mean of equal-sized means
  // is the overall mean, and the sum of sums the overall sum.
  const byExample = (t: tf.Tensor): tf.Tensor1D => {
    if (t.rank <= 1) return t as tf.Tensor1D;
    const axes = Array.from({ length: t.rank - 1 }, (_, i) => i + 1);
    return (reduction === 'sum' ? tf.sum(t, axes) : tf.mean(t, axes)) as tf.Tensor1D;
  };
  return {
    loss: (ys, preds) => (reduction === 'sum' ? tf.sum(perExample(ys, preds)) : tf.mean(perExample(ys, preds))) as tf.Scalar,
    perExample: (ys, preds) => byExample(perExample(ys, preds)),
    meanLoss: (ys, preds) => tf.mean(perExample(ys, preds)) as tf.Scalar,
    reduction,
    name: fns.length === 1 && weights[0] === 1 ? names?.[0] : undefined,
    names,
  };
}

/**
 * Why early rejection cannot use this objective, or null when it can: it needs per-example losses, which only a
 * loss by name is known to give (a loss function may return a batch statistic, such as an error rate).
 */
export function perExampleReason(objective: Objective): string | null {
  return objective.names === undefined ? LOSS_FUNCTION_REASON : null;
}

/** Why a loss function cannot serve early rejection (see {@link perExampleReason}). */
export const LOSS_FUNCTION_REASON =
  'the model\'s loss is a function, and only a loss compiled by name (such as \'categoricalCrossentropy\') is known to give one loss per example';
