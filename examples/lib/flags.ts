/**
 * The integer value of command-line flag `--flag`, at least `min`.
 *
 * @throws RangeError naming the flag when the value is missing, not an integer, or below `min`.
 */
export function intFlag(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${flag} must be an integer ≥ ${min}, got ${String(value)}`);
  return n;
}

/**
 * The value of command-line flag `--flag`, a finite number above 0.
 *
 * @throws RangeError naming the flag when the value is missing, not a number, or not positive.
 */
export function positiveFlag(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`--${flag} must be a positive number, got ${String(value)}`);
  return n;
}
