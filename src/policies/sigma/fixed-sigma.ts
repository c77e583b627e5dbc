import { withConfig } from '../registry.js';
import { readOptions, requireSigma } from '../../base/validate.js';
import type { SigmaRule } from './sigma-rule.js';

/**
 * The same σ for every tensor.
 *
 * @param options - `value`: σ, finite and > 0.
 * @returns The rule.
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaBase: fixedSigma({ value: 0.05 }) });
 * ```
 */
export function fixedSigma(options: { readonly value: number }): SigmaRule {
  const value = requireSigma('fixedSigma.value', readOptions('fixedSigma', options, ['value']).value);
  return withConfig({ sigma: () => value }, { name: 'fixed', value });
}
