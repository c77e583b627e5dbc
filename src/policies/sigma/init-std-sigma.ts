import { withConfig } from '../registry.js';
import { readOptions, requireSigma } from '../../base/validate.js';
import { SCRIPT_BN_SIGMA, stdOf } from './sigma-rule.js';
import type { SigmaRule, SigmaTensor } from './sigma-rule.js';

/**
 * σ = the standard deviation of the tensor's initial values (the paper's Algorithm 1), with a rule for
 * constant-initialised tensors.
 *
 * @param options - `constant`: σ for a constant tensor whose layer has no kernel to borrow from
 *   (default 0.167, the authors' value for BN gamma and beta).
 * @returns The rule.
 * @remarks
 * - a tensor with std > 0: σ = std(initial values);
 * - a constant tensor (a bias, BN beta or gamma) in a layer with a kernel: σ = std of that kernel;
 * - otherwise: σ = `constant`.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaBase: initStdSigma({ constant: 0.1 }) });
 * ```
 */
export function initStdSigma(options: { readonly constant?: number } = {}): SigmaRule {
  const constant = requireSigma('initStdSigma.constant', readOptions('initStdSigma', options, ['constant']).constant ?? SCRIPT_BN_SIGMA);
  return withConfig(
    {
      sigma(tensor: SigmaTensor, layer: readonly SigmaTensor[]): number {
        const own = stdOf(tensor.values);
        if (own > 0) return own;
        const kernel = layer.find((t) => t.role === 'kernel' && t !== tensor);
        const borrowed = kernel === undefined ? 0 : stdOf(kernel.values);
        return borrowed > 0 ? borrowed : constant;
      },
    },
    { name: 'initStd', constant },
  );
}
