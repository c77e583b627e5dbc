import type { RngState } from './rng.js';

/**
 * The complete, serializable position of a search.
 *
 * @remarks With the weights, this is everything needed to continue a run exactly: the next scalar is
 * (cycle, group, index), and the next draw comes from `rng`.
 */
export interface SearchState {
  /** Cycles completed. */
  readonly cycle: number;
  /** Position of the current group in this cycle's layer order. */
  readonly group: number;
  /** Position of the next scalar in the current group's visiting list. */
  readonly index: number;
  /** RSO steps taken. */
  readonly step: number;
  /** Mini-batches consumed (the count of the `stepsPerBatch` schedule). */
  readonly batch: number;
  /** State of the seeded generator. */
  readonly rng: RngState;
}

const STATE_VERSION = 1;
const HEADER = 8;

/** Packs a state into int32 values (all fields are integers below 2^31). */
export function packState(s: SearchState): Int32Array {
  const out = new Int32Array(HEADER + 256);
  out.set([STATE_VERSION, s.cycle, s.group, s.index, s.step, s.batch, s.rng.i, s.rng.j]);
  out.set(s.rng.S, HEADER);
  return out;
}

/** Unpacks {@link packState}'s output, validating its layout. */
export function unpackState(v: ArrayLike<number>): SearchState {
  if (v.length !== HEADER + 256 || v[0] !== STATE_VERSION) {
    throw new RangeError(
      `RSO state: expected ${HEADER + 256} int32 values starting with version ${STATE_VERSION}, got ${v.length} values (version ${v[0]})`,
    );
  }
  const a = Array.from(v);
  return {
    cycle: a[1]!,
    group: a[2]!,
    index: a[3]!,
    step: a[4]!,
    batch: a[5]!,
    rng: { i: a[6]!, j: a[7]!, S: a.slice(HEADER) },
  };
}
