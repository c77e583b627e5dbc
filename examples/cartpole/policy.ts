/**
 * A small policy network for CartPole, 4 → hidden (tanh) → 2, held in tfjs variables so that
 * `RSOOptimizer.minimize(f, varList)` can search it, with two forward passes: one on host arrays read from
 * the variables (fast for one state at a time), one on tensors batched over episodes.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CartPoleAction, CartPolePolicy, CartPoleState } from './cartpole.js';
import { isFailed, stepCartPole } from './cartpole.js';

/** The network's variables, in the order RSO searches them as layers: `<name>_hidden`, then `<name>_out`. */
export interface PolicyNet {
  /** hidden kernel [4, hidden], hidden bias [hidden], output kernel [hidden, 2], output bias [2]. */
  readonly variables: readonly tf.Variable[];
  /** Hidden units. */
  readonly hidden: number;
  /** Frees the variables. */
  dispose(): void;
}

/** Options of {@link createPolicyNet}. */
export interface PolicyNetOptions {
  /** Hidden units (default 8). */
  readonly hidden?: number;
  /** Seed of the initial kernels (default 0). */
  readonly seed?: number;
  /** Prefix of the variable names, which tfjs requires to be unique (default `policy`). */
  readonly name?: string;
}

/**
 * Creates the policy network's variables: kernels normal with std 1/√fanIn from the seed, biases zero.
 *
 * @param options - Size, seed and name.
 * @returns The network.
 * @remarks Action = argmax(W₂ᵀ tanh(W₁ᵀ s + b₁) + b₂), with s = (x, ẋ, θ, θ̇).
 * @example
 * ```ts
 * const net = createPolicyNet({ hidden: 8, seed: 1 });
 * const act = hostPolicy(readPolicyWeights(net));
 * ```
 */
export function createPolicyNet(options: PolicyNetOptions = {}): PolicyNet {
  const hidden = options.hidden ?? 8;
  const seed = options.seed ?? 0;
  const name = options.name ?? 'policy';
  const kernel = (rows: number, cols: number, k: number) => tf.randomNormal([rows, cols], 0, 1 / Math.sqrt(rows), 'float32', seed * 10 + k);
  // Variables outlive the tidy; the initial values do not.
  const variables = tf.tidy(() => [
    tf.variable(kernel(4, hidden, 1), true, `${name}_hidden/kernel`),
    tf.variable(tf.zeros([hidden]), true, `${name}_hidden/bias`),
    tf.variable(kernel(hidden, 2, 2), true, `${name}_out/kernel`),
    tf.variable(tf.zeros([2]), true, `${name}_out/bias`),
  ]);
  return { variables, hidden, dispose: () => tf.dispose(variables) };
}

/** The network's weights as host arrays. */
export interface PolicyWeights {
  readonly hidden: number;
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

/**
 * Reads the current weights from the variables (one `dataSync` each).
 *
 * @param net - The network.
 * @returns Host copies of the four tensors.
 * @example
 * ```ts
 * const w = readPolicyWeights(createPolicyNet()); // w.w1.length === 32
 * ```
 */
export function readPolicyWeights(net: PolicyNet): PolicyWeights {
  const [w1, b1, w2, b2] = net.variables.map((v) => v.dataSync() as Float32Array);
  return { hidden: net.hidden, w1: w1!, b1: b1!, w2: w2!, b2: b2! };
}

/**
 * The policy as a plain function on host arrays: the forward pass in JavaScript, one state at a time.
 *
 * @param w - Weights from {@link readPolicyWeights}.
 * @returns The policy; ties go to action 0.
 * @example
 * ```ts
 * const act = hostPolicy(readPolicyWeights(net));
 * act({ x: 0, xDot: 0, theta: 0.01, thetaDot: 0 }); // 0 or 1
 * ```
 */
export function hostPolicy(w: PolicyWeights): CartPolePolicy {
  const { hidden, w1, b1, w2, b2 } = w;
  return (s: CartPoleState): CartPoleAction => {
    let o0 = b2[0]!;
    let o1 = b2[1]!;
    for (let j = 0; j < hidden; j++) {
      const h = Math.tanh(b1[j]! + s.x * w1[j]! + s.xDot * w1[hidden + j]! + s.theta * w1[2 * hidden + j]! + s.thetaDot * w1[3 * hidden + j]!);
      o0 += h * w2[2 * j]!;
      o1 += h * w2[2 * j + 1]!;
    }
    return o1 > o0 ? 1 : 0;
  };
}

/**
 * The actions of many states at once, on the tfjs backend.
 *
 * @param net - The network.
 * @param states - The states.
 * @returns One action per state (same rule as {@link hostPolicy}, up to float rounding).
 * @example
 * ```ts
 * const actions = tensorActions(net, [initialState(0), initialState(1)]);
 * ```
 */
export function tensorActions(net: PolicyNet, states: readonly CartPoleState[]): CartPoleAction[] {
  const [w1, b1, w2, b2] = net.variables;
  const out = tf.tidy(() => {
    const s = tf.tensor2d(states.flatMap((st) => [st.x, st.xDot, st.theta, st.thetaDot]), [states.length, 4]);
    const logits = tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(s, w1!), b1!)), w2!), b2!);
    return tf.argMax(logits, 1).dataSync();
  });
  return Array.from(out, (a) => (a === 1 ? 1 : 0));
}

/**
 * Runs episodes side by side with the batched tensor forward pass: one tfjs call per time step for all
 * episodes still running.
 *
 * @param net - The network.
 * @param starts - One initial state per episode.
 * @param maxSteps - The cap.
 * @returns Each episode's return, as {@link runEpisode} computes it.
 * @example
 * ```ts
 * const returns = tensorEpisodes(net, [initialState(0), initialState(1)], 500);
 * ```
 */
export function tensorEpisodes(net: PolicyNet, starts: readonly CartPoleState[], maxSteps: number): number[] {
  const states = [...starts];
  const returns = starts.map(() => maxSteps);
  let running = starts.map((_, i) => i);
  for (let t = 1; t <= maxSteps && running.length > 0; t++) {
    const actions = tensorActions(net, running.map((i) => states[i]!));
    running = running.filter((i, k) => {
      states[i] = stepCartPole(states[i]!, actions[k]!);
      if (!isFailed(states[i]!)) return true;
      returns[i] = t;
      return false;
    });
  }
  return returns;
}
