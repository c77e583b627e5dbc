/** The values of one saved state part: a 1-D int32 or float32 array. */
export type PartValues = Int32Array | Float32Array;

/**
 * One named part of a saved search state, as its owner declares it: the search core declares its own (cursor,
 * counters, generator; base σ), and a stateful policy declares one named after its kind.
 *
 * @remarks A part is saved as the weight `rso/<name>`. `decode` is the only way back, and must refuse anything
 * `encode` cannot have produced, with an error that says what is wrong (the codec adds the part's name).
 * @example
 * ```ts
 * const counter: StatePart<number> = {
 *   name: 'counter',
 *   dtype: 'int32',
 *   encode: (n) => Int32Array.of(n),
 *   decode: (v) => {
 *     if (v.length !== 1 || !Number.isInteger(v[0])) throw new RangeError(`expected 1 integer, got ${v.length} values`);
 *     return v[0]!;
 *   },
 * };
 * ```
 */
export interface StatePart<S> {
  /** The part's name: one word, unique in a state (saved as `rso/<name>`). */
  readonly name: string;
  /** How the values are stored. */
  readonly dtype: 'int32' | 'float32';
  /**
   * The state as values.
   *
   * @param state - The state.
   * @returns A new array the caller may keep.
   */
  encode(state: S): PartValues;
  /**
   * The state the values encode, checked.
   *
   * @param values - Saved values (from a tensor, a file or a worker message).
   * @returns The state.
   * @throws RangeError saying what is wrong (a length, an entry, a range); the part's name is added by the codec.
   */
  decode(values: ArrayLike<number>): S;
}

/**
 * The state a policy of any kind declares (its `state` field): a {@link StatePart} that the search saves as
 * `rso/<name>`, with the policy's current value behind `get` and `set`.
 *
 * @remarks The policy keeps its value and updates it in its own hooks. The search sets `init()` when it is made,
 * reads `get()` to save the state (`getWeights`, a worker's snapshot, and the start of each batch, for undo) and
 * calls `set` to load it, or to put back the batch's starting value when a batch is undone. A stateful policy
 * belongs to one optimizer.
 * @example
 * ```ts
 * let accepted = 0;
 * const state: PolicyState<number> = {
 *   name: 'acceptance',
 *   dtype: 'int32',
 *   init: () => 0,
 *   get: () => accepted,
 *   set: (n) => void (accepted = n),
 *   encode: (n) => Int32Array.of(n),
 *   decode: (v) => {
 *     if (v.length !== 1 || !Number.isInteger(v[0]) || v[0]! < 0) throw new RangeError(`expected 1 count, got [${Array.from(v).join(', ')}]`);
 *     return v[0]!;
 *   },
 * };
 * ```
 */
export interface PolicyState<S> extends StatePart<S> {
  /** The state of a fresh run. */
  init(): S;
  /** The policy's current state; the search encodes it at once, so the value may be mutated afterwards. */
  get(): S;
  /**
   * Replaces the policy's state.
   *
   * @param state - A value from `init` or `decode`.
   */
  set(state: S): void;
}

/** A part as saved: its weight name (`rso/<name>`), dtype and values. */
export interface EncodedPart {
  /** The weight name, `rso/<part name>`. */
  readonly name: string;
  /** How the values are stored. */
  readonly dtype: 'int32' | 'float32';
  /** The values. */
  readonly values: PartValues;
}

/** The prefix of every saved part's weight name. */
export const STATE_PREFIX = 'rso/';

/**
 * The weight name a part is saved under.
 *
 * @param name - The part's name.
 * @returns `rso/<name>`.
 */
export function partWeightName(name: string): string {
  return STATE_PREFIX + name;
}

/**
 * Encodes one part.
 *
 * @param part - The part's declaration.
 * @param state - Its state.
 * @returns The part as saved.
 * @throws RangeError when `encode` returns something other than an array of the declared dtype.
 */
export function encodePart<S>(part: StatePart<S>, state: S): EncodedPart {
  const values = part.encode(state);
  const expected = part.dtype === 'int32' ? Int32Array : Float32Array;
  if (!(values instanceof expected)) {
    throw new RangeError(`${partWeightName(part.name)}: encode must return a ${expected.name}, got ${describe(values)}`);
  }
  return { name: partWeightName(part.name), dtype: part.dtype, values };
}

/**
 * Decodes one part, naming it in any error.
 *
 * @param part - The part's declaration.
 * @param values - The saved values.
 * @returns The state.
 * @throws The error `decode` threw, its message prefixed with `rso/<name>` (a message that starts with an index,
 *   `[i] …`, reads `rso/<name>[i] …`).
 */
export function decodePart<S>(part: StatePart<S>, values: ArrayLike<number>): S {
  try {
    return part.decode(values);
  } catch (e) {
    if (e instanceof Error) e.message = `${partWeightName(part.name)}${e.message.startsWith('[') ? '' : ': '}${e.message}`;
    throw e;
  }
}

/**
 * Sorts saved weights by part: each `rso/*` weight is a declared part, or an older name of one (`aliases`), and
 * appears once; `required` parts must be there. Weights outside `rso/` (tfjs's `iter`) are left out.
 *
 * @param saved - Saved values by weight name.
 * @param declared - The names of the parts the reader declares.
 * @param required - The names of the parts that must be saved.
 * @param aliases - Older weight names by the part they now belong to (`{ 'rso/state': 'search' }`).
 * @returns The values by part name.
 * @throws RangeError naming an unknown part, a part saved twice (under its name and an older one) or a missing part.
 */
export function sortParts(
  saved: ReadonlyMap<string, ArrayLike<number>>,
  declared: readonly string[],
  required: readonly string[],
  aliases: { readonly [weight: string]: string } = {},
): Map<string, ArrayLike<number>> {
  const out = new Map<string, ArrayLike<number>>();
  for (const [weight, values] of saved) {
    if (!weight.startsWith(STATE_PREFIX)) continue;
    const name = aliases[weight] ?? weight.slice(STATE_PREFIX.length);
    if (!declared.includes(name)) {
      throw new RangeError(`unknown state part "${weight}"; this optimizer's parts are ${declared.map((d) => `"${partWeightName(d)}"`).join(', ')}`);
    }
    if (out.has(name)) throw new RangeError(`state part "${partWeightName(name)}" is saved twice (once as "${weight}")`);
    out.set(name, values);
  }
  const missing = required.filter((r) => !out.has(r));
  if (missing.length > 0) {
    throw new RangeError(`missing state part ${missing.map((m) => `"${partWeightName(m)}"`).join(', ')}; got [${[...saved.keys()].join(', ')}]`);
  }
  return out;
}

/** A short description of a value for error messages. */
function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return (v as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
}
