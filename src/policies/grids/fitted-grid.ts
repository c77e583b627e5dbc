import { withConfig } from '../registry.js';
import { quote, readOptions, requireArray, requireInteger } from '../../base/validate.js';
import type { WeightGrid } from './weight-grid.js';

/** One tensor's steps in a {@link fittedGrid}: the value of code 1, per tensor (one number) or per output channel. */
export interface FittedSteps {
  /** The variable name (`'dense_1/kernel'`) or layer name (`'dense_1'`). */
  readonly name: string;
  /** One step for the tensor, or one per output channel (the last axis of `[kh, kw, in, out]` or `[in, out]`). */
  readonly steps: readonly number[];
}

/** Options of {@link fittedGrid}. */
export interface FittedGridOptions {
  /**
   * Bits per weight, 1 to 8: 1 is binary (codes ±1), 2 ternary (−1, 0, 1), k ≥ 3 the symmetric codes
   * −(2^(k−1) − 1) … 2^(k−1) − 1.
   */
  readonly bits: number;
  /** The tensors covered and their steps (for example from a quantizer that fitted them). */
  readonly tensors: readonly FittedSteps[];
}

/** The largest code of a `bits`-bit symmetric grid, and whether 0 is a level. */
export function codeRange(bits: number): { readonly maxCode: number; readonly zero: boolean } {
  return bits === 1 ? { maxCode: 1, zero: false } : { maxCode: 2 ** (bits - 1) - 1, zero: true };
}

/**
 * A weight grid whose steps are given, per tensor or per output channel, instead of derived from σ: the grid
 * that a fitted quantization defines, for repairing the rounding with RSO.
 *
 * @param options - `bits` and, per covered tensor, its `steps`.
 * @returns The grid, for {@link RSOConfig.grid}. It covers exactly the named tensors; biases, BN parameters and
 *   every other tensor stay continuous and are searched as usual.
 * @throws RangeError naming the field when `bits` is not an integer in 1…8, `tensors` is empty, a name is
 *   missing or repeated, or a step is not finite and > 0.
 * @remarks Levels of channel c are `code × steps[c]` in float32, codes in −m … m (m = 2^(bits−1) − 1, or 1 for
 *   binary, which has no 0). A step tries a weight's two neighbours on its channel's levels. The steps are
 *   saved in the optimizer's config, so worker threads and a reloaded optimizer rebuild the same grid.
 * @example
 * ```ts
 * const grid = fittedGrid({ bits: 4, tensors: [{ name: 'dense_1/kernel', steps: [0.02, 0.03] }] });
 * await new RSOOptimizer({ grid }).fit(model, xs, ys, { maxSteps: 500 });
 * ```
 */
export function fittedGrid(options: FittedGridOptions): WeightGrid {
  const o = readOptions<FittedGridOptions>('fittedGrid', options, ['bits', 'tensors']);
  const bits = requireInteger('fittedGrid.bits', o.bits, 1, 8);
  const list = requireArray('fittedGrid.tensors', o.tensors);
  if (list.length === 0) throw new RangeError('fittedGrid.tensors must name at least one tensor');
  const byName = new Map<string, readonly number[]>();
  list.forEach((item, i) => {
    const field = `fittedGrid.tensors[${i}]`;
    const entry = (typeof item === 'object' && item !== null ? item : {}) as Partial<FittedSteps>;
    if (typeof entry.name !== 'string' || entry.name.length === 0) throw new RangeError(`${field}.name must be a tensor or layer name, got ${quote(entry.name)}`);
    if (byName.has(entry.name)) throw new RangeError(`${field}.name: "${entry.name}" is listed twice`);
    const steps = requireArray(`${field}.steps`, entry.steps).map((s, c) => {
      if (typeof s !== 'number' || !Number.isFinite(s) || !(Math.fround(s) > 0)) throw new RangeError(`${field}.steps[${c}] must be finite and > 0 in float32, got ${quote(s)}`);
      return Math.fround(s);
    });
    if (steps.length === 0) throw new RangeError(`${field}.steps must hold at least one step`);
    byName.set(entry.name, steps);
  });
  const { maxCode, zero } = codeRange(bits);
  const layers = [...byName.keys()];
  const maxStep = Math.max(...[...byName.values()].flat());
  return withConfig(
    {
      maxCode,
      zero,
      layers,
      amplitude: () => maxCode * maxStep,
      stepsOf: (names: readonly string[]) => {
        for (const n of names) {
          const steps = byName.get(n);
          if (steps !== undefined) return steps;
        }
        return null;
      },
    },
    { name: 'fitted', bits, tensors: layers.map((name) => ({ name, steps: [...byName.get(name)!] })) },
  );
}
