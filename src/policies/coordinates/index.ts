import { configParams as p, registerPolicy } from '../registry.js';
import { fullSweep } from './full-sweep.js';
import { randomSubset } from './random-subset.js';

registerPolicy('coordinates', 'fullSweep', () => fullSweep());
registerPolicy('coordinates', 'randomSubset', (c) => randomSubset(p(c)));

export { fullSweep, randomSubset };
export type { CoordinateContext, CoordinateSelection } from './coordinate-selection.js';
