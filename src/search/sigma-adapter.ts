import type { SigmaAdaptation } from '../policies/sigma-adaptation/index.js';

/**
 * The per-tensor state of a {@link SigmaAdaptation}: a σ multiplier, and the steps and moves of the current
 * window. Packed as float32 `[multipliers…, steps…, moves…]` (counts stay far below 2^24).
 */
export class SigmaAdapter {
  private constructor(
    private readonly rule: SigmaAdaptation,
    readonly multipliers: Float32Array,
    private readonly steps: Float32Array,
    private readonly moves: Float32Array,
  ) {}

  /** Multipliers of 1 and empty windows for `n` tensors. */
  static fresh(rule: SigmaAdaptation, n: number): SigmaAdapter {
    return new SigmaAdapter(rule, new Float32Array(n).fill(1), new Float32Array(n), new Float32Array(n));
  }

  /**
   * Reads a packed state, checking it.
   *
   * @throws RangeError naming the bad entry.
   */
  static unpack(rule: SigmaAdaptation, v: ArrayLike<number>, n: number, where: string): SigmaAdapter {
    if (v.length !== 3 * n) throw new RangeError(`${where}: expected ${3 * n} values (3 per tensor), got ${v.length}`);
    const a = Float32Array.from(v);
    for (let t = 0; t < n; t++) {
      const [m, s, k] = [a[t]!, a[n + t]!, a[2 * n + t]!];
      if (!Number.isFinite(m) || m <= 0) throw new RangeError(`${where}: the σ multiplier of tensor ${t} must be finite and > 0, got ${m}`);
      if (!Number.isInteger(s) || s < 0 || s >= rule.window) throw new RangeError(`${where}: the window steps of tensor ${t} must be an integer in 0…${rule.window - 1}, got ${s}`);
      if (!Number.isInteger(k) || k < 0 || k > s) throw new RangeError(`${where}: the window moves of tensor ${t} must be an integer in 0…${s}, got ${k}`);
    }
    return new SigmaAdapter(rule, a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(2 * n));
  }

  /** The state, packed. */
  pack(): Float32Array {
    const n = this.multipliers.length;
    const out = new Float32Array(3 * n);
    out.set(this.multipliers);
    out.set(this.steps, n);
    out.set(this.moves, 2 * n);
    return out;
  }

  /** Counts one step of tensor `t`; at the end of its window, updates its multiplier. */
  record(t: number, moved: boolean): void {
    const steps = ++this.steps[t]!;
    if (moved) this.moves[t]!++;
    if (steps < this.rule.window) return;
    const next = this.rule.update(this.multipliers[t]!, this.moves[t]!, steps);
    if (!Number.isFinite(next) || next <= 0) throw new RangeError(`sigmaAdaptation: update must return a finite number > 0, got ${String(next)}`);
    this.multipliers[t] = next;
    this.steps[t] = 0;
    this.moves[t] = 0;
  }
}
