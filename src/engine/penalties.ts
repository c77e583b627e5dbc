import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/**
 * The regularization penalties of a model's weights, as the model engine adds them to every candidate loss.
 *
 * @remarks Under `model.fit` the objective of a batch is the data loss plus every penalty of
 * `model.calculateLosses()`. While one scalar is searched only the penalty of its tensor changes, so the
 * others are summed once, and the searched tensor's is updated from the changed scalar alone: in closed form
 * for tfjs's `L1L2` class (which `regularizers.l1`, `l2` and `l1l2` all build), exactly by applying the
 * regularizer to the tensor with the scalar replaced for any other class.
 */
export interface Penalties {
  /**
   * The total penalty with scalar `flat` of tensor `t` (an index into the engine's variables) set to each
   * candidate, every other scalar at its current value. Call it while the variables hold their current values.
   */
  at(t: number, flat: number, current: number, candidates: Float32Array): Float64Array;
  /** Records that scalar `flat` of tensor `t` changed from `before` to `after` (the stored float32 values). */
  update(t: number, flat: number, before: number, after: number): void;
}

/** What the engine reads of a tfjs regularizer. */
interface Regularizer {
  apply(x: tf.Tensor): tf.Scalar;
  getClassName(): string;
  readonly l1?: number;
  readonly l2?: number;
}

/** One penalty of `model.calculateLosses()`: a regularizer of a variable, counted `count` times. */
interface Term {
  readonly variable: tf.Variable;
  readonly regularizer: Regularizer;
  readonly count: number;
}

/**
 * Each regularizer attribute of tfjs's layers and the attribute of the weight it regularizes. Activity
 * regularizers are not listed: tfjs throws a NotImplementedError when a layer that has one is called, so they
 * cannot occur in a model.
 */
const REGULARIZED: readonly (readonly [regularizer: string, weight: string])[] = [
  ['kernelRegularizer', 'kernel'],
  ['biasRegularizer', 'bias'],
  ['gammaRegularizer', 'gamma'],
  ['betaRegularizer', 'beta'],
  ['depthwiseRegularizer', 'depthwiseKernel'],
  ['pointwiseRegularizer', 'pointwiseKernel'],
  ['embeddingsRegularizer', 'embeddings'],
  ['alphaRegularizer', 'alpha'],
  ['recurrentRegularizer', 'recurrentKernel'],
];

interface ContainerInternals {
  readonly name: string;
  readonly layers: readonly LayerInternals[];
  readonly containerNodes?: ReadonlySet<string>;
  readonly model?: unknown;
  getClassName(): string;
  build?(): void;
}
interface LayerInternals {
  readonly name: string;
  readonly inboundNodes: readonly unknown[];
  readonly losses?: readonly unknown[];
  readonly layers?: readonly LayerInternals[];
  getClassName(): string;
}

const isContainer = (l: LayerInternals): boolean => Array.isArray(l.layers);

/**
 * Builds every Sequential model that is not built yet, as `compile` and the first forward pass do: until then
 * tfjs counts none of its penalties.
 */
function buildSequentials(c: ContainerInternals): void {
  if (c.getClassName() === 'Sequential' && c.model == null && c.layers.length > 0) c.build?.();
  for (const l of c.layers) if (isContainer(l)) buildSequentials(l as unknown as ContainerInternals);
}

/** The penalties of one layer that is not a model, each mapped to the weight it regularizes. */
function layerTerms(layer: LayerInternals, count: number): Term[] {
  const attrs = layer as unknown as Record<string, unknown>;
  const terms: Term[] = [];
  for (const [r, w] of REGULARIZED) {
    const regularizer = attrs[r] as Regularizer | null | undefined;
    const weight = attrs[w] as { read(): tf.Variable } | null | undefined;
    if (regularizer != null && weight != null) terms.push({ variable: weight.read(), regularizer, count });
  }
  const own = layer.losses?.length ?? 0;
  if (own !== terms.length) {
    throw new RangeError(
      `model evaluator: layer ${layer.name} adds ${own} penalties to the loss, of which ${terms.length} could be tied to its weights; use engine 'closure' for this model`,
    );
  }
  return terms;
}

/**
 * The penalties of a model as `calculateLosses` lists them: a layer's once per call of it inside the model,
 * a nested model's through its own layers.
 */
function collectTerms(c: ContainerInternals, count: number, terms: Term[]): void {
  const nodes = c.containerNodes ?? new Set<string>();
  for (const layer of c.layers) {
    let calls = 0;
    // The node key of tfjs-layers' Container.nodeKey.
    for (let i = 0; i < layer.inboundNodes.length; i++) if (nodes.has(`${layer.name}_ib-${i}`)) calls++;
    if (calls === 0) continue;
    if (isContainer(layer)) collectTerms(layer as unknown as ContainerInternals, count * calls, terms);
    else terms.push(...layerTerms(layer, count * calls));
  }
}

const valueOf = (regularizer: Regularizer, x: tf.Tensor): number => tf.tidy(() => regularizer.apply(x).dataSync()[0]!);

