import { optionalPolicyField } from '../config-field.js';
import type { MovePolicy } from './move-policy.js';

/** The `moves` field of the optimizer's config (default none: scalar steps). */
export const movesField = optionalPolicyField<MovePolicy, 'moves'>('moves', 'moves');
