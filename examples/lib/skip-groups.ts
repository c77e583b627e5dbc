/**
 * A coordinates policy that leaves the input side of a network as it is: the first `count` weight groups (input
 * side first, a conv + BN block being one group) are never visited, every other scalar is. Registered as
 * `skipGroups` on import, so worker threads that import this module rebuild it from the optimizer's config.
 */
import { registerPolicy } from '../../src/index.js';
import type { CoordinateContext, CoordinateSelection } from '../../src/index.js';

/**
 * The policy: groups 0 … `count` − 1 get no step, the others every scalar in order.
 *
 * @param count - Input-side groups to leave alone, an integer ≥ 0 (below the number of groups).
 */
export function skipGroups(count: number): CoordinateSelection {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`skipGroups: count must be an integer ≥ 0, got ${String(count)}`);
  const none = new Int32Array(0);
  return {
    config: { name: 'skipGroups', count },
    select: (_size: number, context: CoordinateContext): Int32Array | null => (context.group < count ? none : null),
  };
}

registerPolicy('coordinates', 'skipGroups', (c) => skipGroups(Number(c['count'])), { override: true });
