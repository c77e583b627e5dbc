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

/** Edit distance between two short strings (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = up;
    }
  }
  return row[b.length]!;
}

/**
 * A "did you mean" hint for a misspelt name: the closest known name within a third of its length, or ''.
 *
 * @param name - The unknown name.
 * @param known - The accepted names.
 * @returns ` (did you mean "x"?)`, or '' when nothing is close.
 */
export function suggest(name: string, known: readonly string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * Throws a RangeError for the first key of `obj` that is not in `known`, with a suggestion.
 *
 * @param where - What is being parsed, e.g. `rso.fit`; quoted in the error.
 * @param obj - The user's options.
 * @param known - The accepted keys.
 * @param hints - Keys that belong elsewhere, mapped to what to use instead (e.g. `epochs` → `use cycles`).
 */
export function rejectUnknown(where: string, obj: object, known: readonly string[], hints: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const hint = Object.prototype.hasOwnProperty.call(hints, key) ? ` (${hints[key]})` : suggest(key, known);
    throw new RangeError(`${where}: unknown option "${key}"${hint}; known options: ${known.join(', ')}`);
  }
}
