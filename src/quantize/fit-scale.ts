import { codeRange } from '../policies/grids/index.js';

/** How a quantizer chooses a scale: by minimum rounding error, or max |w| / maxCode as a converter does. */
export type ScaleFit = 'mse' | 'maxAbs';

/** A fitted scale and its rounding error. */
export interface FittedScale {
  /** The value of code 1, a float32 value > 0. */
  readonly scale: number;
  /** The sum of squared rounding errors, Σ (w − code(w) · scale)², the levels in float32. */
  readonly sse: number;
}

// Above this many rounding events (values × maxCode) the exact sweep gives way to a scan and refinement.
const EXACT_EVENTS = 4_000_000;
// Candidates of the scan: ratios of maxAbs / maxCode in (0, SCAN_TOP].
const SCAN_POINTS = 512;
const SCAN_TOP = 1.5;
// The scale of an all-zero channel: any positive step represents it exactly (binary: as ±this, the nearest).
const ZERO_SCALE = 2 ** -24;
// Ternary weight networks: threshold 0.7 · mean |w| (Li, Zhang & Liu, "Ternary Weight Networks", 2016).
const TWN_THRESHOLD = 0.7;

/** The code of `w` on the grid of `bits` bits with step `scale`: round to nearest, clipped; binary has no 0. */
export function roundCode(w: number, scale: number, bits: number): number {
  const { maxCode, zero } = codeRange(bits);
  const code = Math.max(-maxCode, Math.min(maxCode, Math.round(w / scale)));
  return code === 0 && !zero ? (w < 0 ? -1 : 1) : code;
}

/**
 * The sum of squared rounding errors of `values` at `scale`, each rounded to the nearest level `code × scale`
 * (float32), as the grid rounds it.
 *
 * @param values - The weights.
 * @param scale - The step, > 0.
 * @param bits - 1 to 8 (see {@link fittedGrid}).
 * @returns Σ (w − fround(code(w) · scale))².
 */
export function roundingError(values: ArrayLike<number>, scale: number, bits: number): number {
  let sse = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i]!;
    const d = w - Math.fround(roundCode(w, scale, bits) * scale);
    sse += d * d;
  }
  return sse;
}

/**
 * Fits the scale of one group of weights (a tensor or one output channel) for a symmetric `bits`-bit grid.
 *
 * @param values - The weights.
 * @param bits - 1 (binary), 2 (ternary) … 8.
 * @param fit - `'mse'` (default): the scale of least rounding error; `'maxAbs'`: max |w| / maxCode.
 * @returns The scale (float32) and its sum of squared rounding errors.
 * @remarks For `'mse'` the error E(s) = Σ (|w| − c(|w|, s) · s)² is piecewise quadratic in s: each |w| changes
 * code where |w| / s crosses c − ½. Sweeping those points from large s to small, with Σ |w|·c and Σ c² kept
 * running, the minimum of each piece is s* = Σ |w| c / Σ c², clamped to the piece; the least over all pieces is
 * the global minimum (binary: s = mean |w|). Above a few million crossings it scans 512 scales in
 * (0, 1.5 · max|w| / maxCode] and refines the best by alternating s = Σ w c / Σ c² and re-rounding. The
 * candidates (plus max|w| / maxCode and, for ternary, TWN's α) are compared by their float32 error, the least kept.
 * @example
 * ```ts
 * fitScale(Float32Array.of(0.9, -1.1, 0.05, 1.0), 2); // ternary: scale 1 (codes 1, −1, 0, 1)
 * ```
 */
