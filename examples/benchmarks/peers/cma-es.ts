/**
 * CMA-ES with a full covariance matrix (rank-one and rank-μ updates, cumulative step-size adaptation), with the
 * textbook default parameters. Its cost grows as d² in memory and d³ per eigendecomposition, so it is meant for
 * small problems: policies of up to about 1,000 parameters.
 *
 * @packageDocumentation
 */
import { createRng } from '../../../src/index.js';
import type { Strategy, StrategyInit } from './strategy.js';
import { checkCandidate, checkLosses, gaussian, knobs, rankOrder } from './strategy.js';

/** The knobs of {@link cmaEs}; a popSize of 0 selects 4 + ⌊3 ln d⌋. */
export const CMA_ES_DEFAULTS = {
  /** Candidates per generation λ (0: 4 + ⌊3 ln d⌋). */
  popSize: 0,
  /** Initial step size σ. */
  sigma: 0.5,
};

/** Above this dimension, CMA-ES refuses: the d×d matrix and its eigendecomposition cost too much. */
export const CMA_ES_MAX_DIM = 2000;

/**
 * Eigendecomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
 *
 * @param a - The matrix (not changed).
 * @param n - Its order.
 * @returns The eigenvalues and the eigenvectors (row-major n×n, column j the vector of value j).
 * @remarks Each rotation zeroes one off-diagonal pair: with θ = (a_qq − a_pp) / (2 a_pq), t = sign(θ) /
 * (|θ| + √(θ² + 1)), c = 1/√(t² + 1), s = t c, A ← Jᵀ A J and V ← V J. Sweeps stop when the off-diagonal sum of
 * squares is below 1e-24 of the diagonal's.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += m[p * n + p]! ** 2;
      for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    }
    if (off <= 1e-24 * diag || off === 0) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) rotate(m, v, n, p, q);
  }
  return { values: Float64Array.from({ length: n }, (_, i) => m[i * n + i]!), vectors: v };
}

function rotate(m: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = m[p * n + q]!;
  if (apq === 0) return;
  const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < n; k++) {
    const kp = m[k * n + p]!;
    const kq = m[k * n + q]!;
    m[k * n + p] = c * kp - s * kq;
    m[k * n + q] = s * kp + c * kq;
  }
  for (let k = 0; k < n; k++) {
    const pk = m[p * n + k]!;
    const qk = m[q * n + k]!;
    m[p * n + k] = c * pk - s * qk;
    m[q * n + k] = s * pk + c * qk;
  }
  for (let k = 0; k < n; k++) {
    const kp = v[k * n + p]!;
    const kq = v[k * n + q]!;
    v[k * n + p] = c * kp - s * kq;
    v[k * n + q] = s * kp + c * kq;
  }
}

/** The textbook strategy parameters for dimension n and population λ. */
function cmaParameters(n: number, lambda: number) {
  const mu = Math.floor(lambda / 2);
  const raw = Array.from({ length: mu }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
  const total = raw.reduce((a, b) => a + b, 0);
  const weights = Float64Array.from(raw, (w) => w / total);
  const muEff = 1 / weights.reduce((a, w) => a + w * w, 0);
  const cs = (muEff + 2) / (n + muEff + 5);
  const ds = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (n + 1)) - 1) + cs;
  const cc = (4 + muEff / n) / (n + 4 + (2 * muEff) / n);
  const c1 = 2 / ((n + 1.3) ** 2 + muEff);
  const cmu = Math.min(1 - c1, (2 * (muEff - 2 + 1 / muEff)) / ((n + 2) ** 2 + muEff));
  const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  // Decompose C again once its change since the last decomposition is worth it (the usual lazy update).
  const eigenEvery = Math.max(1, Math.floor(1 / (10 * n * (c1 + cmu))));
  return { mu, weights, muEff, cs, ds, cc, c1, cmu, chiN, eigenEvery };
}

/**
 * Creates a CMA-ES strategy.
 *
 * @param init - The starting mean, the seed and knob overrides ({@link CMA_ES_DEFAULTS}).
 * @returns The strategy.
 * @remarks
 * x_k = m + σ B D z_k, with C = B D² Bᵀ. After ranking, y_w = Σ_{i≤μ} w_i y_{i:λ}, m ← m + σ y_w;
 * p_σ ← (1 − c_σ) p_σ + √(c_σ (2 − c_σ) μ_eff) C^{−½} y_w; p_c ← (1 − c_c) p_c + h_σ √(c_c (2 − c_c) μ_eff) y_w;
 * C ← (1 − c₁ − c_μ) C + c₁ (p_c p_cᵀ + (1 − h_σ) c_c (2 − c_c) C) + c_μ Σ w_i y_i y_iᵀ;
 * σ ← σ exp((c_σ / d_σ)(‖p_σ‖ / E‖N(0, I)‖ − 1)).
 */
