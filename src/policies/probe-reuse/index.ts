import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { parabolicStep } from './parabolic-step.js';
import { optionalPolicyField } from '../config-field.js';
import type { ConfigField } from '../config-field.js';
import type { ProbeReuse } from './parabolic-step.js';

/** The `probeReuse` field of the optimizer's config (default none); it cannot be combined with `earlyRejection`. */
export const probeReuseField: ConfigField<ProbeReuse | null, 'probeReuse'> = {
  ...optionalPolicyField<ProbeReuse, 'probeReuse'>('probeReuse', 'probeReuse'),
  check: (value, resolved) => {
    if (value !== null && resolved['earlyRejection'] !== null && resolved['earlyRejection'] !== undefined) {
      throw new RangeError('probeReuse: cannot be combined with earlyRejection (a step decided on part of the batch has no full-batch losses to reuse); leave one of them out');
    }
  },
};

registerBuiltInPolicy('probeReuse', 'parabolicStep', (c) => parabolicStep(p(c)));

export { parabolicStep };
export type { ParabolicStepOptions, ProbeReuse } from './parabolic-step.js';
