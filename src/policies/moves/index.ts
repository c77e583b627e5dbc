// Each move policy registers itself; a new one adds its file and one line here.
export type { MovePolicy, MoveSite } from './move-policy.js';
export * from './channel-blocks.js';
export * from './unit-moves.js';
export * from './sparse-direction.js';