export function fitScale(values: ArrayLike<number>, bits: number, fit: ScaleFit = 'mse'): FittedScale {
  const { maxCode, zero } = codeRange(bits);
  const abs = Float64Array.from({ length: values.length }, (_, i) => Math.abs(values[i]!));
  let maxAbs = 0;
  let sumAbs = 0;
  for (const a of abs) {
    maxAbs = Math.max(maxAbs, a);
    sumAbs += a;
  }
  if (maxAbs === 0) return { scale: ZERO_SCALE, sse: roundingError(values, ZERO_SCALE, bits) };
  const candidates = [maxAbs / maxCode];
  if (fit === 'mse') {
    if (!zero) candidates.push(sumAbs / abs.length);
    else if (abs.length * maxCode <= EXACT_EVENTS) candidates.push(exactSweep(abs, maxCode));
    else candidates.push(refine(values, bits, scan(values, bits, maxAbs / maxCode)));
    if (bits === 2) candidates.push(twnAlpha(abs, sumAbs / abs.length));
  }
  let best: FittedScale = { scale: Infinity, sse: Infinity };
  for (const c of candidates) {
    const scale = Math.fround(c);
    if (!(scale > 0) || !Number.isFinite(scale)) continue;
    const sse = roundingError(values, scale, bits);
    if (sse < best.sse) best = { scale, sse };
  }
  return best;
}

/** The exact least-error scale of the |w| in `abs` on codes 0 … maxCode (see {@link fitScale}). */
function exactSweep(abs: Float64Array, maxCode: number): number {
  // Event e: value i reaches code c (1 … maxCode) once s ≤ |w_i| / (c − ½).
  const n = abs.length;
  const at = new Float64Array(n * maxCode);
  const idx = new Uint32Array(n * maxCode);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (abs[i] === 0) continue;
    for (let c = 1; c <= maxCode; c++) {
      at[k] = abs[i]! / (c - 0.5);
      idx[k++] = i;
    }
  }
  const order = Uint32Array.from({ length: k }, (_, j) => j).sort((a, b) => at[b]! - at[a]!);
  let sac = 0;
  let scc = 0;
  let sumSq = 0;
  for (const a of abs) sumSq += a * a;
  let bestScale = abs.reduce((m, a) => Math.max(m, a), 0) / maxCode;
  let bestErr = Infinity;
  for (let j = 0; j < k; ) {
    const top = at[order[j]!]!;
    // Every event at this s: each raises its value's code by one (events of one value arrive in code order).
    while (j < k && at[order[j]!] === top) {
      const a = abs[idx[order[j]!]!]!;
      // Code c − 1 → c: Σ a·c grows by a, Σ c² by 2c − 1.
      const cNew = Math.round(a / top + 0.5);
      sac += a;
      scc += 2 * cNew - 1;
      j++;
    }
    const low = j < k ? at[order[j]!]! : 0;
    const s = Math.min(top, Math.max(low, sac / scc));
    const err = sumSq - 2 * s * sac + s * s * scc;
    if (err < bestErr) {
      bestErr = err;
      bestScale = s;
    }
  }
  return bestScale;
}

/** The best of {@link SCAN_POINTS} scales in (0, SCAN_TOP · unit]. */
function scan(values: ArrayLike<number>, bits: number, unit: number): number {
  let best = unit;
  let bestErr = Infinity;
  for (let p = 1; p <= SCAN_POINTS; p++) {
    const s = (unit * SCAN_TOP * p) / SCAN_POINTS;
    const err = roundingError(values, s, bits);
    if (err < bestErr) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

/** Alternates s = Σ w c / Σ c² and re-rounding from `start` while the error falls (at most 20 rounds). */
function refine(values: ArrayLike<number>, bits: number, start: number): number {
  let s = start;
  let err = roundingError(values, s, bits);
  for (let round = 0; round < 20; round++) {
    let swc = 0;
    let scc = 0;
    for (let i = 0; i < values.length; i++) {
      const c = roundCode(values[i]!, s, bits);
      swc += values[i]! * c;
      scc += c * c;
    }
    if (scc === 0) break;
    const next = swc / scc;
    const nextErr = roundingError(values, next, bits);
    if (!(nextErr < err)) break;
    s = next;
    err = nextErr;
  }
  return s;
}

/** TWN's α: the mean |w| over the weights above 0.7 · mean |w|. */
function twnAlpha(abs: Float64Array, meanAbs: number): number {
  const t = TWN_THRESHOLD * meanAbs;
  let sum = 0;
  let count = 0;
  for (const a of abs) {
    if (a > t) {
      sum += a;
      count++;
    }
  }
  return count === 0 ? meanAbs : sum / count;
}
