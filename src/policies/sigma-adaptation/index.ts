import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { successRule } from './success-rule.js';
import { tieWidening } from './tie-widening.js';
import { optionalPolicyField } from '../config-field.js';
import type { SigmaAdaptation } from './success-rule.js';

/** The `sigmaAdaptation` field of the optimizer's config (default none). */
export const sigmaAdaptationField = optionalPolicyField<SigmaAdaptation, 'sigmaAdaptation'>('sigmaAdaptation', 'sigmaAdaptation');

registerBuiltInPolicy('sigmaAdaptation', 'successRule', (c) => successRule(p(c)));
registerBuiltInPolicy('sigmaAdaptation', 'tieWidening', (c) => tieWidening(p(c)));

export { successRule, tieWidening };
export type { SigmaAdaptation, SuccessRuleOptions } from './success-rule.js';
export type { TieWideningOptions } from './tie-widening.js';
