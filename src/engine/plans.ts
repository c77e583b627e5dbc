import type { LayersModel } from '@tensorflow/tfjs-layers';
import type * as tf from '@tensorflow/tfjs-core';
import type { WeightGroup } from '../base/weight-groups.js';
import { canStack, cutGraph } from './graph.js';
import type { GraphCut, ModelGraph } from './graph.js';
import { matchDeltaChain } from './delta-chain.js';
import type { DeltaChain } from './delta-chain.js';
import { matchOutputLayer } from './output-layer.js';
import type { OutputLayer } from './output-layer.js';

/** How the model engine evaluates the steps of one weight group. */
export interface GroupPlan {
  /** The graph split at the group's layers. */
  readonly cut: GraphCut;
  /** The conv or Dense delta chain starting at the group's first layer, or null (no match, or deltas off). */
  readonly chain: DeltaChain | null;
  /** Whether the chain's candidates run stacked along the batch axis (`batchCandidates`). */
  readonly stacked: boolean;
  /** The softmax output layer's own path, or null. */
  readonly output: OutputLayer | null;
}

/** The plan options, as in `ModelEvaluatorOptions`. */
export interface PlanOptions {
  readonly deltas?: boolean;
  readonly batchCandidates?: boolean;
  readonly loss?: { readonly name: string };
}

/** Plans per weight group, made on first use and kept. */
export interface Plans {
  /** The group of searched tensor `t` (-1 for none). */
  groupOf(t: number): number;
  /** The plan of group `gi`. */
  get(gi: number): GroupPlan;
  /** Output channel of group `gi`'s delta chain that a change of scalar `flat` of tensor `t` touches, or -1 for all of them. */
  channelOf(gi: number, t: number, flat: number): number;
}

/**
 * For each variable, the names of the model's layers whose weights hold it: a nested model holds the weights of
 * its layers, and a layer called both inside a nested model and directly has two owners.
 *
 * @throws RangeError for a variable that no layer of the model holds.
 */
function layerOwners(model: LayersModel, variables: readonly tf.Variable[]): string[][] {
  const owners = new Map<number, string[]>();
  for (const layer of model.layers) {
    for (const w of layer.weights) owners.set(w.read().id, [...(owners.get(w.read().id) ?? []), layer.name]);
  }
  return variables.map((v) => {
    const names = owners.get(v.id);
    if (names === undefined) throw new RangeError(`model evaluator: variable ${v.name} is not a weight of any layer of the model`);
    return names;
  });
}

/**
 * The plans of the search's weight groups: per group, the graph cut at its layers, the delta chain, the output
 * layer's path and whether candidates stack.
 *
 * @throws RangeError for a variable no layer of the model holds.
 */
export function createPlans(
  model: LayersModel,
  graph: ModelGraph,
  variables: readonly tf.Variable[],
  groups: readonly WeightGroup[],
  options: PlanOptions,
): Plans {
  // Which layers own each variable (a layer of a nested model is owned by it too), and which group each tensor belongs to.
  const ownerOf = layerOwners(model, variables);
  const groupOfTensor = new Int32Array(variables.length).fill(-1);
  groups.forEach((g, gi) => g.tensors.forEach((t) => (groupOfTensor[t] = gi)));
  const plans = new Map<number, GroupPlan>();
  const get = (gi: number): GroupPlan => {
    let p = plans.get(gi);
    if (p === undefined) {
      const layers = new Set(groups[gi]!.tensors.flatMap((t) => ownerOf[t]!));
      const cut = cutGraph(graph, layers);
      const chain = options.deltas === false ? null : matchDeltaChain(graph, cut, layers);
      const output = options.deltas === false ? null : matchOutputLayer(graph, cut, options.loss?.name);
      p = { cut, chain, stacked: options.batchCandidates === true && chain !== null && canStack(chain.rest), output };
      plans.set(gi, p);
    }
    return p;
  };
  return {
    groupOf: (t) => groupOfTensor[t]!,
    get,
    channelOf(gi, t, flat) {
      const chain = get(gi).chain;
      if (chain === null) return -1;
      const cout = chain.kernel.shape[chain.kernel.rank - 1]!;
      if (variables[t] === chain.kernel) return flat % cout;
      return variables[t]!.rank === 1 && variables[t]!.size === cout ? flat : -1;
    },
  };
}
