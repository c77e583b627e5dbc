import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { earlyRejection } from './early-rejection.js';

registerBuiltInPolicy('earlyRejection', 'earlyRejection', (c) => earlyRejection(p(c)));

export { earlyRejection };
export type { EarlyRejection, EarlyRejectionOptions } from './early-rejection.js';
export { normalQuantile, pairedZ, planStages, stageDecision } from './paired-test.js';
export { STAGE_SUM_LENGTH, stageSums } from '../../base/stage-sums.js';
export type { PlannedStage } from './paired-test.js';
