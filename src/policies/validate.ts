/** Throws a RangeError naming `field` unless `value` is a finite number. */
export function requireFinite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${field} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Throws a RangeError naming `field` unless `value` is a finite number ≥ 0 (or > 0 when `strict`). */
export function requireNonNegative(field: string, value: unknown, strict = false): number {
  const v = requireFinite(field, value);
  if (strict ? v <= 0 : v < 0) {
    throw new RangeError(`${field} must be ${strict ? '> 0' : '≥ 0'}, got ${v}`);
  }
  return v;
}

/** Throws a RangeError naming `field` unless `value` is an integer ≥ `min`. */
export function requireInteger(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Throws a RangeError naming `field` unless `value` is a boolean. */
export function requireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new RangeError(`${field} must be true or false, got ${String(value)}`);
  return value;
}
