/**
 * A coordinates policy for a network just switched to thresholds: in the first `cycles` cycles it visits every
 * tensor but the conv kernels (BN β slides a channel's cut, γ its spread; the Dense layer reads the last
 * threshold), then every scalar. Registered as `cutsFirst` on import, so worker threads that import this module
 * rebuild it from the optimizer's config.
 */
import { registerPolicy } from '../../src/index.js';
import type { CoordinateContext, CoordinateSelection } from '../../src/index.js';

/**
 * The policy: the first `cycles` cycles skip the conv kernels (4-D tensors), later cycles visit everything.
 *
 * @param cycles - Cycles that skip the conv kernels, an integer ≥ 0.
 */
export function cutsFirst(cycles: number): CoordinateSelection {
  if (!Number.isInteger(cycles) || cycles < 0) throw new RangeError(`cutsFirst: cycles must be an integer ≥ 0, got ${String(cycles)}`);
  return {
    config: { name: 'cutsFirst', cycles },
    select(size: number, context: CoordinateContext): Int32Array | null {
      if (context.cycle >= cycles) return null;
      const kept: number[] = [];
      let start = 0;
      for (const t of context.tensors) {
        if (t.shape.length !== 4) for (let i = 0; i < t.size; i++) kept.push(start + i);
        start += t.size;
      }
      return kept.length === size ? null : Int32Array.from(kept);
    },
  };
}

registerPolicy('coordinates', 'cutsFirst', (c) => cutsFirst(Number(c['cycles'])), { override: true });
