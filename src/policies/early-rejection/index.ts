import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { earlyRejection } from './early-rejection.js';
import { optionalPolicyField } from '../config-field.js';
import type { EarlyRejection } from './early-rejection.js';

/** The `earlyRejection` field of the optimizer's config (default none). */
export const earlyRejectionField = optionalPolicyField<EarlyRejection, 'earlyRejection'>('earlyRejection', 'earlyRejection');

registerBuiltInPolicy('earlyRejection', 'earlyRejection', (c) => earlyRejection(p(c)));

export { earlyRejection };
export type { EarlyRejection, EarlyRejectionOptions } from './early-rejection.js';
export { normalQuantile, pairedZ, planStages, stageDecision } from './paired-test.js';
export { STAGE_SUM_LENGTH, stageSums } from '../../base/stage-sums.js';
export type { PlannedStage } from './paired-test.js';
