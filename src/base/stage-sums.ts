// The stage sums of early rejection's paired test: pure sums over per-example losses, which the evaluators
// compute and the early-rejection policy decides from.

/**
 * What an evaluator returns for one stage, all shards combined: `[n, L0, L1, L2, S01, Q01, S02, Q02, S12, Q12]`.
 * n is the number of examples, Lk the sum of candidate k's per-example losses, and for each pair (a, b) of
 * candidates Sab = Σ (lb − la) and Qab = Σ (lb − la)², over the examples. Every entry is a sum over examples, so
 * shards combine by adding.
 */
export const STAGE_SUM_LENGTH = 10;

/** The candidate pairs in {@link STAGE_SUM_LENGTH}'s order. */
export const STAGE_PAIRS: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
];

/**
 * The stage sums of one shard from each candidate's per-example losses (see {@link STAGE_SUM_LENGTH}).
 *
 * @param perExample - One array per candidate (three), each with one loss per example of the shard's stage rows.
 * @returns The sums, to be added across shards.
 */
export function stageSums(perExample: readonly ArrayLike<number>[]): Float64Array {
  if (perExample.length !== 3) throw new RangeError(`early rejection: expected the per-example losses of 3 candidates, got ${perExample.length}`);
  const n = perExample[0]!.length;
  const out = new Float64Array(STAGE_SUM_LENGTH);
  out[0] = n;
  for (let k = 0; k < 3; k++) {
    const v = perExample[k]!;
    if (v.length !== n) throw new RangeError(`early rejection: candidate ${k} has ${v.length} per-example losses, candidate 0 has ${n}`);
    let s = 0;
    for (let e = 0; e < n; e++) s += v[e]!;
    out[1 + k] = s;
  }
  STAGE_PAIRS.forEach(([a, b], p) => {
    const va = perExample[a]!;
    const vb = perExample[b]!;
    let s = 0;
    let q = 0;
    for (let e = 0; e < n; e++) {
      const d = vb[e]! - va[e]!;
      s += d;
      q += d * d;
    }
    out[4 + 2 * p] = s;
    out[5 + 2 * p] = q;
  });
  return out;
}
