import type { Rng } from '../../base/rng.js';
import { withConfig } from '../registry.js';
import { quote, readOptions, requireArray, requireFinite } from '../../base/validate.js';
import type { PerturbationDistribution } from './distribution.js';

/**
 * A uniform choice among a fixed set of values.
 *
 * @param options - `values`: finite numbers, at least one of them nonzero.
 * @returns The distribution.
 * @remarks x = values[⌊u · n⌋]. The values are used as given (not rescaled to unit variance).
 * @example
 * ```ts
 * discreteDistribution({ values: [0.5, 1, 2] }).sample(createRng(1)); // one of the three
 * ```
 */
export function discreteDistribution(options: { readonly values: readonly number[] }): PerturbationDistribution {
  const o = readOptions('discreteDistribution', options, ['values']);
  const values = [...requireArray('discreteDistribution.values', o.values)] as number[];
  if (values.length === 0) {
    throw new RangeError('discreteDistribution.values must hold at least one number, got []');
  }
  values.forEach((v, i) => requireFinite(`discreteDistribution.values[${i}]`, v));
  if (values.every((v) => v === 0)) {
    throw new RangeError(`discreteDistribution.values must hold a nonzero number, got ${quote(values)}: with only 0, every step tries w three times and no weight moves`);
  }
  const n = values.length;
  return withConfig({ sample: (rng: Rng) => values[Math.floor(rng.next() * n)]! }, { name: 'discrete', values });
}
