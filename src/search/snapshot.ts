import { parseConfig, serializeConfig } from '../config/config.js';
import type { ConfigValue } from '../base/policy-config.js';
import { RSOSearch } from './rso-search.js';
import { packState, unpackState } from '../base/search-state.js';
import type { WeightTensorInfo } from '../base/weight-groups.js';

/** A search in plain data: its config as JSON, its packed state and σ per tensor (what a worker thread gets). */
export interface SearchSnapshot {
  /** The config, as `RSOOptimizer.getConfig` gives it. */
  readonly config: { readonly [key: string]: ConfigValue };
  /** The state, packed as `rso/state` is saved. */
  readonly state: Int32Array;
  /** Base σ per tensor. */
  readonly sigmas: Float32Array;
  /** The σ adaptation state, with `sigmaAdaptation`. */
  readonly adapt?: Float32Array;
}

/**
 * The snapshot of a bound search.
 *
 * @throws TypeError when a policy has no config (a custom policy that is not registered).
 */
export function snapshotOf(search: RSOSearch): SearchSnapshot {
  if (search.baseSigmas === null) throw new Error('snapshotOf: the search is not bound');
  const state = search.state();
  const snapshot = { config: serializeConfig(search.config), state: packState(state), sigmas: search.baseSigmas.slice() };
  return state.adapt === undefined ? snapshot : { ...snapshot, adapt: state.adapt };
}

/** Rebuilds a bound search from a snapshot, checking every field, for the same tensors. */
export function searchFromSnapshot(snapshot: SearchSnapshot, tensors: readonly WeightTensorInfo[], values: (i: number) => Float32Array): RSOSearch {
  const search = new RSOSearch(parseConfig(snapshot.config));
  const state = unpackState(snapshot.state);
  search.restore(snapshot.adapt === undefined ? state : { ...state, adapt: snapshot.adapt });
  search.bind(tensors, values, snapshot.sigmas);
  return search;
}
