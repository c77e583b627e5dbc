import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { successRule } from './success-rule.js';

registerBuiltInPolicy('sigmaAdaptation', 'successRule', (c) => successRule(p(c)));

export { successRule };
export type { SigmaAdaptation, SuccessRuleOptions } from './success-rule.js';
