import { readOptions, requireFinite } from '../../base/validate.js';
import { withConfig } from '../registry.js';
import type { Schedule } from './schedule.js';

/**
 * A schedule that always returns the same value.
 *
 * @param options - `value`: the constant (default 1).
 * @returns The schedule.
 * @example
 * ```ts
 * constantSchedule({ value: 0.5 })(10); // 0.5
 * ```
 */
export function constantSchedule(options: { readonly value?: number } = {}): Schedule {
  const o = readOptions('constantSchedule', options, ['value']);
  const value = requireFinite('constantSchedule.value', o.value ?? 1);
  return withConfig(() => value, { name: 'constant', value });
}
