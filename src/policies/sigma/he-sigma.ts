import { withConfig } from '../registry.js';
import { readOptions, requireSigma } from '../../base/validate.js';
import { SCRIPT_BN_SIGMA, heOf } from './sigma-rule.js';
import type { SigmaRule, SigmaTensor } from './sigma-rule.js';

/**
 * σ = sqrt(2 / fanIn), the He scale the authors' script uses for kernels.
 *
 * @param options - `constant`: σ for tensors of a layer without a kernel, such as BN gamma and beta
 *   (default 0.167, the authors' value).
 * @returns The rule.
 * @remarks A kernel [.., out] has fanIn = the product of all its dims but the last; a bias takes its layer
 * kernel's value.
 * @see arXiv:2005.05955
 * @example
 * ```ts
 * new RSOOptimizer({ sigmaBase: heSigma() });
 * ```
 */
export function heSigma(options: { readonly constant?: number } = {}): SigmaRule {
  const constant = requireSigma('heSigma.constant', readOptions('heSigma', options, ['constant']).constant ?? SCRIPT_BN_SIGMA);
  return withConfig(
    {
      sigma(tensor: SigmaTensor, layer: readonly SigmaTensor[]): number {
        const kernel = tensor.role === 'kernel' ? tensor : layer.find((t) => t.role === 'kernel');
        return kernel === undefined ? constant : heOf(kernel.shape);
      },
    },
    { name: 'he', constant },
  );
}
