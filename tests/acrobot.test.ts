// The Acrobot example: the dynamics against hand-derived numbers, energy conservation without torque, symmetry,
// the goal test and seeded episodes.
import { describe, expect, it } from 'vitest';
import {
  INIT_RANGE, MAX_STEPS, acrobotDerivative, acrobotEnergy, initialAcrobot, isGoal, observe, runAcrobot, stepAcrobot, wrapAngle,
} from '../examples/acrobot/acrobot.js';
import type { AcrobotState } from '../examples/acrobot/acrobot.js';

const REST: AcrobotState = { theta1: 0, theta2: 0, dtheta1: 0, dtheta2: 0 };
const mirror = (s: AcrobotState): AcrobotState => ({ theta1: -s.theta1, theta2: -s.theta2, dtheta1: -s.dtheta1, dtheta2: -s.dtheta2 });

describe('Acrobot dynamics', () => {
  it('the accelerations at rest under torque +1 match the equations worked by hand', () => {
    // At θ = 0: d₁ = 0.25 + (1 + 0.25 + 1) + 2 = 4.5, d₂ = (0.25 + 0.5) + 1 = 1.75, φ₁ = φ₂ = 0 (cos(−π/2)).
    // θ̈₂ = 1 / (0.25 + 1 − 1.75² / 4.5) = 1 / 0.569444 = 1.756098; θ̈₁ = −1.75 · 1.756098 / 4.5 = −0.682927.
    const [v1, v2, a1, a2] = acrobotDerivative([0, 0, 0, 0], 1);
    expect(v1).toBe(0);
    expect(v2).toBe(0);
    expect(a1).toBeCloseTo(-0.682927, 5);
    expect(a2).toBeCloseTo(1.756098, 5);
  });

  it('hanging at rest with no torque stays (to rounding) at rest', () => {
    let s = REST;
    for (let t = 0; t < 50; t++) s = stepAcrobot(s, 1);
    for (const k of ['theta1', 'theta2', 'dtheta1', 'dtheta2'] as const) expect(Math.abs(s[k])).toBeLessThan(1e-12);
  });

  it('without torque, RK4 keeps the mechanical energy within 1% over 200 steps (40 s)', () => {
    let s: AcrobotState = { theta1: 0.5, theta2: -0.3, dtheta1: 0.2, dtheta2: 0 };
    const e0 = acrobotEnergy(s);
    for (let t = 0; t < 200; t++) {
      s = stepAcrobot(s, 1);
      expect(Math.abs(acrobotEnergy(s) - e0)).toBeLessThan(0.01 * Math.abs(e0));
    }
  });

  it('torque +1 raises the energy from rest, and torque −1 on the mirrored state gives the mirrored next state', () => {
    expect(acrobotEnergy(stepAcrobot(REST, 2))).toBeGreaterThan(acrobotEnergy(REST));
    const s = { theta1: 0.4, theta2: -0.7, dtheta1: 1.1, dtheta2: -0.3 };
    const a = stepAcrobot(s, 2);
    const b = stepAcrobot(mirror(s), 0);
    for (const k of ['theta1', 'theta2', 'dtheta1', 'dtheta2'] as const) expect(b[k]).toBeCloseTo(-a[k], 12);
  });

  it('wraps angles to [−π, π] and clips velocities to 4π and 9π', () => {
    expect(wrapAngle(3 * Math.PI / 2)).toBeCloseTo(-Math.PI / 2, 12);
    expect(wrapAngle(-3 * Math.PI / 2)).toBeCloseTo(Math.PI / 2, 12);
    expect(wrapAngle(0.3)).toBe(0.3);
    const fast = stepAcrobot({ theta1: 0, theta2: 0, dtheta1: 100, dtheta2: -100 }, 1);
    expect(Math.abs(fast.dtheta1)).toBeLessThanOrEqual(4 * Math.PI);
    expect(Math.abs(fast.dtheta2)).toBeLessThanOrEqual(9 * Math.PI);
  });
});

describe('Acrobot episodes', () => {
  it('the goal is the free end above one link over the pivot', () => {
    expect(isGoal({ ...REST, theta1: Math.PI })).toBe(true); // −cos π − cos π = 2
    expect(isGoal(REST)).toBe(false); // −1 − 1 = −2
    expect(isGoal({ ...REST, theta1: Math.PI / 2 })).toBe(false); // 0 − cos(π/2) = 0: level with the pivot
    // Link 1 level, link 2 straight up: −cos(π/2) − cos π = 1, not above 1; tilted 0.1 further: sin 0.1 + cos 0.1 = 1.095.
    expect(isGoal({ ...REST, theta1: Math.PI / 2, theta2: Math.PI / 2 })).toBe(false);
    expect(isGoal({ ...REST, theta1: Math.PI / 2 + 0.1, theta2: Math.PI / 2 })).toBe(true);
  });

  it('seeded starts are uniform in ±0.1 and repeat; the observation is (cos, sin, cos, sin, θ̇₁, θ̇₂)', () => {
    const a = initialAcrobot('x/1');
    expect(initialAcrobot('x/1')).toEqual(a);
    expect(initialAcrobot('x/2')).not.toEqual(a);
    for (const v of Object.values(a)) expect(Math.abs(v)).toBeLessThanOrEqual(INIT_RANGE);
    const o = observe(a);
    expect(Array.from(o)).toEqual([Math.cos(a.theta1), Math.sin(a.theta1), Math.cos(a.theta2), Math.sin(a.theta2), a.dtheta1, a.dtheta2]);
  });

  it('no torque never reaches the goal (return −500 at the cap); torque against θ̇₁ swings up well within it', () => {
    expect(runAcrobot(() => 1, initialAcrobot(0))).toEqual({ return: -MAX_STEPS, steps: MAX_STEPS });
    let total = 0;
    for (let k = 0; k < 20; k++) {
      const r = runAcrobot((o) => (o[4]! > 0 ? 0 : 2), initialAcrobot(`e/${k}`));
      expect(r.return).toBe(-(r.steps - 1)); // the step that reaches the goal earns 0
      total += r.return;
    }
    expect(total / 20).toBeGreaterThan(-150);
  });
});
