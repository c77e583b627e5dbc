import { readOptions, requireArray, requireFinite, requireInteger } from '../../base/validate.js';
import { withConfig } from '../registry.js';
import type { Schedule } from './schedule.js';

/**
 * A step schedule: `values[0]` until `boundaries[0]`, then `values[1]` until `boundaries[1]`, and so on.
 *
 * @param options - `boundaries`: strictly increasing counts; `values`: one more entry than `boundaries`.
 * @returns The schedule.
 * @remarks value(c) = values[k] where k is the number of boundaries ≤ c.
 * @example
 * ```ts
 * const s = piecewiseSchedule({ boundaries: [10, 20], values: [1, 0.5, 0.1] });
 * s(9); // 1
 * s(10); // 0.5
 * ```
 */
export function piecewiseSchedule(options: { readonly boundaries: readonly number[]; readonly values: readonly number[] }): Schedule {
  const o = readOptions('piecewiseSchedule', options, ['boundaries', 'values']);
  const boundaries = [...requireArray('piecewiseSchedule.boundaries', o.boundaries ?? [])] as number[];
  const values = [...requireArray('piecewiseSchedule.values', o.values)] as number[];
  boundaries.forEach((b, i) => {
    requireInteger(`piecewiseSchedule.boundaries[${i}]`, b, 0);
    if (i > 0 && b <= boundaries[i - 1]!) {
      throw new RangeError(`piecewiseSchedule.boundaries must increase strictly, got ${JSON.stringify(boundaries)}`);
    }
  });
  values.forEach((v, i) => requireFinite(`piecewiseSchedule.values[${i}]`, v));
  if (values.length !== boundaries.length + 1) {
    throw new RangeError(
      `piecewiseSchedule.values must have boundaries.length + 1 = ${boundaries.length + 1} entries, got ${values.length}`,
    );
  }
  return withConfig(
    (count: number) => {
      let k = 0;
      while (k < boundaries.length && count >= boundaries[k]!) k++;
      return values[k]!;
    },
    { name: 'piecewise', boundaries, values },
  );
}
