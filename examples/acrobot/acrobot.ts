/**
 * Acrobot: two links hanging from a fixed pivot, with a motor only at the joint between them; the goal is to swing
 * the free end above a height of one link length over the pivot.
 *
 * The dynamics are those of Sutton & Barto's book (the version Gym's Acrobot-v1 uses by default): unit masses and
 * lengths, centres of mass at mid-link, unit moments of inertia, g = 9.8, torque −1, 0 or +1, one RK4 step of
 * 0.2 s per action, angles wrapped to [−π, π), angular velocities clipped to ±4π and ±9π. Every step that does not
 * reach the goal earns −1, the one that does earns 0 and ends the episode; episodes are cut off after 500 steps.
 * The task counts as solved at a mean return of at least −100 over 100 episodes.
 *
 * @packageDocumentation
 */
import { createRng } from '../../src/index.js';

/** Gravity, m/s². */
export const GRAVITY = 9.8;
/** Length of link 1, m (link 2's length does not enter the dynamics). */
export const LINK_LENGTH_1 = 1.0;
/** Masses of the links, kg. */
export const LINK_MASS_1 = 1.0;
export const LINK_MASS_2 = 1.0;
/** Distance from each link's pivot to its centre of mass, m. */
export const LINK_COM_1 = 0.5;
export const LINK_COM_2 = 0.5;
/** Moment of inertia of each link about its centre of mass, kg·m². */
export const LINK_MOI = 1.0;
/** Velocity limits, rad/s. */
export const MAX_VEL_1 = 4 * Math.PI;
export const MAX_VEL_2 = 9 * Math.PI;
/** Seconds per step. */
export const DT = 0.2;
/** Steps after which an episode is cut off (the v1 cap). */
export const MAX_STEPS = 500;
/** Initial state components are uniform in ±this. */
export const INIT_RANGE = 0.1;
/** Solved at a mean return of at least this over 100 episodes (Acrobot-v1's threshold). */
export const SOLVED_RETURN = -100;

/** The state: θ₁ (link 1 from hanging down), θ₂ (link 2 relative to link 1), and their angular velocities. */
export interface AcrobotState {
  readonly theta1: number;
  readonly theta2: number;
  readonly dtheta1: number;
  readonly dtheta2: number;
}

/** An action: 0, 1, 2 apply torque −1, 0, +1 at the joint. */
export type AcrobotAction = 0 | 1 | 2;

/** A policy: the action to take on an observation ({@link observe}). */
export type AcrobotPolicy = (observation: Float64Array) => AcrobotAction;

type Vec4 = [number, number, number, number];

/**
 * The time derivative of (θ₁, θ₂, θ̇₁, θ̇₂) under torque `a` (Sutton & Barto's equations).
 *
 * @remarks
 * d₁ = m₁l_c1² + m₂(l₁² + l_c2² + 2 l₁ l_c2 cos θ₂) + I₁ + I₂; d₂ = m₂(l_c2² + l₁ l_c2 cos θ₂) + I₂;
 * φ₂ = m₂ l_c2 g cos(θ₁ + θ₂ − π/2);
 * φ₁ = −m₂ l₁ l_c2 θ̇₂² sin θ₂ − 2 m₂ l₁ l_c2 θ̇₂ θ̇₁ sin θ₂ + (m₁ l_c1 + m₂ l₁) g cos(θ₁ − π/2) + φ₂;
 * θ̈₂ = (a + (d₂/d₁) φ₁ − m₂ l₁ l_c2 θ̇₁² sin θ₂ − φ₂) / (m₂ l_c2² + I₂ − d₂²/d₁); θ̈₁ = −(d₂ θ̈₂ + φ₁) / d₁.
 */
export function acrobotDerivative(s: Vec4, a: number): Vec4 {
  const [t1, t2, dt1, dt2] = s;
  const [m1, m2, l1, lc1, lc2, i1, i2, g] = [LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1, LINK_COM_1, LINK_COM_2, LINK_MOI, LINK_MOI, GRAVITY];
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(t2)) + i1 + i2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(t2)) + i2;
  const phi2 = m2 * lc2 * g * Math.cos(t1 + t2 - Math.PI / 2);
  const phi1 = -m2 * l1 * lc2 * dt2 ** 2 * Math.sin(t2) - 2 * m2 * l1 * lc2 * dt2 * dt1 * Math.sin(t2) + (m1 * lc1 + m2 * l1) * g * Math.cos(t1 - Math.PI / 2) + phi2;
  const ddt2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * dt1 ** 2 * Math.sin(t2) - phi2) / (m2 * lc2 ** 2 + i2 - d2 ** 2 / d1);
  const ddt1 = -(d2 * ddt2 + phi1) / d1;
  return [dt1, dt2, ddt1, ddt2];
}

/** One classic RK4 step of `h` seconds of ṡ = f(s) under torque `a`. */
function rk4(s: Vec4, a: number, h: number): Vec4 {
  const add = (x: Vec4, k: Vec4, c: number): Vec4 => [x[0] + c * k[0], x[1] + c * k[1], x[2] + c * k[2], x[3] + c * k[3]];
  const k1 = acrobotDerivative(s, a);
  const k2 = acrobotDerivative(add(s, k1, h / 2), a);
  const k3 = acrobotDerivative(add(s, k2, h / 2), a);
  const k4 = acrobotDerivative(add(s, k3, h), a);
  return [0, 1, 2, 3].map((i) => s[i]! + (h / 6) * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!)) as Vec4;
}

