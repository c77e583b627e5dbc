import { describe, expect, it } from 'vitest';
import { createPolicy, policyNames } from '../src/index.js';
import type { PolicyConfig, Schedule } from '../src/index.js';
import { constantSchedule, cosineSchedule, exponentialSchedule, linearSchedule, piecewiseSchedule } from '../src/index.js';

// One example config per registry entry, with the start/end values each must produce and whether it must be
// non-increasing for from ≥ to.
const cases: Record<string, { config: PolicyConfig; start: number; end: number; monotone: boolean }> = {
  constant: { config: { name: 'constant', value: 0.5 }, start: 0.5, end: 0.5, monotone: true },
  linear: { config: { name: 'linear', from: 1, to: 0.1, steps: 10 }, start: 1, end: 0.1, monotone: true },
  cosine: { config: { name: 'cosine', from: 1, to: 0.1, steps: 10 }, start: 1, end: 0.1, monotone: true },
  exponential: { config: { name: 'exponential', from: 1, rate: 0.5, floor: 0.1 }, start: 1, end: 0.1, monotone: true },
  piecewise: { config: { name: 'piecewise', boundaries: [3, 6], values: [1, 0.5, 0.1] }, start: 1, end: 0.1, monotone: true },
};

describe('schedule contract (every registry entry)', () => {
  it('covers every registered schedule', () => {
    expect(policyNames('schedule').sort()).toEqual(Object.keys(cases).sort());
  });

  for (const [name, c] of Object.entries(cases)) {
    describe(name, () => {
      const s = createPolicy<Schedule>('schedule', c.config);
      const values = Array.from({ length: 40 }, (_, k) => s(k, 20));
      it('is finite everywhere, including far past its end', () => {
        for (const v of [...values, s(1e6, 20)]) expect(Number.isFinite(v)).toBe(true);
      });
      it('has the promised end points', () => {
        expect(values[0]).toBeCloseTo(c.start, 12);
        expect(s(1e6, 20)).toBeCloseTo(c.end, 12);
      });
      it('is non-increasing when it decays', () => {
        if (!c.monotone) return;
        for (let k = 1; k < values.length; k++) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]! + 1e-15);
      });
      it('round-trips through its config', () => {
        const again = createPolicy<Schedule>('schedule', s.config!);
        expect(Array.from({ length: 40 }, (_, k) => again(k, 20))).toEqual(values);
      });
    });
  }
});

describe('schedule values', () => {
  it('linear over the horizon is the authors\' factor 0.1 + 0.9 (C − c) / C', () => {
    const s = linearSchedule();
    const C = 50;
    for (const c of [0, 1, 25, 49]) expect(s(c, C)).toBeCloseTo(0.1 + (0.9 * (C - c)) / C, 12);
  });
  it('linear without steps or horizon explains itself', () => {
    expect(() => linearSchedule()(3)).toThrow(/no steps given/);
  });
  it('cosine is halfway at half time', () => {
    // to + (from − to)(1 + cos(π/2))/2 = 0 + 1·(1 + 0)/2 = 0.5
    expect(cosineSchedule({ from: 1, to: 0, steps: 2 })(1)).toBeCloseTo(0.5, 12);
  });
  it('exponential: 1 · 0.5^3 = 0.125', () => {
    expect(exponentialSchedule({ from: 1, rate: 0.5 })(3)).toBeCloseTo(0.125, 12);
  });
  it('piecewise switches at the boundaries', () => {
    const s = piecewiseSchedule({ boundaries: [10, 20], values: [1, 0.5, 0.1] });
    expect([s(9), s(10), s(19), s(20)]).toEqual([1, 0.5, 0.5, 0.1]);
  });
  it('rejects bad parameters with the field and value', () => {
    expect(() => constantSchedule({ value: NaN })).toThrow(/constantSchedule.value must be a finite number, got NaN/);
    expect(() => linearSchedule({ steps: 0 })).toThrow(/linearSchedule.steps must be an integer ≥ 1, got 0/);
    expect(() => piecewiseSchedule({ boundaries: [5, 5], values: [1, 2, 3] })).toThrow(/increase strictly/);
    expect(() => piecewiseSchedule({ boundaries: [5], values: [1] })).toThrow(/2 entries, got 1/);
    expect(() => exponentialSchedule({ rate: -1 })).toThrow(/rate must be > 0, got -1/);
  });
});
