import type { WeightTensorInfo } from '../../base/weight-groups.js';
import { searchOrderToFlat } from '../../base/weight-groups.js';
import { withConfig } from '../registry.js';
import { quote, readOptions, requireArray, requireShare } from '../../base/validate.js';
import type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';

/** One ranked tensor of a {@link rankedSubset}: a cost per scalar, row-major; the cheapest are visited. */
export interface RankedTensor {
  /** The variable name (`'dense_1/kernel'`); tfjs's `_N` suffix is ignored on both sides. */
  readonly name: string;
  /** One finite cost per scalar of the tensor, in row-major order (as `dataSync()` gives it). */
  readonly costs: readonly number[];
}

/** Options of {@link rankedSubset}. */
export interface RankedSubsetOptions {
  /** The share of each ranked tensor's scalars visited per cycle, in (0, 1]: those of least cost. */
  readonly fraction: number;
  /** The ranked tensors. Every other tensor (biases, BN parameters, …) is visited whole. */
  readonly tensors: readonly RankedTensor[];
}

const plainName = (name: string): string => name.replace(/_\d+$/, '');

/** The validated costs by plain tensor name. */
function readTensors(value: unknown): ReadonlyMap<string, Float64Array> {
  const list = requireArray('rankedSubset.tensors', value);
  if (list.length === 0) throw new RangeError('rankedSubset.tensors must name at least one tensor');
  const byName = new Map<string, Float64Array>();
  list.forEach((item, i) => {
    const field = `rankedSubset.tensors[${i}]`;
    const entry = (typeof item === 'object' && item !== null ? item : {}) as Partial<RankedTensor>;
    if (typeof entry.name !== 'string' || entry.name.length === 0) throw new RangeError(`${field}.name must be a tensor name, got ${quote(entry.name)}`);
    const name = plainName(entry.name);
    if (byName.has(name)) throw new RangeError(`${field}.name: "${entry.name}" is listed twice`);
    const costs = requireArray(`${field}.costs`, entry.costs);
    if (costs.length === 0) throw new RangeError(`${field}.costs must hold one cost per scalar, got []`);
    byName.set(name, Float64Array.from(costs, (c, k) => {
      if (typeof c !== 'number' || !Number.isFinite(c)) throw new RangeError(`${field}.costs[${k}] must be a finite number, got ${quote(c)}`);
      return c;
    }));
  });
  return byName;
}

/** The search-order positions (0 … size − 1) of the `count` scalars of least cost; ties go to the earlier position. */
function cheapest(info: WeightTensorInfo, costs: Float64Array, count: number): number[] {
  const byPosition = Float64Array.from({ length: info.size }, (_, k) => costs[searchOrderToFlat(info, k)]!);
  const positions = Array.from({ length: info.size }, (_, k) => k);
  positions.sort((a, b) => byPosition[a]! - byPosition[b]! || a - b);
  return positions.slice(0, count);
}

/**
 * Visits, in each cycle, the share of each ranked tensor's scalars of least cost, and every scalar of the other
 * tensors, in the paper's order: a coordinate order from a score the user (or a quantizer) knows, such as how
 * close each weight sat to a rounding boundary.
 *
 * @param options - `fraction` in (0, 1], and per ranked tensor its `costs`, row-major.
 * @returns The selection.
 * @throws RangeError naming the field for a bad option; at the first cycle, when a ranked tensor's costs do not
 *   match its size.
 * @remarks In a group, a ranked tensor of n scalars contributes its max(1, round(fraction · n)) scalars of least
 * cost; positions are then sorted, so the engine's caches see the paper's order. The costs are saved in the
 * optimizer's config, so worker threads and a reloaded optimizer select the same scalars.
 * @example
 * ```ts
 * // Visit the half of dense_1/kernel whose costs are lowest, and everything else.
 * new RSOOptimizer({ coordinates: rankedSubset({ fraction: 0.5, tensors: [{ name: 'dense_1/kernel', costs: [0.3, 0.1, 0.2, 0.4] }] }) });
 * ```
 */
export function rankedSubset(options: RankedSubsetOptions): CoordinateSelection {
  const o = readOptions('rankedSubset', options, ['fraction', 'tensors']);
  const fraction = requireShare('rankedSubset.fraction', o.fraction);
  const byName = readTensors(o.tensors);
  return withConfig(
    {
      select(size: number, { tensors }: CoordinateContext): Int32Array | null {
        const chosen: number[] = [];
        let offset = 0;
        let all = true;
        for (const info of tensors) {
          const costs = byName.get(plainName(info.name));
          if (costs === undefined) {
            for (let k = 0; k < info.size; k++) chosen.push(offset + k);
          } else {
            if (costs.length !== info.size) throw new RangeError(`coordinates: rankedSubset lists ${costs.length} costs for "${info.name}", which has ${info.size} scalars`);
            const count = Math.min(info.size, Math.max(1, Math.round(fraction * info.size)));
            all &&= count === info.size;
            for (const k of cheapest(info, costs, count)) chosen.push(offset + k);
          }
          offset += info.size;
        }
        if (all && offset === size) return null;
        return Int32Array.from(chosen).sort();
      },
    },
    { name: 'rankedSubset', fraction, tensors: [...byName].map(([name, costs]) => ({ name, costs: Array.from(costs) })) },
  );
}
