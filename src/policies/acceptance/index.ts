import { registerPolicy } from '../registry.js';
import { greedyAcceptance } from './greedy-acceptance.js';

registerPolicy('acceptance', 'greedy', () => greedyAcceptance());

export { greedyAcceptance };
export type { AcceptanceRule } from './greedy-acceptance.js';
