import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { parabolicStep } from './parabolic-step.js';

registerBuiltInPolicy('probeReuse', 'parabolicStep', (c) => parabolicStep(p(c)));

export { parabolicStep };
export type { ParabolicStepOptions, ProbeReuse } from './parabolic-step.js';
