import type { WeightGrid } from '../policies/grids/index.js';
import { suggest } from '../base/validate.js';
import type { WeightTensorInfo } from '../base/weight-groups.js';

/**
 * A weight grid bound to one tensor: its levels are `code × step` for codes in −maxCode … maxCode, with one step
 * for the tensor or one per output channel (the last axis).
 */
export interface TensorGrid {
  /** The value of code 1 (of channel 0 when `steps` is given). */
  readonly step: number;
  /**
   * The value of code 1 per output channel (the last axis: `[kh, kw, in, out]` or `[in, out]`), or null for one
   * step for the tensor. Scalar `flat` (row-major) is in channel `flat % steps.length`.
   */
  readonly steps?: Float32Array | null;
  /** The largest code. */
  readonly maxCode: number;
  /** Whether 0 is a level. */
  readonly zero: boolean;
}

/**
 * The grid of each tensor, or null for a continuous one.
 *
 * @param grids - The configured grids.
 * @param tensors - The bound tensors.
 * @param sigmas - Each tensor's base σ, from which a grid's amplitude follows.
 * @throws RangeError when a grid names a layer or tensor the model does not have, or two grids cover a tensor.
 */
export function assignGrids(grids: readonly WeightGrid[], tensors: readonly WeightTensorInfo[], sigmas: Float32Array): (TensorGrid | null)[] {
  if (grids.length === 0) return tensors.map(() => null);
  const names = [...new Set(tensors.flatMap((t) => [t.layer, t.name, plainName(t)]))];
  for (const grid of grids) {
    const unknown = grid.layers?.find((n) => !names.includes(n));
    if (unknown !== undefined) {
      throw new RangeError(`grid: no trainable layer or tensor is named "${unknown}"${suggest(unknown, names)}; the model has ${tensors.map((t) => t.name).join(', ')}`);
    }
  }
  return tensors.map((t, i) => {
    const own = [t.layer, t.name, plainName(t)];
    const covering = grids.filter((g) => (g.layers === null ? t.role === 'kernel' : own.some((n) => g.layers!.includes(n))));
    if (covering.length === 0) return null;
    if (covering.length > 1) throw new RangeError(`grid: tensor "${t.name}" is covered by ${covering.length} grids; give each tensor one grid`);
    return bindGrid(covering[0]!, t, sigmas[i]!);
  });
}

/** `layer/kernel` for a variable tfjs named `layer/kernel_1` (a second model with the same layer names). */
function plainName(t: WeightTensorInfo): string {
  return t.name.replace(/_\d+$/, '');
}

function bindGrid(grid: WeightGrid, t: WeightTensorInfo, sigma: number): TensorGrid {
  const name = t.name;
  if (!Number.isInteger(grid.maxCode) || grid.maxCode < 1 || grid.maxCode > 127) {
    throw new RangeError(`grid: maxCode must be an integer in 1…127 (codes fit int8), got ${String(grid.maxCode)}`);
  }
  const given = grid.stepsOf?.([name, plainName(t), t.layer]) ?? null;
  if (given !== null) return bindSteps(grid, t, given);
  const amplitude = grid.amplitude(sigma);
  const step = amplitude / grid.maxCode;
  if (!Number.isFinite(step) || step <= 0 || Math.fround(step) <= 0) {
    throw new RangeError(`grid: the amplitude of "${name}" must be finite and > 0, got ${String(amplitude)} (base σ ${sigma})`);
  }
  return { step, maxCode: grid.maxCode, zero: grid.zero };
}

/** A grid's given steps, one per tensor (length 1) or per output channel: checked and bound. */
function bindSteps(grid: WeightGrid, t: WeightTensorInfo, given: readonly number[]): TensorGrid {
  const channels = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1]!;
  if (given.length !== 1 && given.length !== channels) {
    throw new RangeError(`grid: "${t.name}" (shape [${t.shape.join(', ')}]) needs 1 step or ${channels} (one per output channel), got ${given.length}`);
  }
  const steps = Float32Array.from(given);
  steps.forEach((s, c) => {
    if (!Number.isFinite(s) || s <= 0) throw new RangeError(`grid: step ${c} of "${t.name}" must be finite and > 0 in float32, got ${String(given[c])}`);
  });
  return { step: steps[0]!, steps: given.length === 1 ? null : steps, maxCode: grid.maxCode, zero: grid.zero };
}

/** The value of code 1 at row-major index `flat`. */
export function stepAt(grid: TensorGrid, flat: number): number {
  const steps = grid.steps;
  return steps === undefined || steps === null ? grid.step : steps[flat % steps.length]!;
}

/**
 * The grid code nearest to `w`.
 *
 * @param flat - The scalar's row-major index, which picks its channel's step on a per-channel grid.
 */
export function codeOf(grid: TensorGrid, w: number, flat = 0): number {
  const code = Math.max(-grid.maxCode, Math.min(grid.maxCode, Math.round(w / stepAt(grid, flat))));
  return code === 0 && !grid.zero ? (w < 0 ? -1 : 1) : code;
}

/** The value of a code at row-major index `flat`, as float32 holds it. */
export function levelOf(grid: TensorGrid, code: number, flat = 0): number {
  return Math.fround(code * stepAt(grid, flat));
}

/** The grid level nearest to `w` at row-major index `flat`. */
export function snapToGrid(grid: TensorGrid, w: number, flat = 0): number {
  return levelOf(grid, codeOf(grid, w, flat), flat);
}

function neighbour(grid: TensorGrid, code: number, direction: 1 | -1): number {
  let c = code + direction;
  if (c === 0 && !grid.zero) c += direction;
  return c < -grid.maxCode || c > grid.maxCode ? code : c;
}

/**
 * A grid step's candidates: the level of `w`, the next level up, the next level down (an end of the grid
 * repeats the level, so that candidate ties with w and loses).
 *
 * @param out - Receives the three candidates.
 * @param flat - The scalar's row-major index (its channel's step on a per-channel grid).
 */
export function gridCandidates(grid: TensorGrid, w: number, out: Float32Array, flat = 0): void {
  const code = codeOf(grid, w, flat);
  out[0] = levelOf(grid, code, flat);
  out[1] = levelOf(grid, neighbour(grid, code, 1), flat);
  out[2] = levelOf(grid, neighbour(grid, code, -1), flat);
}
