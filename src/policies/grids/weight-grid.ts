import type { Configurable, ConfigValue, PolicyConfig } from '../registry.js';
import { withConfig } from '../registry.js';
import { quote, readOptions, requireArray, requireNonNegative, requireSigma } from '../../base/validate.js';

/**
 * A symmetric uniform grid of weight values: `code × step` for the integer codes −maxCode … maxCode (without 0
 * when `zero` is false). Weights of the tensors it covers stay exactly on it, and a step's candidates are the
 * weight and its two grid neighbours.
 *
 * @remarks Built by {@link binaryGrid}, {@link ternaryGrid} and {@link uniformGrid}; a registered
 * `weightGrid` factory may build others of this shape.
 */
export interface WeightGrid extends Configurable {
  /** The largest code m (1 for binary and ternary, 2^(bits−1) − 1 for k-bit). At most 127, so codes fit int8. */
  readonly maxCode: number;
  /** Whether 0 is a level (false for binary). */
  readonly zero: boolean;
  /** The layer or tensor names the grid covers, or null for every kernel. */
  readonly layers: readonly string[] | null;
  /**
   * The largest level a of a tensor, from its base σ (its initial std under the default `sigmaBase`).
   *
   * @param sigma - The tensor's base σ.
   */
  amplitude(sigma: number): number;
  /**
   * The exact step (value of code 1) of a tensor, given rather than derived from σ: one number for the tensor,
   * or one per output channel (the last axis). Optional; null or absent means "use {@link WeightGrid.amplitude}".
   *
   * @param names - The tensor's names, most specific first: its variable name, that name without tfjs's `_N`
   *   suffix, its layer name.
   */
  stepsOf?(names: readonly string[]): readonly number[] | null;
}

/** Options shared by the grid factories. */
export interface GridOptions {
  /** The largest level a, the same for every tensor covered. Default: `stds` × the tensor's base σ. */
  readonly a?: number;
  /** a as a multiple of each tensor's base σ (its initial std by default), when `a` is not given. */
  readonly stds?: number;
  /**
   * The layers or tensors covered, by name (`'dense_1'` or `'dense_1/kernel'`). Default: every kernel (conv
   * and dense kernels, embeddings), so biases and BN parameters stay continuous.
   */
  readonly layers?: readonly (string | LayerName)[];
}

/** A layer or tensor name as a saved config holds it. */
export interface LayerName {
  /** The layer or tensor name. */
  readonly name: string;
}

const OPTION_NAMES = ['a', 'stds', 'layers'] as const;

/**
 * Reads one factory's options into a grid.
 *
 * @param where - The factory name, for errors.
 * @param options - The user's options.
 * @param shape - The grid's name, largest code, zero level, the default `stds`, and extra config entries.
 * @returns The grid with its config. Layer names are saved as `{ name }` objects: tfjs rewrites other string
 *   values of a saved config to camelCase.
 */
export function makeGrid(
  where: string,
  options: GridOptions | undefined,
  shape: { readonly name: string; readonly maxCode: number; readonly zero: boolean; readonly stds: number; readonly extra?: Record<string, ConfigValue> },
  extraOptions: readonly string[] = [],
): WeightGrid {
  const o = readOptions<GridOptions>(where, options, [...OPTION_NAMES, ...extraOptions]);
  if (o.a !== undefined && o.stds !== undefined) throw new RangeError(`${where}: give a or stds, not both`);
  const a = o.a === undefined ? undefined : requireSigma(`${where}.a`, o.a);
  const stds = a === undefined ? requireNonNegative(`${where}.stds`, o.stds ?? shape.stds, true) : undefined;
  const layers = o.layers === undefined ? null : readLayerNames(`${where}.layers`, o.layers);
  const config: PolicyConfig = {
    name: shape.name,
    ...shape.extra,
    ...(a === undefined ? { stds: stds! } : { a }),
    ...(layers === null ? {} : { layers: layers.map((name) => ({ name })) }),
  };
  return withConfig({ maxCode: shape.maxCode, zero: shape.zero, layers, amplitude: (sigma: number) => a ?? stds! * sigma }, config);
}

function readLayerNames(field: string, value: unknown): string[] {
  const list = requireArray(field, value);
  if (list.length === 0) throw new RangeError(`${field} must name at least one layer or tensor; leave it out to cover every kernel`);
  return list.map((item, i) => {
    const name = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as { name?: unknown }).name : item;
    if (typeof name !== 'string' || name.length === 0) {
      throw new RangeError(`${field}[${i}] must be a layer or tensor name, got ${quote(item)}`);
    }
    return name;
  });
}
