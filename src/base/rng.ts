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
  checkRngState(state, 'restoreRng: state');
  return wrap(seedrandom('', { state: { i: state.i, j: state.j, S: [...state.S] } }));
}

/**
 * Checks that `state` is a reachable ARC4 state: `i` and `j` integers in 0…255, and `S` a permutation of
 * 0…255.
 *
 * @param state - The state to check.
 * @param where - Prefix of the error messages, e.g. `'restoreRng: state'`.
 * @throws RangeError naming the field and the bad value.
 * @remarks ARC4 only ever swaps entries of its table, so every state it reaches holds a permutation. Any other
 * table can make seedrandom's draw loop forever (a table of zeros yields only zero bytes, and seedrandom
 * draws bytes until the value is not zero).
 * @example
 * ```ts
 * checkRngState(createRng(1).state(), 'state'); // no error
 * ```
 */
export function checkRngState(state: RngState, where: string): void {
  if (state === null || typeof state !== 'object') throw new RangeError(`${where} must be an object { i, j, S }, got ${String(state)}`);
  for (const key of ['i', 'j'] as const) {
    const v: unknown = state[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new RangeError(`${where}.${key} must be an integer in 0…255, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    }
  }
  const S: unknown = state.S;
  if (!Array.isArray(S) || S.length !== 256) {
    throw new RangeError(`${where}.S must hold 256 entries, got ${Array.isArray(S) ? `${S.length} entries` : typeof S}`);
  }
  const seen = new Int16Array(256).fill(-1);
  for (let k = 0; k < 256; k++) {
    const v: unknown = S[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new RangeError(`${where}.S must be a permutation of 0…255, got S[${k}] = ${String(v)}`);
    }
    if (seen[v]! >= 0) {
      throw new RangeError(`${where}.S must be a permutation of 0…255, got ${v} twice (S[${seen[v]}] and S[${k}])`);
    }
    seen[v] = k;
  }
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

/**
 * `k` distinct indices of 0 … n − 1, drawn uniformly without replacement: the first `k` places of a partial
 * Fisher–Yates shuffle driven by `rng`.
 *
 * @param rng - The generator to draw from.
 * @param n - The population size.
 * @param k - How many to draw (at most `n`).
 * @returns The indices, in the order drawn.
 * @example
 * ```ts
 * sampleIndices(createRng('seed'), 10, 3); // three distinct indices in 0…9, the same for the same seed
 * ```
 */
export function sampleIndices(rng: Rng, n: number, k: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p.slice(0, k);
}
