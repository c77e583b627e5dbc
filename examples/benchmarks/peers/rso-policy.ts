/**
 * RSO on a control task through the same runner as the peers: the flat policy held in four tfjs variables (W₁, b₁,
 * W₂, b₂), searched by `RSOOptimizer.minimize(f, true, variables)` with f minus the mean return of the step's
 * episodes, as in the CartPole example.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { RSOOptimizer, tieWidening } from '../../../src/index.js';
import type { PolicyTask } from './policy-tasks.js';
import { meanReturn, mlpPolicy } from './policy-tasks.js';
import { knobs } from './strategy.js';

/**
 * The knobs of RSO here: σ planned over this many cycles (as `bench:cartpole`); with `tieFactor` > 0, σ adapted
 * by `tieWidening({ factor: tieFactor, window: tieWindow, max: tieMax })` (0: no σ adaptation, the paper's σ).
 */
export const RSO_POLICY_DEFAULTS = { cycles: 20, tieFactor: 0, tieWindow: 5, tieMax: 16 };

let learners = 0;

/** One learner of the policy runner: a step on the given episodes, and the current weights. */
export interface PolicyLearner {
  /** Steps (RSO) or generations (peers) so far. */
  readonly generation: number;
  /** One step on the episodes of `seeds`; returns the environment steps and the episodes it played. */
  step(seeds: readonly string[]): { envSteps: number; episodes: number };
  /** The current weights (flat). */
  solution(): Float32Array;
  /** Frees what the learner holds. */
  dispose(): void;
}

/**
 * An RSO learner over the flat policy `start` of a [in, hidden, out] network.
 *
 * @remarks Each step is one `minimize` call: RSO perturbs one weight and keeps the best of its candidates on the
 * step's episodes, all of which play the same episodes.
 */
export function rsoPolicyLearner(task: PolicyTask, sizes: readonly [number, number, number], start: Float32Array, seed: number, settings: Readonly<Record<string, number>>): PolicyLearner {
  const k = knobs('rso', RSO_POLICY_DEFAULTS, settings);
  learners++; // tfjs variable names are global
  const [i, h, o] = sizes;
  const shapes = [[i, h], [h], [h, o], [o]];
  let offset = 0;
  const variables = shapes.map((shape, n) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const part = start.slice(offset, offset + size);
    offset += size;
    return tf.tidy(() => tf.variable(tf.tensor(part, shape), true, `peers_rso_${learners}_${n}`));
  });
  const read = () => {
    const flat = new Float32Array(start.length);
    let at = 0;
    for (const v of variables) {
      flat.set(v.dataSync() as Float32Array, at);
      at += v.size;
    }
    return flat;
  };
  const sigmaAdaptation = k.tieFactor > 0 ? tieWidening({ factor: k.tieFactor, window: k.tieWindow, max: k.tieMax }) : undefined;
  const optimizer = new RSOOptimizer({ seed, cycles: k.cycles, sigmaAdaptation });
  let generation = 0;
  return {
    get generation() {
      return generation;
    },
    step(seeds) {
      let envSteps = 0;
      let episodes = 0;
      const f = () => {
        const r = meanReturn(task, mlpPolicy(sizes, read()), seeds);
        envSteps += r.steps;
        episodes += seeds.length;
        return tf.scalar(-r.mean);
      };
      optimizer.minimize(f, true, variables)?.dispose();
      generation++;
      return { envSteps, episodes };
    },
    solution: read,
    dispose: () => {
      tf.dispose(variables);
      optimizer.dispose();
    },
  };
}
