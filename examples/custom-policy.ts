/**
 * Plugging your own policies into RSOOptimizer.
 *
 *   npx tsx examples/custom-policy.ts
 *
 * Every policy is a small interface. Implement it, pass it in the config, and (optionally) register a factory
 * so that a model saved with `includeOptimizer: true` can be loaded again.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RSOOptimizer, registerPolicy } from '../src/index.js';
import type { LayerOrder, MovePolicy, PerturbationDistribution, PolicyConfig, Schedule } from '../src/index.js';

// 1. A perturbation distribution: a symmetric triangular distribution on [-√6, √6] (variance 1).
//    Draw only from the rng you are given: it is the optimizer's seeded generator, so runs stay reproducible.
function triangularDistribution(): PerturbationDistribution {
  const config: PolicyConfig = { name: 'triangular' };
  return { config, sample: (rng) => Math.sqrt(6) * (rng.next() - rng.next()) };
}

// 2. A layer order: the biggest layers first. Must return a permutation and depend only on (groups, cycle, seed).
function largestFirst(): LayerOrder {
  return {
    config: { name: 'largestFirst' },
    order: (groups) => groups.map((g, i) => [g.size, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i),
  };
}

// 3. A schedule is any function (count, horizon?) => number. Attach a config to make it serializable.
function halvingSchedule(every: number): Schedule {
  return Object.assign((cycle: number) => 0.5 ** Math.floor(cycle / every), { config: { name: 'halving', every } });
}

// 4. A move: which weights a step moves together. Here a Dense kernel step moves the whole row of the scalar's
//    input unit (every weight leaving it), all in one direction of the same sign. `block` returns row-major
//    indices, the cursor's `flat` among them (null: a scalar step); `direction` gives z, one number per index
//    (leave it out for one draw of the distribution per weight). The search scales z by σ · norm / √n.
function sameSignRows(norm = 1): MovePolicy {
  return {
    config: { name: 'sameSignRows', norm },
    norm,
    block: ({ tensor, flat }) => {
      if (tensor.role !== 'kernel' || tensor.shape.length !== 2) return null;
      const out = tensor.shape[1]!;
      const start = flat - (flat % out);
      return Int32Array.from({ length: out }, (_, j) => start + j);
    },
    direction: (flats, { rng }) => new Array<number>(flats.length).fill(rng.next() < 0.5 ? -1 : 1),
  };
}

// Register factories so that saved configs naming these policies can be rebuilt.
registerPolicy('distribution', 'triangular', () => triangularDistribution());
registerPolicy('layerOrder', 'largestFirst', () => largestFirst());
registerPolicy('schedule', 'halving', (c) => halvingSchedule(Number(c['every'])));
registerPolicy('moves', 'sameSignRows', (c) => sameSignRows(Number(c['norm'])));

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
    ],
  });
  const optimizer = new RSOOptimizer({
    seed: 7,
    cycles: 20,
    distribution: triangularDistribution(),
    layerOrder: largestFirst(),
    sigma: halvingSchedule(5),
    moves: sameSignRows(),
  });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  // XOR-like toy data: the class is whether x and y have the same sign.
  const x = tf.randomUniform([200, 2], -1, 1, 'float32', 3);
  const labels = tf.cast(tf.greater(tf.mul(tf.slice(x, [0, 0], [-1, 1]), tf.slice(x, [0, 1], [-1, 1])), 0), 'int32');
  const y = tf.oneHot(tf.reshape(labels, [-1]), 2);

  const history = await model.fit(x, y, { batchSize: 50, epochs: 60, shuffle: false, verbose: 0 });
  const acc = history.history['acc'] as number[];
  console.log(`custom policies: accuracy ${acc[0]!.toFixed(3)} → ${acc[acc.length - 1]!.toFixed(3)} after ${optimizer.step} steps`);

  // The config round-trips, because every custom policy carries a config and a registered factory.
  const copy = RSOOptimizer.fromConfig(RSOOptimizer, optimizer.getConfig()) as RSOOptimizer;
  console.log('round-tripped config:', JSON.stringify(copy.getConfig()));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
