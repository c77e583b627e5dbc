/**
 * CartPole: a pole hinged on a cart that moves along a track, balanced by pushing the cart left or right.
 *
 * The dynamics are those of Barto, Sutton & Anderson (1983) with the classic-control constants, integrated with
 * explicit Euler steps. An episode ends when the pole leans more than 12° or the cart leaves ±2.4, or after
 * 500 steps; every step, the last one included, earns a reward of 1, so the return is the episode's length.
 *
 * @packageDocumentation
 */
import { createRng } from '../../src/index.js';

/** Gravity, m/s². */
export const GRAVITY = 9.8;
/** Mass of the cart, kg. */
export const MASS_CART = 1.0;
/** Mass of the pole, kg. */
export const MASS_POLE = 0.1;
/** Half the pole's length, m (the classic-control `length`). */
export const HALF_POLE_LENGTH = 0.5;
/** Magnitude of the push, N. */
export const FORCE = 10.0;
/** Seconds per step. */
export const TAU = 0.02;
/** The pole falls beyond this angle from upright, rad (12°). */
export const THETA_LIMIT = (12 * 2 * Math.PI) / 360;
/** The cart leaves the track beyond this position, m. */
export const X_LIMIT = 2.4;
/** Steps after which an episode is cut off (the v1 cap). */
export const MAX_STEPS = 500;
/** Initial state components are uniform in ±this. */
export const INIT_RANGE = 0.05;

const TOTAL_MASS = MASS_CART + MASS_POLE;
const POLE_MASS_LENGTH = MASS_POLE * HALF_POLE_LENGTH;

/** The state: cart position and velocity, pole angle (0 = upright, positive leans right) and angular velocity. */
export interface CartPoleState {
  readonly x: number;
  readonly xDot: number;
  readonly theta: number;
  readonly thetaDot: number;
}

/** An action: 0 pushes the cart left, 1 pushes it right. */
export type CartPoleAction = 0 | 1;

/** A policy: the action to take in a state. */
export type CartPolePolicy = (state: CartPoleState) => CartPoleAction;

/**
 * Advances the system by one Euler step of {@link TAU} seconds under a push of ±{@link FORCE}.
 *
 * @param s - The current state.
 * @param action - 0 pushes left, 1 pushes right.
 * @returns The next state.
 * @remarks
 * With F = ±10, m = m_c + m_p, and l the half length:
 * tmp = (F + m_p l θ̇² sin θ) / m;
 * θ̈ = (g sin θ − cos θ · tmp) / (l (4/3 − m_p cos² θ / m));
 * ẍ = tmp − m_p l θ̈ cos θ / m.
 * Euler: x += τ ẋ, ẋ += τ ẍ, θ += τ θ̇, θ̇ += τ θ̈ (positions first, from the old velocities).
 * @example
 * ```ts
 * const next = stepCartPole({ x: 0, xDot: 0, theta: 0, thetaDot: 0 }, 1); // next.xDot ≈ 0.195
 * ```
 */
export function stepCartPole(s: CartPoleState, action: CartPoleAction): CartPoleState {
  const force = action === 1 ? FORCE : -FORCE;
  const cos = Math.cos(s.theta);
  const sin = Math.sin(s.theta);
  const tmp = (force + POLE_MASS_LENGTH * s.thetaDot * s.thetaDot * sin) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sin - cos * tmp) / (HALF_POLE_LENGTH * (4 / 3 - (MASS_POLE * cos * cos) / TOTAL_MASS));
  const xAcc = tmp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
  return {
    x: s.x + TAU * s.xDot,
    xDot: s.xDot + TAU * xAcc,
    theta: s.theta + TAU * s.thetaDot,
    thetaDot: s.thetaDot + TAU * thetaAcc,
  };
}

/**
 * Whether the pole has fallen or the cart has left the track.
 *
 * @param s - A state.
 * @returns True when |x| > 2.4 or |θ| > 12°.
 * @example
 * ```ts
 * isFailed({ x: 2.5, xDot: 0, theta: 0, thetaDot: 0 }); // true
 * ```
 */
export function isFailed(s: CartPoleState): boolean {
  return s.x < -X_LIMIT || s.x > X_LIMIT || s.theta < -THETA_LIMIT || s.theta > THETA_LIMIT;
}

/**
 * The initial state of a seeded episode: each component uniform in ±{@link INIT_RANGE}.
 *
 * @param seed - Any number or string; the same seed gives the same state.
 * @returns The state.
 * @example
 * ```ts
 * initialState('run/3') === initialState('run/3'); // equal values
 * ```
 */
export function initialState(seed: number | string): CartPoleState {
  const rng = createRng(seed);
  const u = () => (2 * rng.next() - 1) * INIT_RANGE;
  return { x: u(), xDot: u(), theta: u(), thetaDot: u() };
}

/**
 * Runs one episode from a given state.
 *
 * @param policy - Chooses each action.
 * @param start - The initial state.
 * @param maxSteps - The cap (default {@link MAX_STEPS}).
 * @returns The return: the number of steps taken, up to and including the one that failed, at most the cap.
 * @example
 * ```ts
 * const ret = runEpisode(() => 1, initialState(0)); // pushing right always: the pole falls within a few dozen steps
 * ```
 */
export function runEpisode(policy: CartPolePolicy, start: CartPoleState, maxSteps = MAX_STEPS): number {
  let s = start;
  for (let t = 1; t <= maxSteps; t++) {
    s = stepCartPole(s, policy(s));
    if (isFailed(s)) return t;
  }
  return maxSteps;
}