/** Checks `terms` against tfjs's own list of penalties, in number and in total. */
function checkTerms(model: LayersModel, terms: readonly Term[]): void {
  const reference = tf.tidy(() => model.calculateLosses().map((l) => l.dataSync()[0]!));
  const count = terms.reduce((s, t) => s + t.count, 0);
  const total = terms.reduce((s, t) => s + t.count * valueOf(t.regularizer, t.variable), 0);
  const expected = reference.reduce((s, v) => s + v, 0);
  if (count !== reference.length || Math.abs(total - expected) > 1e-4 * Math.abs(expected) + 1e-6) {
    throw new RangeError(
      `model evaluator: the model has ${reference.length} regularization penalties (total ${expected}), of which ${count} (total ${total}) could be tied to weights; use engine 'closure' for this model`,
    );
  }
}

/**
 * The penalties of `model` as {@link Penalties} over `variables`, or null when it has none (then the engine
 * adds nothing and pays nothing per step).
 *
 * @param model - The model, as `model.fit` would train it.
 * @param variables - The searched variables; the penalties of other weights are a constant.
 * @returns The penalties, or null for a model without any.
 * @example
 * ```ts
 * const penalties = createPenalties(model, variables);
 * const total = penalties?.at(t, flat, w, Float32Array.of(w, w + 0.1, w - 0.1)); // one total per candidate
 * ```
 * @throws RangeError when `model.calculateLosses()` holds penalties that cannot be tied to a weight through the
 * layers' regularizer attributes (a custom layer calling `addLoss`, for example).
 */
export function createPenalties(model: LayersModel, variables: readonly tf.Variable[]): Penalties | null {
  const root = model as unknown as ContainerInternals;
  buildSequentials(root);
  const terms: Term[] = [];
  collectTerms(root, 1, terms);
  checkTerms(model, terms);
  return terms.length === 0 ? null : penaltiesOf(terms, variables);
}

/** The penalty of one searched tensor: its L1L2 coefficients summed over its terms, and its other terms. */
interface TensorPenalty {
  readonly variable: tf.Variable;
  l1: number;
  l2: number;
  readonly others: { readonly regularizer: Regularizer; readonly count: number }[];
  /** The L1L2 part and the rest, at the current values; `fresh` false when they must be recomputed. */
  closed: number;
  rest: number;
  fresh: boolean;
}

function refresh(p: TensorPenalty): void {
  const data = p.variable.dataSync() as Float32Array;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    abs += Math.abs(data[i]!);
    sq += data[i]! * data[i]!;
  }
  p.closed = (p.l1 === 0 ? 0 : p.l1 * abs) + (p.l2 === 0 ? 0 : p.l2 * sq);
  p.rest = p.others.reduce((s, o) => s + o.count * valueOf(o.regularizer, p.variable), 0);
  p.fresh = true;
}

/** The rest of tensor `p`'s penalty (its non-L1L2 terms) with scalar `flat` set to each candidate. */
function restWith(p: TensorPenalty, flat: number, candidates: Float32Array): Float64Array {
  const out = new Float64Array(candidates.length);
  if (p.others.length === 0) return out;
  const data = Float32Array.from(p.variable.dataSync() as Float32Array);
  candidates.forEach((c, k) => {
    data[flat] = c;
    const x = tf.tensor(data.slice(), p.variable.shape, 'float32');
    out[k] = p.others.reduce((s, o) => s + o.count * valueOf(o.regularizer, x), 0);
    x.dispose();
  });
  return out;
}

function penaltiesOf(terms: readonly Term[], variables: readonly tf.Variable[]): Penalties {
  const index = new Map(variables.map((v, i) => [v.id, i]));
  const byTensor = new Map<number, TensorPenalty>();
  let fixed = 0;
  for (const term of terms) {
    const t = index.get(term.variable.id);
    // A weight that is not searched keeps its penalty.
    if (t === undefined) {
      fixed += term.count * valueOf(term.regularizer, term.variable);
      continue;
    }
    let p = byTensor.get(t);
    if (p === undefined) {
      p = { variable: term.variable, l1: 0, l2: 0, others: [], closed: 0, rest: 0, fresh: false };
      byTensor.set(t, p);
    }
    if (term.regularizer.getClassName() === 'L1L2') {
      p.l1 += term.count * (term.regularizer.l1 ?? 0);
      p.l2 += term.count * (term.regularizer.l2 ?? 0);
    } else {
      p.others.push({ regularizer: term.regularizer, count: term.count });
    }
  }
  let last = -1;
  return {
    at(t, flat, current, candidates) {
      // Recomputed in full when the search moves to another tensor, so closed-form updates cannot drift.
      if (t !== last && byTensor.has(t)) byTensor.get(t)!.fresh = false;
      last = t;
      let base = fixed;
      for (const p of byTensor.values()) {
        if (!p.fresh) refresh(p);
        base += p.closed + p.rest;
      }
      const p = byTensor.get(t);
      const out = new Float64Array(candidates.length).fill(base);
      if (p === undefined) return out;
      const rest = restWith(p, flat, candidates);
      candidates.forEach((c, k) => {
        out[k] = base + p.l1 * (Math.abs(c) - Math.abs(current)) + p.l2 * (c * c - current * current) + (p.others.length === 0 ? 0 : rest[k]! - p.rest);
      });
      return out;
    },
    update(t, _flat, before, after) {
      const p = byTensor.get(t);
      if (p === undefined || !p.fresh) return;
      if (p.others.length > 0) p.fresh = false;
      else p.closed += p.l1 * (Math.abs(after) - Math.abs(before)) + p.l2 * (after * after - before * before);
    },
  };
}
