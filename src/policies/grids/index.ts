import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { binaryGrid } from './binary-grid.js';
import { fittedGrid } from './fitted-grid.js';
import { ternaryGrid } from './ternary-grid.js';
import { uniformGrid } from './uniform-grid.js';

registerBuiltInPolicy('weightGrid', 'binary', (c) => binaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'ternary', (c) => ternaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'uniform', (c) => uniformGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'fitted', (c) => fittedGrid(p(c)));

export { binaryGrid, fittedGrid, ternaryGrid, uniformGrid };
export { codeRange } from './fitted-grid.js';
export type { FittedGridOptions, FittedSteps } from './fitted-grid.js';
export type { GridOptions, LayerName, WeightGrid } from './weight-grid.js';
export type { UniformGridOptions } from './uniform-grid.js';
