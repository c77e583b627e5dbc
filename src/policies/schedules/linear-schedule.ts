import { readOptions, requireFinite, requireInteger } from '../../base/validate.js';
import { withConfig } from '../registry.js';
import type { PolicyConfig } from '../registry.js';
import type { Schedule } from './schedule.js';

/**
 * A schedule that moves linearly from `from` to `to` over `steps` counts, then stays at `to`.
 *
 * @param options - `from` (default 1), `to` (default 0.1), and `steps`; without `steps` the schedule
 *   stretches over the horizon it is given (the optimizer passes its planned `cycles`).
 * @returns The schedule.
 * @remarks
 * value(c) = from + (to − from) · min(c, steps) / steps. With the defaults and steps = C cycles this is the
 * authors' σ factor s_c = 0.1 + 0.9 · (C − c) / C, the paper's default annealing.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * const s = linearSchedule({ from: 1, to: 0.1, steps: 10 });
 * s(0); // 1
 * s(5); // 0.55
 * ```
 */
export function linearSchedule(options: { readonly from?: number; readonly to?: number; readonly steps?: number } = {}): Schedule {
  // arXiv:2005.05955, authors' script: the σ factor anneals linearly from 1 to 1/10.
  const o = readOptions('linearSchedule', options, ['from', 'to', 'steps']);
  const from = requireFinite('linearSchedule.from', o.from ?? 1);
  const to = requireFinite('linearSchedule.to', o.to ?? 0.1);
  const steps = o.steps === undefined ? undefined : requireInteger('linearSchedule.steps', o.steps, 1);
  const config: PolicyConfig = steps === undefined ? { name: 'linear', from, to } : { name: 'linear', from, to, steps };
  return withConfig((count: number, horizon?: number) => {
    const n = steps ?? horizon;
    if (n === undefined) {
      throw new RangeError('linearSchedule: no steps given and no horizon passed; set linearSchedule({ steps })');
    }
    if (n <= 0) return to;
    const t = Math.min(Math.max(count, 0), n) / n;
    return from + (to - from) * t;
  }, config);
}
