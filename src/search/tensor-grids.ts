import type { WeightGrid } from '../policies/grids/index.js';
import { suggest } from '../policies/validate.js';
import type { WeightTensorInfo } from './weight-groups.js';

/** A weight grid bound to one tensor: its levels are `code × step` for codes in −maxCode … maxCode. */
export interface TensorGrid {
  /** The value of code 1. */
  readonly step: number;
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
    return bindGrid(covering[0]!, t.name, sigmas[i]!);
  });
}

/** `layer/kernel` for a variable tfjs named `layer/kernel_1` (a second model with the same layer names). */
function plainName(t: WeightTensorInfo): string {
  return t.name.replace(/_\d+$/, '');
}

function bindGrid(grid: WeightGrid, name: string, sigma: number): TensorGrid {
  const amplitude = grid.amplitude(sigma);
  const step = amplitude / grid.maxCode;
  if (!Number.isInteger(grid.maxCode) || grid.maxCode < 1 || grid.maxCode > 127) {
    throw new RangeError(`grid: maxCode must be an integer in 1…127 (codes fit int8), got ${String(grid.maxCode)}`);
  }
  if (!Number.isFinite(step) || step <= 0 || Math.fround(step) <= 0) {
    throw new RangeError(`grid: the amplitude of "${name}" must be finite and > 0, got ${String(amplitude)} (base σ ${sigma})`);
  }
  return { step, maxCode: grid.maxCode, zero: grid.zero };
}

/** The grid code nearest to `w`. */
export function codeOf(grid: TensorGrid, w: number): number {
  const code = Math.max(-grid.maxCode, Math.min(grid.maxCode, Math.round(w / grid.step)));
  return code === 0 && !grid.zero ? (w < 0 ? -1 : 1) : code;
}

/** The value of a code, as float32 holds it. */
export function levelOf(grid: TensorGrid, code: number): number {
  return Math.fround(code * grid.step);
}

/** The grid level nearest to `w`. */
export function snapToGrid(grid: TensorGrid, w: number): number {
  return levelOf(grid, codeOf(grid, w));
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
 */
export function gridCandidates(grid: TensorGrid, w: number, out: Float32Array): void {
  const code = codeOf(grid, w);
  out[0] = levelOf(grid, code);
  out[1] = levelOf(grid, neighbour(grid, code, 1));
  out[2] = levelOf(grid, neighbour(grid, code, -1));
}
