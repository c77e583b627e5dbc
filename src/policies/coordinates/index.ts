import { configParams as p, noParams, registerBuiltInPolicy } from '../registry.js';
import { fullSweep } from './full-sweep.js';
import { randomSubset } from './random-subset.js';
import { rankedSubset } from './ranked-subset.js';
import { policyField } from '../config-field.js';
import type { CoordinateSelection } from './coordinate-selection.js';

/** The `coordinates` field of the optimizer's config (default `fullSweep()`). */
export const coordinatesField = policyField<CoordinateSelection, 'coordinates'>('coordinates', 'coordinates', fullSweep);

registerBuiltInPolicy('coordinates', 'fullSweep', (c) => (noParams('fullSweep', c), fullSweep()));
registerBuiltInPolicy('coordinates', 'randomSubset', (c) => randomSubset(p(c)));
registerBuiltInPolicy('coordinates', 'rankedSubset', (c) => rankedSubset(p(c)));

export { fullSweep, randomSubset, rankedSubset };
export type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';
export type { RandomSubsetOptions } from './random-subset.js';
export type { RankedSubsetOptions, RankedTensor } from './ranked-subset.js';
