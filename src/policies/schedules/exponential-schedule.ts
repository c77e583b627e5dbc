import { readOptions, requireFinite, requireNonNegative } from '../../base/validate.js';
import { withConfig } from '../registry.js';
import type { Schedule } from './schedule.js';

/**
 * An exponential decay: `from · rate^count`, never below `floor`.
 *
 * @param options - `from` (default 1), `rate` in (0, ∞) (default 0.9), `floor` (default 0).
 * @returns The schedule.
 * @remarks value(c) = max(floor, from · rate^c).
 * @example
 * ```ts
 * exponentialSchedule({ from: 1, rate: 0.5 })(3); // 0.125
 * ```
 */
export function exponentialSchedule(options: { readonly from?: number; readonly rate?: number; readonly floor?: number } = {}): Schedule {
  const o = readOptions('exponentialSchedule', options, ['from', 'rate', 'floor']);
  const from = requireFinite('exponentialSchedule.from', o.from ?? 1);
  const rate = requireNonNegative('exponentialSchedule.rate', o.rate ?? 0.9, true);
  const floor = requireFinite('exponentialSchedule.floor', o.floor ?? 0);
  return withConfig((count: number) => Math.max(floor, from * rate ** Math.max(count, 0)), {
    name: 'exponential',
    from,
    rate,
    floor,
  });
}
