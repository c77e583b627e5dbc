import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { binaryGrid } from './binary-grid.js';
import { ternaryGrid } from './ternary-grid.js';
import { uniformGrid } from './uniform-grid.js';

registerBuiltInPolicy('weightGrid', 'binary', (c) => binaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'ternary', (c) => ternaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'uniform', (c) => uniformGrid(p(c)));

export { binaryGrid, ternaryGrid, uniformGrid };
export type { GridOptions, LayerName, WeightGrid } from './weight-grid.js';
export type { UniformGridOptions } from './uniform-grid.js';
