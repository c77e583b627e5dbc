import seedrandom from 'seedrandom';

/** Serializable state of the seeded generator (seedrandom's ARC4: two indices and a 256-byte table). */
export interface RngState {
  /** First ARC4 index (0–255). */
  readonly i: number;
  /** Second ARC4 index (0–255). */
  readonly j: number;
  /** The ARC4 permutation table: 256 bytes. */
  readonly S: readonly number[];
}

/**
 * A seeded source of uniform numbers in [0, 1), with a state that can be saved and restored exactly.
 *
 * @remarks
 * Every random draw of tfjs-rso (perturbations, shuffled layer orders, coordinate subsets) comes from an
 * `Rng`; the platform's unseeded generator is never used. The implementation is seedrandom's ARC4 generator.
 */
export interface Rng {
  /** Returns the next uniform number in [0, 1). */
  next(): number;
  /** Returns a copy of the current state. */
  state(): RngState;
}

/**
 * Creates a seeded generator.
 *
 * @param seed - Any number or string; the same seed gives the same sequence.
 * @returns A new generator.
 * @example
 * ```ts
 * const rng = createRng(42);
 * const u = rng.next(); // same value on every run
 * ```
 */
export function createRng(seed: number | string): Rng {
  return wrap(seedrandom(String(seed), { state: true }));
}

/**
 * Recreates a generator from a state returned by {@link Rng.state}.
 *
 * @param state - A saved state.
 * @returns A generator that continues exactly where the saved one stopped.
 * @example
 * ```ts
 * const a = createRng(1);
 * const b = restoreRng(a.state());
 * a.next() === b.next(); // true
 * ```
 */
export function restoreRng(state: RngState): Rng {
  if (!Array.isArray(state.S) || state.S.length !== 256) {
    throw new RangeError(`restoreRng: state.S must hold 256 entries, got ${Array.isArray(state.S) ? state.S.length : typeof state.S}`);
  }
  return wrap(seedrandom('', { state: { i: state.i, j: state.j, S: [...state.S] } }));
}

function wrap(prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>): Rng {
  return {
    next: () => prng(),
    state: () => {
      const s = prng.state();
      return { i: s.i, j: s.j, S: s.S };
    },
  };
}
