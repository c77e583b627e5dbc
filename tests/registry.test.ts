import { describe, expect, it } from 'vitest';
import { POLICY_KINDS, RSOOptimizer, createPolicy, linearSchedule, registerPolicy } from '../src/index.js';
import type { PolicyConfig, PolicyFactory, PolicyKind, Schedule } from '../src/index.js';

/** registerPolicy never silently replaces a registration, and checks its arguments. */
describe('registerPolicy', () => {
  const halving = (c: PolicyConfig) => Object.assign((n: number) => 0.5 ** n, { config: c });

  it('refuses to replace a built-in without { override: true }, and a reloaded config keeps the built-in', () => {
    expect(() => registerPolicy('schedule', 'linear', halving)).toThrow(RangeError);
    expect(() => registerPolicy('schedule', 'linear', halving)).toThrow(/schedule "linear" is a built-in; pass \{ override: true \}/);
    const s = createPolicy<Schedule>('schedule', { name: 'linear', from: 1, to: 0.1, steps: 10 });
    expect(s(5)).toBeCloseTo(0.55, 10);
  });

  it('refuses to replace a user registration without override, accepts the same factory again, and overrides when asked', () => {
    registerPolicy('schedule', 'registry-test-halving', halving);
    expect(() => registerPolicy('schedule', 'registry-test-halving', halving)).not.toThrow();
    const thirds = (c: PolicyConfig) => Object.assign((n: number) => (1 / 3) ** n, { config: c });
    expect(() => registerPolicy('schedule', 'registry-test-halving', thirds)).toThrow(/schedule "registry-test-halving" is already registered/);
    expect(createPolicy<Schedule>('schedule', { name: 'registry-test-halving' })(1)).toBe(0.5);
    registerPolicy('schedule', 'registry-test-halving', thirds, { override: true });
    expect(createPolicy<Schedule>('schedule', { name: 'registry-test-halving' })(1)).toBeCloseTo(1 / 3, 12);
  });

  it('overriding a built-in is explicit and takes effect for configs naming it', () => {
    const original = (c: PolicyConfig) => linearSchedule(Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'name')));
    registerPolicy('schedule', 'linear', (c) => Object.assign(() => 0.25, { config: c }), { override: true });
    try {
      expect(new RSOOptimizer({ sigma: { name: 'linear' } }).config.sigma(0)).toBe(0.25);
    } finally {
      registerPolicy('schedule', 'linear', original, { override: true });
    }
    expect(new RSOOptimizer({ sigma: { name: 'linear' } }).config.sigma(0, 10)).toBe(1);
  });

  it('validates the kind, the name, the factory and the options, naming the bad value', () => {
    // The kinds listed are POLICY_KINDS, in order: a new kind changes the list, not this test.
    expect(() => registerPolicy('schedules' as PolicyKind, 'x', halving)).toThrow(
      new RangeError(`registerPolicy: kind must be one of ${POLICY_KINDS.join(', ')}, got "schedules" (did you mean "schedule"?)`),
    );
    expect(POLICY_KINDS.slice(0, 2)).toEqual(['schedule', 'distribution']);
    expect(() => registerPolicy('schedule', '', halving)).toThrow(/name must be a non-empty string, got ""/);
    expect(() => registerPolicy('schedule', 'x', 42 as unknown as PolicyFactory)).toThrow(TypeError);
    expect(() => registerPolicy('schedule', 'x', { f: 1 } as unknown as PolicyFactory)).toThrow(/factory of schedule "x" must be a function .*got \{"f":1\}/);
    expect(() => registerPolicy('schedule', 'x', halving, { overide: true } as unknown as { override: boolean })).toThrow(/unknown field "overide" \(did you mean "override"\?\)/);
    expect(() => registerPolicy('schedule', 'x', halving, { override: 'yes' as unknown as boolean })).toThrow(/override must be true or false, got "yes"/);
    expect(POLICY_KINDS).toContain('coordinates');
  });
});
