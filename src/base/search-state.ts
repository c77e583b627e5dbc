import { checkRngState } from './rng.js';
import type { RngState } from './rng.js';
import type { EncodedPart } from './state-codec.js';

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
  /**
   * With `sigmaAdaptation`: per tensor its σ multiplier, window steps and window moves (and window ties for a
   * rule with `countsTies`), encoded by σ adaptation's part (saved as `rso/sigmaAdaptation`, not in the int32
   * layout); absent leaves the adaptation as it is on restore.
   */
  readonly adapt?: Float32Array;
  /**
   * The state of each stateful policy (its {@link PolicyState}), encoded as saved (`rso/<name>`); absent in a run
   * without one, and on restore a part left out leaves that policy's state as it is.
   */
  readonly policies?: readonly EncodedPart[];
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

/** Largest value of a saved counter (they are stored as int32). */
const MAX_COUNTER = 2 ** 31 - 1;

/**
 * Checks every field of a state: the counters and the cursor are integers in 0…2^31 − 1, and the RNG state
 * is one ARC4 can reach (see {@link checkRngState}). The cursor is checked against a model when the search
 * binds.
 *
 * @param s - The state.
 * @param where - Prefix of the error messages.
 * @throws RangeError naming the field and quoting the value.
 */
export function checkSearchState(s: SearchState, where: string): void {
  if (s === null || typeof s !== 'object') throw new RangeError(`${where} must be an object, got ${String(s)}`);
  for (const key of ['cycle', 'group', 'index', 'step', 'batch'] as const) {
    const v: unknown = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_COUNTER) {
      throw new RangeError(`${where}: ${key} must be an integer in 0…${MAX_COUNTER}, got ${String(v)}`);
    }
  }
  checkRngState(s.rng, `${where}: rng`);
}

/** Unpacks {@link packState}'s output, validating its layout and every field. */
export function unpackState(v: ArrayLike<number>): SearchState {
  if (v.length !== HEADER + 256 || v[0] !== STATE_VERSION) {
    throw new RangeError(
      `RSO state: expected ${HEADER + 256} int32 values starting with version ${STATE_VERSION}, got ${v.length} values (version ${v[0]})`,
    );
  }
  const a = Array.from(v);
  const state: SearchState = {
    cycle: a[1]!,
    group: a[2]!,
    index: a[3]!,
    step: a[4]!,
    batch: a[5]!,
    rng: { i: a[6]!, j: a[7]!, S: a.slice(HEADER) },
  };
  checkSearchState(state, 'RSO state');
  return state;
}
