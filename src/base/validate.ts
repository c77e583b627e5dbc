/**
 * Quotes a value for an error message: strings in double quotes, numbers as written (NaN, Infinity),
 * objects as JSON.
 *
 * @param value - Any value.
 * @returns A short printable form.
 * @example
 * ```ts
 * quote('1'); // '"1"'
 * quote(NaN); // 'NaN'
 * ```
 */
export function quote(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  if (typeof value === 'symbol') return value.toString();
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return String(value);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(value);
  }
}

/** Throws a RangeError naming `field` unless `value` is a finite number. */
export function requireFinite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${field} must be a finite number, got ${quote(value)}`);
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

/** Throws a RangeError naming `field` unless `value` is a share: a finite number in (0, 1]. */
export function requireShare(field: string, value: unknown): number {
  const share = requireNonNegative(field, value, true);
  if (share > 1) throw new RangeError(`${field} must be ≤ 1, got ${share}`);
  return share;
}

/** Throws a RangeError naming `field` unless `value` is an integer ≥ `min` (and ≤ `max` when given). */
export function requireInteger(field: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer ≥ ${min}, got ${quote(value)}`);
  }
  if (value > max) throw new RangeError(`${field} must be an integer ≤ ${max}, got ${value}`);
  return value;
}

/** Throws a RangeError naming `field` unless `value` is a boolean. */
export function requireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new RangeError(`${field} must be true or false, got ${quote(value)}`);
  return value;
}

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Smallest normal float32, 2^-126: below it a σ is a denormal that moves no weight of any useful size. */
export const FLOAT32_MIN_NORMAL = 2 ** -126;

/** Whether `v` is a σ a run can use: a number from {@link FLOAT32_MIN_NORMAL} to {@link FLOAT32_MAX}. */
export function isSigma(v: unknown): v is number {
  return typeof v === 'number' && v >= FLOAT32_MIN_NORMAL && v <= FLOAT32_MAX;
}

/** The range of {@link isSigma}, for error messages. */
export const SIGMA_RANGE = `from ${FLOAT32_MIN_NORMAL.toExponential(3)} (the smallest normal float32) to ${FLOAT32_MAX.toExponential(3)}`;

/**
 * Throws a RangeError naming `field` unless `value` is a σ: a finite number > 0 that stays finite and normal in
 * float32 (σ is stored per tensor in float32), see {@link isSigma}.
 */
export function requireSigma(field: string, value: unknown): number {
  const v = requireNonNegative(field, value, true);
  if (!isSigma(v)) throw new RangeError(`${field} must be > 0 and finite in float32: ${SIGMA_RANGE}, got ${v}`);
  return v;
}

/** Throws a RangeError naming `field` unless `value` is an array (of anything). */
export function requireArray(field: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new RangeError(`${field} must be an array, got ${quote(value)}`);
  return value as readonly unknown[];
}

/** Lower-case letters and digits only, so that `weight_decay` meets `weightDecay`. */
function normalize(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * A "did you mean" hint: the known name closest to `name`, if it is close enough.
 *
 * @param name - The unknown name, e.g. `'form'`.
 * @param known - The accepted names.
 * @returns ` (did you mean "from"?)`, or `''` when no known name is close.
 * @remarks Names are compared in lower case without `_` and `-`, by edit distance with transpositions; a
 * known name is close when the distance is at most max(1, ⌊length / 3⌋). Ties go to the first known name.
 * @example
 * ```ts
 * suggest('form', ['from', 'to', 'steps']); // ' (did you mean "from"?)'
 * suggest('xyz', ['from', 'to', 'steps']); // ''
 * ```
 */
export function suggest(name: string, known: readonly string[]): string {
  const n = normalize(name);
  let best = '';
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(n, normalize(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== '' && bestDistance <= Math.max(1, Math.floor(n.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * Throws a RangeError for the first key of `obj` that is not in `known`, naming it and suggesting the
 * closest known key.
 *
 * @param where - What `obj` is, quoted at the start of the message (e.g. `'RSOOptimizer config'`).
 * @param obj - The object whose own keys are checked.
 * @param known - The accepted keys.
 * @param hints - Foreign names mapped to the right one, for names too far for {@link suggest} (e.g.
 *   `{ epochs: 'cycles' }`), or to a sentence saying what to do instead.
 * @throws RangeError `<where>: unknown field "<key>" (did you mean "<k>"?); known fields: …`.
 * @example
 * ```ts
 * rejectUnknown('fit args', { epochs: 1 }, ['cycles', 'batchSize'], { epochs: 'cycles' });
 * // RangeError: fit args: unknown field "epochs" (did you mean "cycles"?); known fields: cycles, batchSize
 * ```
 */
export function rejectUnknown(where: string, obj: object, known: readonly string[], hints: Readonly<Record<string, string>> = {}): void {
  const accepted = new Set(known);
  for (const key of Object.keys(obj)) {
    if (accepted.has(key)) continue;
    const hint = Object.prototype.hasOwnProperty.call(hints, key) ? hints[key] : undefined;
    // A hint is either the right name, or a sentence saying what to do instead.
    const tip = hint === undefined ? suggest(key, known) : hint.includes(' ') ? ` (${hint})` : ` (did you mean "${hint}"?)`;
    const list = known.length === 0 ? 'it takes no fields' : `known fields: ${known.join(', ')}`;
    throw new RangeError(`${where}: unknown field "${key}"${tip}; ${list}`);
  }
}

/**
 * Reads the options object of a policy factory: `undefined` gives `{}`; anything but a plain object is a
 * TypeError; unknown keys (see {@link rejectUnknown}) and null values are a RangeError.
 *
 * @param where - The factory name, e.g. `'linearSchedule'`.
 * @param options - What the caller passed.
 * @param known - The factory's option names.
 * @returns The options, typed as the factory declares them.
 * @example
 * ```ts
 * const o = readOptions<{ from?: number }>('linearSchedule', { from: 2 }, ['from', 'to', 'steps']);
 * ```
 */
export function readOptions<O extends object>(where: string, options: O | undefined, known: readonly string[]): Partial<O> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object like { ${known.join(', ')} }, got ${quote(options)}`);
  }
  rejectUnknown(where, options, known);
  for (const [key, value] of Object.entries(options)) {
    if (value === null) throw new RangeError(`${where}.${key} must be a value or left out, got null`);
  }
  return options;
}
