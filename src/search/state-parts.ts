import type { ResolvedConfig } from '../config/config.js';
import { decodePart, encodePart, sortParts } from '../base/state-codec.js';
import type { EncodedPart, StatePart } from '../base/state-codec.js';
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

/**
 * The parts of a search's state, as `getWeights` saves them and a worker thread receives them: `rso/search`,
 * `rso/sigma`, then the state of each stateful policy (`rso/sigmaAdaptation`).
 *
 * @param state - The search's state ({@link RSOSearch.state}).
 * @param sigmas - Base σ per tensor.
 * @returns The encoded parts, in that order.
 */
export function encodeSearch(state: SearchState, sigmas: Float32Array): EncodedPart[] {
  const parts = [encodePart(searchPart, state), encodePart(sigmaPart, sigmas)];
  // state() encoded the adapter through its part already (SigmaAdapter.pack); a copy goes out.
  const adapt = state.adapt === undefined ? [] : [encodePart(rawPart(SIGMA_ADAPTATION_PART), state.adapt)];
  return [...parts, ...adapt];
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
  const declared = [searchPart.name, sigmaPart.name, ...(config.sigmaAdaptation === null ? [] : [SIGMA_ADAPTATION_PART])];
  const parts = sortParts(saved, declared, [searchPart.name, sigmaPart.name], LEGACY_PART_NAMES);
  const state = decodePart(searchPart, parts.get(searchPart.name)!);
  const sigmas = decodePart(sigmaPart, parts.get(sigmaPart.name)!);
  const adapt = parts.get(SIGMA_ADAPTATION_PART);
  if (adapt === undefined) return { state, sigmas };
  const adapter = decodePart(sigmaAdaptationPart(config.sigmaAdaptation!, sigmas.length), adapt);
  return { state: { ...state, adapt: adapter.pack() }, sigmas };
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
