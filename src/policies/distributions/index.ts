import { configParams as p, registerPolicy } from '../registry.js';
import { discreteDistribution } from './discrete-distribution.js';
import { laplaceDistribution } from './laplace-distribution.js';
import { normalDistribution } from './normal-distribution.js';
import { rademacherDistribution } from './rademacher-distribution.js';
import { uniformDistribution } from './uniform-distribution.js';

registerPolicy('distribution', 'normal', () => normalDistribution());
registerPolicy('distribution', 'uniform', () => uniformDistribution());
registerPolicy('distribution', 'laplace', () => laplaceDistribution());
registerPolicy('distribution', 'rademacher', () => rademacherDistribution());
registerPolicy('distribution', 'discrete', (c) => discreteDistribution(p(c)));

export { discreteDistribution, laplaceDistribution, normalDistribution, rademacherDistribution, uniformDistribution };
export type { PerturbationDistribution } from './distribution.js';
