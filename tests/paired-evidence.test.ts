// The user-written acceptance by evidence (examples/lib/paired-evidence.ts): from a batch's per-example losses it
// keeps the best candidate exactly when that candidate's paired z against w exceeds the threshold, computed here
// directly from the losses; it plans one stage, the batch less one row, and its config rebuilds it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../src/index.js';
import { pairedEvidence } from '../examples/lib/paired-evidence.js';

/** The early-rejection sums [n, L0, L1, L2, S01, Q01, S02, Q02, S12, Q12] of per-example losses l[k][e]. */
function sumsOf(l: readonly (readonly number[])[]): number[] {
  const n = l[0]!.length;
  const sum = (f: (e: number) => number) => Array.from({ length: n }, (_, e) => f(e)).reduce((a, b) => a + b, 0);
  const pair = (a: number, b: number) => [sum((e) => l[b]![e]! - l[a]![e]!), sum((e) => (l[b]![e]! - l[a]![e]!) ** 2)];
  return [n, sum((e) => l[0]![e]!), sum((e) => l[1]![e]!), sum((e) => l[2]![e]!), ...pair(0, 1), ...pair(0, 2), ...pair(1, 2)];
}

/**
 * What the rule should keep: the lowest mean if its gain over w has z = mean / (sd / √n) above `z`, else 0; null
 * when z is within rounding of the threshold (the rule computes it from sums, so the last bit may differ).
 */
function expected(l: readonly (readonly number[])[], z: number): number | null {
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const best = mean(l[1]!) <= mean(l[2]!) ? 1 : 2;
  if (!(mean(l[best]!) < mean(l[0]!))) return 0;
  const d = l[0]!.map((v, e) => v - l[best]![e]!);
  const m = mean(d);
  const sd = Math.sqrt(d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1));
  const zd = m / (sd / Math.sqrt(d.length));
  if (Math.abs(zd - z) < 1e-9) return null;
  return zd > z ? best : 0;
}

describe('pairedEvidence', () => {
  it('keeps a move with strong evidence and turns down the same mean gain buried in noise', () => {
    const w = [1, 1, 1, 1, 1, 1, 1, 1];
    const steady = w.map((v) => v - 0.1); // every example gains 0.1
    const noisy = w.map((v, e) => v - 0.1 + (e % 2 === 0 ? 1 : -1)); // the same mean gain, sd about 1
    const rule = pairedEvidence(1);
    expect(rule.decide(sumsOf([w, steady, w]), 1, [0, 0, 0])).toBe(1);
    expect(rule.decide(sumsOf([w, noisy, w]), 1, [0, 0, 0])).toBe(0);
    expect(rule.decide(sumsOf([w, w, steady]), 1, [0, 0, 0])).toBe(2);
    expect(rule.decide(sumsOf([w, w, w]), 1, [0, 0, 0])).toBe(0);
  });

  it('decides as the z computed from the losses themselves, for any losses', () => {
    const losses = fc.integer({ min: 3, max: 12 }).chain((n) => fc.array(fc.array(fc.integer({ min: 0, max: 40 }).map((v) => v / 8), { minLength: n, maxLength: n }), { minLength: 3, maxLength: 3 }));
    fc.assert(
      fc.property(losses, fc.constantFrom(0, 0.5, 1, 2), (l, z) => {
        fc.pre(expected(l, z) !== null);
        expect(pairedEvidence(z).decide(sumsOf(l), 1, [0, 0, 0])).toBe(expected(l, z));
      }),
    );
  });

  it('plans one stage of all rows but one, refuses a bad z, and is rebuilt from its config', () => {
    expect(pairedEvidence(1).plan(2000)).toEqual([{ stage: 0, rows: 1999 }]);
    expect(pairedEvidence(1).plan(2)).toEqual([]);
    expect(() => pairedEvidence(-1)).toThrow(/pairedEvidence\.z/);
    expect(() => pairedEvidence(Number.NaN)).toThrow(/pairedEvidence\.z/);
    const rebuilt = createPolicy('earlyRejection', pairedEvidence(1.5).config!) as ReturnType<typeof pairedEvidence>;
    expect(rebuilt.config).toEqual({ name: 'pairedEvidence', z: 1.5 });
  });
});