/** `x` wrapped into [−π, π] by whole turns (as Gym does: π itself stays π). */
export function wrapAngle(x: number): number {
  let y = x;
  while (y > Math.PI) y -= 2 * Math.PI;
  while (y < -Math.PI) y += 2 * Math.PI;
  return y;
}

const clip = (x: number, limit: number) => Math.min(limit, Math.max(-limit, x));

/**
 * Advances the system by one step of {@link DT} seconds under the action's torque.
 *
 * @param s - The current state.
 * @param action - 0, 1, 2 for torque −1, 0, +1.
 * @returns The next state: angles wrapped, velocities clipped.
 * @example
 * ```ts
 * stepAcrobot({ theta1: 0, theta2: 0, dtheta1: 0, dtheta2: 0 }, 1); // hanging at rest, no torque: stays at rest
 * ```
 */
export function stepAcrobot(s: AcrobotState, action: AcrobotAction): AcrobotState {
  const [t1, t2, dt1, dt2] = rk4([s.theta1, s.theta2, s.dtheta1, s.dtheta2], action - 1, DT);
  return { theta1: wrapAngle(t1), theta2: wrapAngle(t2), dtheta1: clip(dt1, MAX_VEL_1), dtheta2: clip(dt2, MAX_VEL_2) };
}

/**
 * Whether the free end is above one link length over the pivot: −cos θ₁ − cos(θ₁ + θ₂) > 1.
 *
 * @example
 * ```ts
 * isGoal({ theta1: Math.PI, theta2: 0, dtheta1: 0, dtheta2: 0 }); // true: both links straight up
 * ```
 */
export function isGoal(s: AcrobotState): boolean {
  return -Math.cos(s.theta1) - Math.cos(s.theta1 + s.theta2) > 1.0;
}

/** The observation a policy sees: (cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂). */
export function observe(s: AcrobotState, out = new Float64Array(6)): Float64Array {
  out[0] = Math.cos(s.theta1);
  out[1] = Math.sin(s.theta1);
  out[2] = Math.cos(s.theta2);
  out[3] = Math.sin(s.theta2);
  out[4] = s.dtheta1;
  out[5] = s.dtheta2;
  return out;
}

/**
 * The initial state of a seeded episode: each component uniform in ±{@link INIT_RANGE}.
 *
 * @param seed - Any number or string; the same seed gives the same state.
 */
export function initialAcrobot(seed: number | string): AcrobotState {
  const rng = createRng(seed);
  const u = () => (2 * rng.next() - 1) * INIT_RANGE;
  return { theta1: u(), theta2: u(), dtheta1: u(), dtheta2: u() };
}

/**
 * Runs one episode.
 *
 * @param policy - Chooses each action from the observation.
 * @param start - The initial state.
 * @param maxSteps - The cap (default {@link MAX_STEPS}).
 * @returns The return (−1 per step that does not reach the goal) and the steps taken.
 * @example
 * ```ts
 * runAcrobot(() => 1, initialAcrobot(0)); // no torque: never swings up, { return: −500, steps: 500 }
 * ```
 */
export function runAcrobot(policy: AcrobotPolicy, start: AcrobotState, maxSteps = MAX_STEPS): { return: number; steps: number } {
  let s = start;
  const obs = new Float64Array(6);
  for (let t = 1; t <= maxSteps; t++) {
    s = stepAcrobot(s, policy(observe(s, obs)));
    if (isGoal(s)) return { return: -(t - 1), steps: t };
  }
  return { return: -maxSteps, steps: maxSteps };
}

/**
 * The mechanical energy of a state: kinetic ½ q̇ᵀ M(θ₂) q̇ plus potential (zero with both links level with the
 * pivot, negative hanging down). Without torque and between velocity clips, the dynamics conserve it.
 *
 * @remarks M = [[d₁, d₂], [d₂, m₂ l_c2² + I₂]]; V = −(m₁ l_c1 + m₂ l₁) g cos θ₁ − m₂ l_c2 g cos(θ₁ + θ₂).
 */
export function acrobotEnergy(s: AcrobotState): number {
  const [m1, m2, l1, lc1, lc2, i1, i2, g] = [LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1, LINK_COM_1, LINK_COM_2, LINK_MOI, LINK_MOI, GRAVITY];
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(s.theta2)) + i1 + i2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(s.theta2)) + i2;
  const d3 = m2 * lc2 ** 2 + i2;
  const kinetic = 0.5 * (d1 * s.dtheta1 ** 2 + 2 * d2 * s.dtheta1 * s.dtheta2 + d3 * s.dtheta2 ** 2);
  const potential = -(m1 * lc1 + m2 * l1) * g * Math.cos(s.theta1) - m2 * lc2 * g * Math.cos(s.theta1 + s.theta2);
  return kinetic + potential;
}
