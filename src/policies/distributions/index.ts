import { configParams as p, noParams, registerBuiltInPolicy } from '../registry.js';
import { discreteDistribution } from './discrete-distribution.js';
import { laplaceDistribution } from './laplace-distribution.js';
import { normalDistribution } from './normal-distribution.js';
import { rademacherDistribution } from './rademacher-distribution.js';
import { uniformDistribution } from './uniform-distribution.js';
import { policyField } from '../config-field.js';
import type { PerturbationDistribution } from './distribution.js';

/** The `distribution` field of the optimizer's config (default `normalDistribution()`). */
export const distributionField = policyField<PerturbationDistribution, 'distribution'>('distribution', 'distribution', normalDistribution, { hints: ['noise'] });

registerBuiltInPolicy('distribution', 'normal', (c) => (noParams('normalDistribution', c), normalDistribution()));
registerBuiltInPolicy('distribution', 'uniform', (c) => (noParams('uniformDistribution', c), uniformDistribution()));
registerBuiltInPolicy('distribution', 'laplace', (c) => (noParams('laplaceDistribution', c), laplaceDistribution()));
registerBuiltInPolicy('distribution', 'rademacher', (c) => (noParams('rademacherDistribution', c), rademacherDistribution()));
registerBuiltInPolicy('distribution', 'discrete', (c) => discreteDistribution(p(c)));

export { discreteDistribution, laplaceDistribution, normalDistribution, rademacherDistribution, uniformDistribution };
export type { PerturbationDistribution } from './distribution.js';
