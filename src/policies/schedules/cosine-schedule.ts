import { readOptions, requireFinite, requireInteger } from '../../base/validate.js';
import { withConfig } from '../registry.js';
import type { PolicyConfig } from '../registry.js';
import type { Schedule } from './schedule.js';

/**
 * A half-cosine decay from `from` to `to` over `steps` counts, then constant at `to`.
 *
 * @param options - `from` (default 1), `to` (default 0.1), `steps` (default: the horizon).
 * @returns The schedule.
 * @remarks value(c) = to + (from − to) · (1 + cos(π · min(c, steps) / steps)) / 2.
 * @example
 * ```ts
 * cosineSchedule({ from: 1, to: 0, steps: 2 })(1); // 0.5
 * ```
 */
export function cosineSchedule(options: { readonly from?: number; readonly to?: number; readonly steps?: number } = {}): Schedule {
  const o = readOptions('cosineSchedule', options, ['from', 'to', 'steps']);
  const from = requireFinite('cosineSchedule.from', o.from ?? 1);
  const to = requireFinite('cosineSchedule.to', o.to ?? 0.1);
  const steps = o.steps === undefined ? undefined : requireInteger('cosineSchedule.steps', o.steps, 1);
  const config: PolicyConfig = steps === undefined ? { name: 'cosine', from, to } : { name: 'cosine', from, to, steps };
  return withConfig((count: number, horizon?: number) => {
    const n = steps ?? horizon;
    if (n === undefined) {
      throw new RangeError('cosineSchedule: no steps given and no horizon passed; set cosineSchedule({ steps })');
    }
    if (n <= 0) return to;
    const t = Math.min(Math.max(count, 0), n) / n;
    return to + ((from - to) * (1 + Math.cos(Math.PI * t))) / 2;
  }, config);
}
