import type { Configurable } from '../registry.js';

/**
 * A schedule maps a count (a cycle index, a batch index) to a value.
 *
 * @remarks
 * Any plain function `(count) => number` is a schedule. Built-ins also receive the `horizon` (the planned
 * number of counts, e.g. the optimizer's `cycles`) so that they can stretch over it when no length was
 * given, and carry a `config` so that they serialize.
 * @example
 * ```ts
 * const halving: Schedule = (count) => 0.5 ** count;
 * ```
 */
export type Schedule = ((count: number, horizon?: number) => number) & Configurable;