export function cmaEs(init: StrategyInit): Strategy {
  const n = init.start.length;
  if (n > CMA_ES_MAX_DIM) throw new RangeError(`cma-es: ${n} parameters is too many for a full covariance (at most ${CMA_ES_MAX_DIM}); use snes or open-es`);
  const k = knobs('cma-es', CMA_ES_DEFAULTS, init.settings);
  const lambda = k.popSize === 0 ? 4 + Math.floor(3 * Math.log(n)) : k.popSize;
  if (!Number.isInteger(lambda) || lambda < 4) throw new RangeError(`cma-es: popSize must be an integer ≥ 4, got ${lambda}`);
  const p = cmaParameters(n, lambda);
  const rng = createRng(`${init.seed}/cma-es`);
  const mean = Float64Array.from(init.start);
  const out = new Float32Array(n);
  const ys = Array.from({ length: lambda }, () => new Float64Array(n));
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) c[i * n + i] = 1;
  let b: Float64Array = Float64Array.from(c);
  let d: Float64Array = new Float64Array(n).fill(1);
  const pc = new Float64Array(n);
  const ps = new Float64Array(n);
  let sigma = k.sigma;
  let generation = 0;
  let next = lambda;
  const decompose = () => {
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c[i * n + j] = c[j * n + i] = (c[i * n + j]! + c[j * n + i]!) / 2;
    const e = symmetricEigen(c, n);
    b = e.vectors;
    d = Float64Array.from(e.values, (x) => Math.sqrt(Math.max(x, 1e-20)));
  };
  return {
    name: 'cma-es',
    dim: n,
    get generation() {
      return generation;
    },
    ask() {
      const z = new Float64Array(n);
      for (const y of ys) {
        for (let j = 0; j < n; j++) z[j] = d[j]! * gaussian(rng);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += b[i * n + j]! * z[j]!;
          y[i] = s;
        }
      }
      next = 0;
      return lambda;
    },
    candidate(kk) {
      checkCandidate('cma-es', kk, next, lambda);
      next++;
      const y = ys[kk]!;
      for (let i = 0; i < n; i++) out[i] = mean[i]! + sigma * y[i]!;
      return out;
    },
    tell(losses) {
      checkLosses('cma-es', losses, lambda);
      const order = rankOrder(losses).slice(0, p.mu).map((kk) => ys[kk]!);
      const yw = new Float64Array(n);
      order.forEach((y, i) => {
        for (let j = 0; j < n; j++) yw[j] = yw[j]! + p.weights[i]! * y[j]!;
      });
      for (let j = 0; j < n; j++) mean[j] = mean[j]! + sigma * yw[j]!;
      // C^{−½} y_w = B D⁻¹ Bᵀ y_w.
      const t = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += b[i * n + j]! * yw[i]!;
        t[j] = s / d[j]!;
      }
      const csn = Math.sqrt(p.cs * (2 - p.cs) * p.muEff);
      let psNorm = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += b[i * n + j]! * t[j]!;
        ps[i] = (1 - p.cs) * ps[i]! + csn * s;
        psNorm += ps[i]! * ps[i]!;
      }
      psNorm = Math.sqrt(psNorm);
      generation++;
      const hsig = psNorm / Math.sqrt(1 - (1 - p.cs) ** (2 * generation)) / p.chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
      const ccn = Math.sqrt(p.cc * (2 - p.cc) * p.muEff);
      for (let i = 0; i < n; i++) pc[i] = (1 - p.cc) * pc[i]! + hsig * ccn * yw[i]!;
      const keep = 1 - p.c1 - p.cmu + p.c1 * (1 - hsig) * p.cc * (2 - p.cc);
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++) {
          let rankMu = 0;
          order.forEach((y, r) => (rankMu += p.weights[r]! * y[i]! * y[j]!));
          const v = keep * c[i * n + j]! + p.c1 * pc[i]! * pc[j]! + p.cmu * rankMu;
          c[i * n + j] = v;
          c[j * n + i] = v;
        }
      }
      sigma *= Math.exp((p.cs / p.ds) * (psNorm / p.chiN - 1));
      if (generation % p.eigenEvery === 0) decompose();
      next = lambda;
    },
    solution: () => Float32Array.from(mean),
  };
}
