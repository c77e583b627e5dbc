import { noParams, registerBuiltInPolicy } from '../registry.js';
import { greedyAcceptance } from './greedy-acceptance.js';
import { policyField } from '../config-field.js';
import type { AcceptanceRule } from './greedy-acceptance.js';

/** The `acceptance` field of the optimizer's config (default `greedyAcceptance()`). */
export const acceptanceField = policyField<AcceptanceRule, 'acceptance'>('acceptance', 'acceptance', greedyAcceptance);

registerBuiltInPolicy('acceptance', 'greedy', (c) => (noParams('greedyAcceptance', c), greedyAcceptance()));

export { greedyAcceptance };
export type { AcceptanceRule } from './greedy-acceptance.js';
