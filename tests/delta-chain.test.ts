import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { matchDeltaChain } from '../src/engine/delta-chain.js';
import { buildGraph, cutGraph } from '../src/engine/graph.js';
import { mlpResidual, tinyConvSeq, tinyMlp, useCpu } from './helpers.js';
import { reusedSubModel, sharedConvNet, sharedDenseMlp } from './shared-models.js';

beforeAll(useCpu);

/** The delta chain the engine finds when the layer at `index` is searched. */
const chainAt = (model: tfl.LayersModel, index: number) => {
  const graph = buildGraph(model);
  const layers = new Set([model.layers[index]!.name]);
  return matchDeltaChain(graph, cutGraph(graph, layers), layers);
};

const mlpWith = (hidden: tfl.layers.Layer[], inputShape = [8]) =>
  tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape, units: 4, activation: 'relu' }),
      ...hidden,
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });

describe('delta chains', () => {
  it('match Dense → BN/activations → Dense, with the activations as per-channel steps', () => {
    const mlp = tinyMlp(1);
    const first = chainAt(mlp, 0)!;
    expect(first.kind).toBe('dense');
    expect(first.steps.map((s) => s.kind)).toEqual(['activation', 'batchNorm']);
    expect(first.next.layer.name).toBe(mlp.layers[2]!.name);
    expect(first.nextActivation).not.toBeNull();
    expect(first.rest).toHaveLength(1);
    // The last hidden layer chains into the softmax output, with nothing after it.
    const last = chainAt(mlp, 2)!;
    expect(last.kind).toBe('dense');
    expect(last.steps.map((s) => s.kind)).toEqual(['activation']);
    expect(last.rest).toHaveLength(0);
    // In the DAG, the chain stops at the next Dense, and the skip from the input is read from the cut.
    const dag = mlpResidual(1);
    const second = chainAt(dag, dag.layers.findIndex((l) => l.getClassName() === 'Activation') - 1)!;
    expect(second.steps.map((s) => s.kind)).toEqual(['activation']);
    expect(second.nextActivation).toBeNull();
    expect(second.restInputs).toHaveLength(1);
  });

  it('match conv chains as before', () => {
    const chain = chainAt(tinyConvSeq(1), 0)!;
    expect(chain.kind).toBe('conv');
    expect(chain.steps.map((s) => s.kind)).toEqual(['batchNorm', 'activation', 'avgPool']);
  });

  it('reject what a one-channel change does not describe', () => {
    // Softmax mixes the units, so a hidden softmax layer's change is not one channel's.
    expect(chainAt(mlpWith([tfl.layers.activation({ activation: 'softmax' }), tfl.layers.dense({ units: 4 })]), 0)).toBeNull();
    expect(chainAt(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 4, activation: 'softmax' }), tfl.layers.dense({ units: 3, activation: 'softmax' })] }), 0)).toBeNull();
    // A ReLU capped by maxValue is not the plain ReLU step.
    expect(chainAt(mlpWith([tfl.layers.reLU({ maxValue: 1 }), tfl.layers.dense({ units: 4 })]), 0)).toBeNull();
    expect(chainAt(mlpWith([tfl.layers.reLU(), tfl.layers.dense({ units: 4 })]), 0)).not.toBeNull();
    // Dense on a rank-3 input maps the last axis of each position: not matched.
    expect(chainAt(mlpWith([tfl.layers.dense({ units: 4 }), tfl.layers.flatten()], [5, 8]), 0)).toBeNull();
    // Dropout between the layers is not a per-channel step.
    expect(chainAt(mlpWith([tfl.layers.dropout({ rate: 0.5 }), tfl.layers.dense({ units: 4 })]), 0)).toBeNull();
  });

  it('skip a layer called more than once, as the searched layer or on the path to the next one', () => {
    const byClass = (m: tfl.LayersModel, cls: string) => m.layers.map((l, i) => [l, i] as const).filter(([l]) => l.getClassName() === cls).map(([, i]) => i);
    // Dense (ReLU) → Dense (ReLU) → shared → BN → shared → out: only the first Dense chains (into the second).
    const mlp = sharedDenseMlp(1);
    const dense = byClass(mlp, 'Dense');
    expect(chainAt(mlp, dense[0]!)).not.toBeNull();
    expect(chainAt(mlp, dense[1]!)).toBeNull();
    expect(chainAt(mlp, dense[2]!)).toBeNull();
    // conv → BN → ReLU → conv → ReLU → shared → BN → ReLU → shared: the first conv chains, the others do not.
    const conv = sharedConvNet(1);
    const convs = byClass(conv, 'Conv2D');
    expect(chainAt(conv, convs[0]!)).not.toBeNull();
    expect(chainAt(conv, convs[1]!)).toBeNull();
    expect(chainAt(conv, convs[2]!)).toBeNull();
    // The first layer chains into a layer that a nested model also calls.
    const nested = reusedSubModel(1);
    const first = nested.layers.findIndex((l) => l.getClassName() === 'Dense' && l.getWeights()[0]!.shape[0] === 8);
    expect(chainAt(nested, first)).toBeNull();
    expect(buildGraph(nested).shared.size).toBe(4);
  });
});
