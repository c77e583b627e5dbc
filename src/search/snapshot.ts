import { parseConfig, serializeConfig } from '../config/config.js';
import type { ConfigValue } from '../base/policy-config.js';
import type { EncodedPart } from '../base/state-codec.js';
import { RSOSearch } from './rso-search.js';
import { decodeSearch, encodeSearch } from './state-parts.js';
import type { WeightTensorInfo } from '../base/weight-groups.js';

/** A search in plain data: its config as JSON and its state parts as `getWeights` saves them (what a worker thread gets). */
export interface SearchSnapshot {
  /** The config, as `RSOOptimizer.getConfig` gives it. */
  readonly config: { readonly [key: string]: ConfigValue };
  /** The state parts (`rso/search`, `rso/sigma`, and one per stateful policy), through the same codec as a save. */
  readonly parts: readonly EncodedPart[];
}

/**
 * The snapshot of a bound search.
 *
 * @throws TypeError when a policy has no config (a custom policy that is not registered).
 */
export function snapshotOf(search: RSOSearch): SearchSnapshot {
  if (search.baseSigmas === null) throw new Error('snapshotOf: the search is not bound');
  return { config: serializeConfig(search.config), parts: encodeSearch(search.state(), search.baseSigmas) };
}

/** Rebuilds a bound search from a snapshot, checking every part, for the same tensors. */
export function searchFromSnapshot(snapshot: SearchSnapshot, tensors: readonly WeightTensorInfo[], values: (i: number) => Float32Array): RSOSearch {
  const search = new RSOSearch(parseConfig(snapshot.config));
  const saved = decodeSearch(new Map(snapshot.parts.map((p) => [p.name, p.values])), search.config);
  search.restore(saved.state);
  search.bind(tensors, values, saved.sigmas);
  return search;
}
