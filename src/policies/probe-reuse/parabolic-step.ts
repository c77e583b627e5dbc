import { withConfig } from '../registry.js';
import type { Configurable } from '../registry.js';
import { readOptions, requireNonNegative } from '../../base/validate.js';

/**
 * Reuses a step's three probes to choose where the weight goes along the step's direction, instead of keeping the
 * best of the three.
 */
export interface ProbeReuse extends Configurable {
  /** The largest |t| {@link ProbeReuse.position} returns, in units of Δ. */
  readonly maxStep: number;
  /**
   * Where to move, as t in units of Δ (the weight becomes w + t · Δ), or null to keep the acceptance rule's choice.
   *
   * @param losses - The losses of w, w + Δ and w − Δ.
   */
  position(losses: ArrayLike<number>): number | null;
}

/** Options of {@link parabolicStep}. */
export interface ParabolicStepOptions {
  /** The largest move, in units of Δ (default 1: the vertex is used only between w − Δ and w + Δ). */
  readonly maxStep?: number;
}

/**
 * The vertex of the parabola through a step's three probes: with L₀, L₊, L₋ the losses at w, w + Δ, w − Δ, the
 * loss along the direction is about L₀ + g·t + c·t²/2 (t in units of Δ), with slope g = (L₊ − L₋)/2 and curvature
 * c = L₊ + L₋ − 2L₀. When c > 0 the weight moves to the minimum t = −g/c, clamped to ±`maxStep`; otherwise the
 * acceptance rule chooses among the three probes as usual.
 *
 * @remarks This is the free coordinate-gradient estimate (L₊ − L₋)/2Δ, scaled by the measured curvature: one
 * Newton step along the probe direction. No extra loss is evaluated, so the step's reported loss is the best
 * probe's, not the loss at the new value. σ adaptation still counts a step as moving when a probe beat w.
 * Weights on a grid keep their grid steps.
 * @param options - `maxStep`.
 * @returns The policy, for {@link RSOConfig.probeReuse}.
 * @example
 * ```ts
 * new RSOOptimizer({ probeReuse: parabolicStep() });
 * ```
 */
export function parabolicStep(options: ParabolicStepOptions = {}): ProbeReuse {
  const o = readOptions<ParabolicStepOptions>('parabolicStep', options, ['maxStep']);
  const maxStep = requireNonNegative('parabolicStep.maxStep', o.maxStep ?? 1, true);
  return withConfig(
    {
      maxStep,
      position(losses: ArrayLike<number>): number | null {
        const l0 = losses[0]!;
        const curvature = losses[1]! + losses[2]! - 2 * l0;
        if (!(curvature > 0) || !Number.isFinite(curvature)) return null;
        const t = (losses[2]! - losses[1]!) / (2 * curvature);
        return Math.min(maxStep, Math.max(-maxStep, t));
      },
    },
    { name: 'parabolicStep', maxStep },
  );
}
