import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { binaryGrid } from './binary-grid.js';
import { fittedGrid } from './fitted-grid.js';
import { ternaryGrid } from './ternary-grid.js';
import { uniformGrid } from './uniform-grid.js';
import { quote } from '../../base/validate.js';
import { configField, policyConfig, readPolicy } from '../config-field.js';
import type { WeightGrid } from './weight-grid.js';

/** One grid of the `grid` field: `grid` alone, or `grid[i]` of a list. */
function readGrid(field: string, g: unknown): WeightGrid {
  if (g === undefined || g === null) throw new TypeError(`${field}: expected a weightGrid policy or its config {"name": ...}, got ${quote(g)}`);
  return readPolicy<WeightGrid>('weightGrid', field, g);
}

/** The `grid` field of the optimizer's config: one grid or a list, resolved as `grids` (default none). */
export const gridField = configField<readonly WeightGrid[], 'grid', 'grids'>({
  name: 'grid',
  key: 'grids',
  kind: 'weightGrid',
  hints: ['quantization', 'grids'],
  optional: true,
  fallback: () => [],
  parse: (value) => (Array.isArray(value) ? (value as readonly unknown[]).map((g, i) => readGrid(`grid[${i}]`, g)) : [readGrid('grid', value)]),
  serialize: (grids) => (grids.length === 0 ? undefined : grids.map((g, i) => policyConfig(`grid[${i}]`, g))),
});

registerBuiltInPolicy('weightGrid', 'binary', (c) => binaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'ternary', (c) => ternaryGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'uniform', (c) => uniformGrid(p(c)));
registerBuiltInPolicy('weightGrid', 'fitted', (c) => fittedGrid(p(c)));

export { binaryGrid, fittedGrid, ternaryGrid, uniformGrid };
export { codeRange } from './fitted-grid.js';
export type { FittedGridOptions, FittedSteps } from './fitted-grid.js';
export type { GridOptions, LayerName, WeightGrid } from './weight-grid.js';
export type { UniformGridOptions } from './uniform-grid.js';
