import { describe, expect, it } from 'vitest';
import { createPolicy, createRng, discreteDistribution, policyNames } from '../src/index.js';
import type { PerturbationDistribution, PolicyConfig } from '../src/index.js';

// Each registry entry with the mean and std its draws must have.
const cases: Record<string, { config: PolicyConfig; mean: number; std: number }> = {
  normal: { config: { name: 'normal' }, mean: 0, std: 1 },
  uniform: { config: { name: 'uniform' }, mean: 0, std: 1 },
  laplace: { config: { name: 'laplace' }, mean: 0, std: 1 },
  rademacher: { config: { name: 'rademacher' }, mean: 0, std: 1 },
  // values 1, 2, 6: mean 3, variance ((−2)² + (−1)² + 3²)/3 = 14/3
  discrete: { config: { name: 'discrete', values: [1, 2, 6] }, mean: 3, std: Math.sqrt(14 / 3) },
};

const draw = (d: PerturbationDistribution, seed: number, n: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => d.sample(rng));
};

describe('distribution contract (every registry entry)', () => {
  it('covers every registered distribution', () => {
    expect(policyNames('distribution').sort()).toEqual(Object.keys(cases).sort());
  });
  for (const [name, c] of Object.entries(cases)) {
    describe(name, () => {
      const d = createPolicy<PerturbationDistribution>('distribution', c.config);
      it('gives the same draws for the same seed (seed 11) and different ones for seed 12', () => {
        expect(draw(d, 11, 50)).toEqual(draw(d, 11, 50));
        expect(draw(d, 11, 50)).not.toEqual(draw(d, 12, 50));
      });
      it('has the promised mean and std on 10k draws (seed 5)', () => {
        const xs = draw(d, 5, 10_000);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
        // 10k draws: standard error of the mean ≈ std/100; allow 4 of them.
        expect(Math.abs(mean - c.mean)).toBeLessThan((4 * c.std) / 100);
        expect(Math.abs(std - c.std) / c.std).toBeLessThan(0.03);
        expect(xs.every(Number.isFinite)).toBe(true);
      });
      it('round-trips through its config', () => {
        expect(draw(createPolicy('distribution', d.config!), 3, 20)).toEqual(draw(d, 3, 20));
      });
    });
  }
  it('discrete rejects an empty set and non-finite values', () => {
    expect(() => discreteDistribution({ values: [] })).toThrow(/at least one number, got \[\]/);
    expect(() => discreteDistribution({ values: [1, Infinity] })).toThrow(/values\[1\] must be a finite number, got Infinity/);
  });
});
