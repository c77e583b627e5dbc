import { noParams, registerBuiltInPolicy } from '../registry.js';
import { greedyAcceptance } from './greedy-acceptance.js';

registerBuiltInPolicy('acceptance', 'greedy', (c) => (noParams('greedyAcceptance', c), greedyAcceptance()));

export { greedyAcceptance };
export type { AcceptanceRule } from './greedy-acceptance.js';
