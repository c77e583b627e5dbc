import { configParams as p, noParams, registerBuiltInPolicy } from '../registry.js';
import { fullSweep } from './full-sweep.js';
import { randomSubset } from './random-subset.js';

registerBuiltInPolicy('coordinates', 'fullSweep', (c) => (noParams('fullSweep', c), fullSweep()));
registerBuiltInPolicy('coordinates', 'randomSubset', (c) => randomSubset(p(c)));

export { fullSweep, randomSubset };
export type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';
export type { RandomSubsetOptions } from './random-subset.js';
