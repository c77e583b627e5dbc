import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { earlyRejection } from './early-rejection.js';

registerBuiltInPolicy('earlyRejection', 'earlyRejection', (c) => earlyRejection(p(c)));

export { earlyRejection };
export type { EarlyRejection, EarlyRejectionOptions } from './early-rejection.js';
export { STAGE_SUM_LENGTH, normalQuantile, pairedZ, planStages, stageDecision, stageSums } from './paired-test.js';
export type { PlannedStage } from './paired-test.js';
