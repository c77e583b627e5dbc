import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { fixedSigma } from './fixed-sigma.js';
import { heSigma } from './he-sigma.js';
import { initStdSigma } from './init-std-sigma.js';

registerBuiltInPolicy('sigmaRule', 'initStd', (c) => initStdSigma(p(c)));
registerBuiltInPolicy('sigmaRule', 'he', (c) => heSigma(p(c)));
registerBuiltInPolicy('sigmaRule', 'fixed', (c) => fixedSigma(p(c)));

export { fixedSigma, heSigma, initStdSigma };
export { SCRIPT_BN_SIGMA } from './sigma-rule.js';
export type { SigmaRule, SigmaTensor } from './sigma-rule.js';
