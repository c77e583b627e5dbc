import type { SigmaAdaptation } from '../policies/sigma-adaptation/index.js';
import type { StatePart } from '../base/state-codec.js';

/** The name of σ adaptation's saved part (`rso/sigmaAdaptation`): its policy kind. */
export const SIGMA_ADAPTATION_PART = 'sigmaAdaptation';

/**
 * σ adaptation's state part for `n` tensors under `rule`: {@link SigmaAdapter.pack}'s layout, checked entry by entry
 * on decode. Any rule, built in or the user's, is saved through it.
 *
 * @param rule - The adaptation rule (its `window` and `countsTies` shape the layout).
 * @param n - The number of tensors.
 * @returns The part.
 */
export function sigmaAdaptationPart(rule: SigmaAdaptation, n: number): StatePart<SigmaAdapter> {
  return {
    name: SIGMA_ADAPTATION_PART,
    dtype: 'float32',
    encode: (adapter) => adapter.pack(),
    decode: (values) => SigmaAdapter.unpack(rule, values, n),
  };
}

/**
 * The per-tensor state of a {@link SigmaAdaptation}: a σ multiplier, and the steps and moves of the current
 * window, and its ties for a rule that counts them. Packed as float32 `[multipliers…, steps…, moves…]`, followed
 * by `ties…` with `countsTies` (counts stay far below 2^24).
 */
export class SigmaAdapter {
  private constructor(
    private readonly rule: SigmaAdaptation,
    readonly multipliers: Float32Array,
    private readonly steps: Float32Array,
    private readonly moves: Float32Array,
    private readonly ties: Float32Array | null,
  ) {}

  /** Multipliers of 1 and empty windows for `n` tensors. */
  static fresh(rule: SigmaAdaptation, n: number): SigmaAdapter {
    return new SigmaAdapter(rule, new Float32Array(n).fill(1), new Float32Array(n), new Float32Array(n), rule.countsTies === true ? new Float32Array(n) : null);
  }

  /**
   * Reads a packed state, checking it.
   *
   * @throws RangeError naming the bad entry (the part's name is added by the codec).
   */
  static unpack(rule: SigmaAdaptation, v: ArrayLike<number>, n: number): SigmaAdapter {
    const per = rule.countsTies === true ? 4 : 3;
    if (v.length !== per * n) throw new RangeError(`expected ${per * n} values (${per} per tensor), got ${v.length}`);
    const a = Float32Array.from(v);
    for (let t = 0; t < n; t++) {
      const [m, s, k] = [a[t]!, a[n + t]!, a[2 * n + t]!];
      if (!Number.isFinite(m) || m <= 0) throw new RangeError(`the σ multiplier of tensor ${t} must be finite and > 0, got ${m}`);
      if (!Number.isInteger(s) || s < 0 || s >= rule.window) throw new RangeError(`the window steps of tensor ${t} must be an integer in 0…${rule.window - 1}, got ${s}`);
      if (!Number.isInteger(k) || k < 0 || k > s) throw new RangeError(`the window moves of tensor ${t} must be an integer in 0…${s}, got ${k}`);
      const tied = per === 4 ? a[3 * n + t]! : 0;
      if (!Number.isInteger(tied) || tied < 0 || tied > s) throw new RangeError(`the window ties of tensor ${t} must be an integer in 0…${s}, got ${tied}`);
    }
    return new SigmaAdapter(rule, a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(2 * n, 3 * n), per === 4 ? a.subarray(3 * n) : null);
  }

  /** The state, packed. */
  pack(): Float32Array {
    const n = this.multipliers.length;
    const out = new Float32Array((this.ties === null ? 3 : 4) * n);
    out.set(this.multipliers);
    out.set(this.steps, n);
    out.set(this.moves, 2 * n);
    if (this.ties !== null) out.set(this.ties, 3 * n);
    return out;
  }

  /**
   * Counts one step of tensor `t`; at the end of its window, updates its multiplier.
   *
   * @param t - The tensor.
   * @param moved - Whether the step kept w + Δ or w − Δ.
   * @param losses - The step's losses of w, w + Δ, w − Δ (a tie: all three equal and finite).
   */
  record(t: number, moved: boolean, losses: ArrayLike<number>): void {
    const steps = ++this.steps[t]!;
    if (moved) this.moves[t]!++;
    if (this.ties !== null && isTie(losses)) this.ties[t]!++;
    if (steps < this.rule.window) return;
    const next = this.ties === null ? this.rule.update(this.multipliers[t]!, this.moves[t]!, steps) : this.rule.update(this.multipliers[t]!, this.moves[t]!, steps, this.ties[t]!);
    if (!Number.isFinite(next) || next <= 0) throw new RangeError(`sigmaAdaptation: update must return a finite number > 0, got ${String(next)}`);
    this.multipliers[t] = next;
    this.steps[t] = 0;
    this.moves[t] = 0;
    if (this.ties !== null) this.ties[t] = 0;
  }
}

/** Whether w, w + Δ and w − Δ had the same finite loss. */
function isTie(losses: ArrayLike<number>): boolean {
  const l = losses[0]!;
  return Number.isFinite(l) && losses[1] === l && losses[2] === l;
}
