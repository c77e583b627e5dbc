import { CONFIG_FIELDS } from '../config/config.js';
import type { ResolvedConfig } from '../config/config.js';
import type { Configurable } from '../policies/registry.js';
import { decodePart, encodePart, partWeightName, sortParts } from '../base/state-codec.js';
import type { EncodedPart, PolicyState, StatePart } from '../base/state-codec.js';
import { quote } from '../base/validate.js';
import { packState, unpackState } from '../base/search-state.js';
import type { SearchState } from '../base/search-state.js';
import { isSigma, SIGMA_RANGE } from '../base/validate.js';
import { SIGMA_ADAPTATION_PART, sigmaAdaptationPart } from './sigma-adapter.js';

/**
 * The search core's own part, `rso/search` (int32): the cursor, the step and batch counts and the generator, in
 * {@link packState}'s layout. The σ adaptation field of the state is another part's.
 */
export const searchPart: StatePart<SearchState> = { name: 'search', dtype: 'int32', encode: packState, decode: unpackState };

/** The base σ of every bound tensor, `rso/sigma` (float32); each must be a σ a config accepts. */
export const sigmaPart: StatePart<Float32Array> = { name: 'sigma', dtype: 'float32', encode: (s) => s.slice(), decode: decodeSigmas };

/** The weight names older versions saved, by the part that reads them now. */
export const LEGACY_PART_NAMES: { readonly [weight: string]: string } = { 'rso/state': searchPart.name, 'rso/adapt': SIGMA_ADAPTATION_PART };

/** A search's saved state, decoded and checked. */
export interface SavedSearch {
  /** The position, with σ adaptation's encoded state when saved. */
  readonly state: SearchState;
  /** Base σ per tensor (empty for a search saved before it ever bound). */
  readonly sigmas: Float32Array;
}

/** Part names taken by the search and σ adaptation, now or in older saves. */
const RESERVED_PARTS: readonly string[] = ['search', 'sigma', SIGMA_ADAPTATION_PART, 'state', 'adapt'];

/** The methods a {@link PolicyState} has. */
const POLICY_STATE_METHODS = ['init', 'get', 'set', 'encode', 'decode'] as const;

/**
 * The state each stateful policy of `config` declares (a policy's `state`), in the order of the config's fields,
 * checked: each is a {@link PolicyState} whose name is one word, unique, and none of the search's own parts.
 *
 * @param config - A resolved config.
 * @returns The states (none for a config without a stateful policy).
 * @throws TypeError for a `state` that is not a PolicyState; RangeError for a name that is taken.
 */
export function policyStates(config: ResolvedConfig): PolicyState<unknown>[] {
  const out: PolicyState<unknown>[] = [];
  const owners = new Map<string, string>();
  for (const field of CONFIG_FIELDS) {
    if (field.kind === undefined) continue;
    for (const policy of [config[field.key as keyof ResolvedConfig]].flat()) {
      const state = (typeof policy === 'object' || typeof policy === 'function') && policy !== null ? (policy as Configurable).state : undefined;
      if (state === undefined) continue;
      checkPolicyState(field.name, state);
      const taken = RESERVED_PARTS.includes(state.name) ? 'the search\'s own' : owners.has(state.name) ? `the state of ${owners.get(state.name)!}'s policy` : null;
      if (taken !== null) throw new RangeError(`${field.name}: the policy's state part "${partWeightName(state.name)}" is ${taken}; give the state another name`);
      owners.set(state.name, field.name);
      out.push(state);
    }
  }
  return out;
}

function checkPolicyState(field: string, state: unknown): asserts state is PolicyState<unknown> {
  const s = state as Partial<PolicyState<unknown>> | null;
  const what = `${field}: the policy's state must be a PolicyState { name, dtype, init, get, set, encode, decode }`;
  if (typeof s !== 'object' || s === null) throw new TypeError(`${what}, got ${quote(state)}`);
  if (typeof s.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(s.name)) throw new TypeError(`${what}; its name must be one word, got ${quote(s.name)}`);
  if (s.dtype !== 'int32' && s.dtype !== 'float32') throw new TypeError(`${what}; its dtype must be "int32" or "float32", got ${quote(s.dtype)}`);
  const missing = POLICY_STATE_METHODS.filter((m) => typeof s[m] !== 'function');
  if (missing.length > 0) throw new TypeError(`${what}; "${s.name}" has no ${missing.join(', ')}`);
}

/**
 * The current state of each policy, encoded as saved.
 *
 * @param states - The policies' states.
 * @returns One part per state, `rso/<name>`.
 */
