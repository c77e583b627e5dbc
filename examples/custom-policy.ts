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
import type { EarlyRejection, LayerOrder, MovePolicy, PerturbationDistribution, PolicyConfig, ProbeReuse, Schedule } from '../src/index.js';

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

// 5. A probe reuse: where the weight goes, from the losses of w, w + Δ and w − Δ, as t in units of Δ (|t| ≤
//    maxStep), or null to keep the acceptance rule's choice. Here a quarter of the way to the better probe.
function partWayToBest(fraction = 0.25): ProbeReuse {
  return {
    config: { name: 'partWayToBest', fraction },
    maxStep: fraction,
    position: (losses) => {
      const best = losses[2]! < losses[1]! ? 2 : 1;
      if (!(losses[best]! < losses[0]!)) return null;
      return best === 1 ? fraction : -fraction;
    },
  };
}

// 6. An early rejection rule: evaluate a step on the first half of the batch, and keep its best candidate there
//    when the best mean loss beats the others by `margin`; otherwise the full batch decides. `sums` is
//    [n, L0, L1, L2, ...]: the stage's examples and each candidate's summed loss. It needs rso.fit.
function meanMargin(margin: number): EarlyRejection {
  return {
    config: { name: 'meanMargin', margin },
    stages: [0.5, 1],
    minExamples: 2,
    plan: (rows) => (rows >= 4 ? [{ stage: 0, rows: Math.ceil(rows / 2) }] : []),
    decide: (sums) => {
      const means = [sums[1]! / sums[0]!, sums[2]! / sums[0]!, sums[3]! / sums[0]!];
      if (!means.every(Number.isFinite)) return -1;
      const best = means.indexOf(Math.min(...means));
      return means.every((m, k) => k === best || m - means[best]! > margin) ? best : -1;
    },
  };
}

// Register factories so that saved configs naming these policies can be rebuilt.
registerPolicy('distribution', 'triangular', () => triangularDistribution());
registerPolicy('layerOrder', 'largestFirst', () => largestFirst());
registerPolicy('schedule', 'halving', (c) => halvingSchedule(Number(c['every'])));
registerPolicy('moves', 'sameSignRows', (c) => sameSignRows(Number(c['norm'])));
registerPolicy('probeReuse', 'partWayToBest', (c) => partWayToBest(Number(c['fraction'])));
registerPolicy('earlyRejection', 'meanMargin', (c) => meanMargin(Number(c['margin'])));

function smallNet(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [2], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
    ],
  });
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = smallNet();
  const optimizer = new RSOOptimizer({
    seed: 7,
    cycles: 20,
    distribution: triangularDistribution(),
    layerOrder: largestFirst(),
    sigma: halvingSchedule(5),
    moves: sameSignRows(),
    probeReuse: partWayToBest(),
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

  // Early rejection needs per-example losses, which rso.fit gives (model.fit's loss closure does not).
  const staged = new RSOOptimizer({ seed: 7, cycles: 5, earlyRejection: meanMargin(0.002) });
  const stagedHistory = await staged.fit(smallNet(), x, y, { loss: 'categoricalCrossentropy', batchSize: 100, verbose: 0 });
  console.log(`early rejection: steps decided on half the batch, on the full batch: ${String(stagedHistory.params['engineStagesDecided'])}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
