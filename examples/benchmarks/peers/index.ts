/**
 * The gradient-free peers, by the name the benchmark's `--method` takes.
 *
 * @packageDocumentation
 */
import { cmaEs } from './cma-es.js';
import { forwardDiff } from './forward-diff.js';
import { genetic } from './genetic.js';
import { openEs } from './open-es.js';
import { snes } from './snes.js';
import { spsa } from './spsa.js';
import type { Strategy, StrategyInit } from './strategy.js';

/** What a peer's factory takes: {@link StrategyInit}, plus the sizes of the parameter groups (layers). */
export type PeerInit = StrategyInit & { readonly groups?: readonly number[] };

/** Each peer's factory, by name. */
export const PEERS: Readonly<Record<string, (init: PeerInit) => Strategy>> = {
  'open-es': openEs,
  snes,
  'cma-es': cmaEs,
  spsa,
  'forward-diff': forwardDiff,
  genetic,
};

/** The names of the peers. */
export const PEER_NAMES = Object.keys(PEERS);

/**
 * Creates the peer called `name`.
 *
 * @throws RangeError naming the known peers when `name` is not one.
 */
export function createPeer(name: string, init: PeerInit): Strategy {
  const make = PEERS[name];
  if (make === undefined) throw new RangeError(`unknown peer "${name}"; the peers are ${PEER_NAMES.join(', ')}`);
  return make(init);
}

export type { Strategy, StrategyInit } from './strategy.js';
export { runGeneration } from './strategy.js';
export { flatLayout, readFlat, writeFlat } from './flat-weights.js';
export type { FlatLayout } from './flat-weights.js';