export function encodePolicies(states: readonly PolicyState<unknown>[]): EncodedPart[] {
  return states.map((s) => encodePart(s, s.get()));
}

/**
 * Decodes saved policy parts, each checked by its policy, before anything is set.
 *
 * @param states - The policies' states.
 * @param parts - Saved parts (`rso/<name>`); a state without one is left out.
 * @returns The states saved, with their decoded values.
 * @throws RangeError for a part no policy declares, or a value its policy refuses.
 */
export function decodePolicies(states: readonly PolicyState<unknown>[], parts: readonly EncodedPart[]): { readonly state: PolicyState<unknown>; readonly value: unknown }[] {
  if (!Array.isArray(parts)) throw new RangeError(`RSO state: policies must be an array of saved parts { name, dtype, values }, got ${quote(parts)}`);
  return parts.map((p: EncodedPart) => {
    const state = states.find((s) => partWeightName(s.name) === p.name);
    if (state === undefined) {
      const known = states.map((s) => `"${partWeightName(s.name)}"`).join(', ') || 'none';
      throw new RangeError(`unknown policy state part "${p.name}"; this optimizer's policies hold ${known}`);
    }
    return { state, value: decodePart(state, p.values) };
  });
}

/**
 * The parts of a search's state, as `getWeights` saves them and a worker thread receives them: `rso/search`,
 * `rso/sigma`, then the state of each stateful policy (`rso/sigmaAdaptation`, then each policy's own `state`).
 *
 * @param state - The search's state ({@link RSOSearch.state}).
 * @param sigmas - Base σ per tensor.
 * @returns The encoded parts, in that order.
 */
export function encodeSearch(state: SearchState, sigmas: Float32Array): EncodedPart[] {
  const parts = [encodePart(searchPart, state), encodePart(sigmaPart, sigmas)];
  // state() encoded the adapter through its part already (SigmaAdapter.pack); a copy goes out.
  const adapt = state.adapt === undefined ? [] : [encodePart(rawPart(SIGMA_ADAPTATION_PART), state.adapt)];
  const policies = (state.policies ?? []).map((p) => ({ ...p, values: p.values.slice() }));
  return [...parts, ...adapt, ...policies];
}

/**
 * Decodes the saved parts of a search under `config`, checking each: the parts `config` declares (older names
 * included, see {@link LEGACY_PART_NAMES}), `rso/search` and `rso/sigma` required.
 *
 * @param saved - Values by weight name; names outside `rso/` are ignored.
 * @param config - The config of the search that will restore them (which policies hold state).
 * @returns The state and σ, every part checked (σ adaptation against the number of σ saved).
 * @throws RangeError naming the part: unknown, missing, saved twice, or with a bad value.
 */
export function decodeSearch(saved: ReadonlyMap<string, ArrayLike<number>>, config: ResolvedConfig): SavedSearch {
  const states = policyStates(config);
  const declared = [searchPart.name, sigmaPart.name, ...(config.sigmaAdaptation === null ? [] : [SIGMA_ADAPTATION_PART]), ...states.map((s) => s.name)];
  const parts = sortParts(saved, declared, [searchPart.name, sigmaPart.name], LEGACY_PART_NAMES);
  const position = decodePart(searchPart, parts.get(searchPart.name)!);
  const sigmas = decodePart(sigmaPart, parts.get(sigmaPart.name)!);
  const adapt = parts.get(SIGMA_ADAPTATION_PART);
  const state = adapt === undefined ? position : { ...position, adapt: decodePart(sigmaAdaptationPart(config.sigmaAdaptation!, sigmas.length), adapt).pack() };
  // Each policy's part, checked by its decode and saved again as the policy encodes it.
  const policies = states.filter((s) => parts.has(s.name)).map((s) => encodePart(s, decodePart(s, parts.get(s.name)!)));
  return { state: policies.length === 0 ? state : { ...state, policies }, sigmas };
}

/** σ per tensor, each checked. */
function decodeSigmas(values: ArrayLike<number>): Float32Array {
  const sigmas = Float32Array.from(values);
  sigmas.forEach((v, i) => {
    if (!isSigma(v)) throw new RangeError(`[${i}] must be finite and > 0, got ${v} (a σ runs ${SIGMA_RANGE})`);
  });
  return sigmas;
}

/** A float32 part whose values are already encoded (copied out as they are). */
function rawPart(name: string): StatePart<Float32Array> {
  return { name, dtype: 'float32', encode: (v) => v.slice(), decode: (v) => Float32Array.from(v) };
}
