import { codeRange } from '../policies/grids/index.js';
import { quote } from '../base/validate.js';

/** One tensor of a packed file: float32 values, or codes with their scales. */
export type PackedTensor = FloatTensor | CodedTensor;

/**
 * A tensor stored as floats (biases, BN parameters and moving statistics, anything not quantized): float32, or
 * float16 in a file packed with `float16: true`.
 */
export interface FloatTensor {
  /** The tensor's name; `''` when read from a file packed with `names: false`. */
  readonly name: string;
  /** The tensor's shape. */
  readonly shape: readonly number[];
  /** Its values, row-major. */
  readonly values: Float32Array;
}

/** A quantized tensor: value = fround(code × scales[k mod scales.length]) at row-major index k. */
export interface CodedTensor {
  /** The tensor's name; `''` when read from a file packed with `names: false`. */
  readonly name: string;
  /** The tensor's shape. */
  readonly shape: readonly number[];
  /** 1 (binary, codes ±1), 2 (ternary, −1 … 1) or 3 … 8 (codes −(2^(bits−1) − 1) … 2^(bits−1) − 1). */
  readonly bits: number;
  /** The codes, row-major. */
  readonly codes: Int8Array;
  /** One scale for the tensor, or one per output channel (the last axis). */
  readonly scales: Float32Array;
}

/** The format's magic bytes, "RSOQ". */
const MAGIC = [0x52, 0x53, 0x4f, 0x51] as const;
/** The format version this module writes and reads (version 1, uint32 dims and always names, was never released). */
export const PACKED_FORMAT_VERSION = 2;
/** Header flag: each record starts with the tensor's name. */
const FLAG_NAMES = 1;
/** Header flag: scales and float tensors are float16, not float32. */
const FLAG_FLOAT16 = 2;
const KNOWN_FLAGS = FLAG_NAMES | FLAG_FLOAT16;
// Fixed header: magic (4), version (1), flags (1), tensor count (2), file length (4), CRC-32 (4).
const FIXED_HEADER = 16;
const MAX_RANK = 8;
// A record's kind byte: bits (0 = floats, 1–8 = codes) in the low 4 bits, this bit for one scale per channel.
const PER_CHANNEL = 0x10;
// Ternary codes, five per byte in base 3: 3^5 = 243 ≤ 256.
const TERNARY_PER_BYTE = 5;

/**
 * Bytes of `n` codes of `bits` bits, packed: binary 8 per byte, ternary 5 per byte (base 3), k bits as a
 * little-endian bit stream.
 */
export function packedCodeBytes(n: number, bits: number): number {
  if (bits === 1) return Math.ceil(n / 8);
  if (bits === 2) return Math.ceil(n / TERNARY_PER_BYTE);
  return Math.ceil((n * bits) / 8);
}

/** What a packed file holds besides the codes. */
export interface PackOptions {
  /**
   * Store each tensor's name (default `true`). Without names the loader assigns the tensors in the model's
   * `weights` order and checks only their shapes: smaller, but a model of another architecture whose shapes
   * happen to agree is not detected.
   */
  readonly names?: boolean;
  /**
   * Store scales and float tensors as float16 instead of float32 (default `false`): about half their bytes.
   * Lossless only: every scale and float value must already be a float16 value (see `roundForPacking`), or
   * packing throws.
   */
  readonly float16?: boolean;
}

/**
 * Packs tensors into one self-describing binary file: codes bit-packed, scales and float tensors as float32, or
 * as float16 with `options.float16`.
 *
 * @param tensors - The tensors, in the order the loader will assign them (a model's `weights` order).
 * @param options - Whether to store names (default yes) and float16 (default no); see {@link PackOptions}.
 * @returns The file's bytes.
 * @throws RangeError naming the tensor and field when a name is empty or over 255 UTF-8 bytes (with names), a
 *   shape has rank > 8 or does not match the values, bits are outside 1…8, a code is outside its range, the
 *   scales are neither 1 nor one per output channel, or (with `float16`) a scale or value is not a float16 value.
 * @remarks The layout is documented in docs/internals.md ("Packed weights"): a 16-byte header (magic "RSOQ",
 * version, flags, tensor count, length, CRC-32), one record per tensor (name if stored, shape as varints, bits
 * and scale layout), then each tensor's data in order: float values, or scales followed by the packed codes.
 * Little-endian.
 * @example
 * ```ts
 * const bytes = packTensors([{ name: 'd/kernel', shape: [2, 1], bits: 2, codes: Int8Array.of(1, -1), scales: Float32Array.of(0.5) }]);
 * unpackTensors(bytes); // the same tensor back
 * ```
 */
export function packTensors(tensors: readonly PackedTensor[], options: PackOptions = {}): Uint8Array {
  if (tensors.length > 0xffff) throw new RangeError(`packTensors: at most 65535 tensors, got ${tensors.length}`);
  const withNames = options.names ?? true;
  const float16 = options.float16 ?? false;
  const floatBytes = float16 ? 2 : 4;
  const encoder = new TextEncoder();
  const records: Uint8Array[] = [];
  let dataBytes = 0;
  tensors.forEach((t, i) => {
    const field = `packTensors: tensors[${i}]${t.name === '' ? '' : ` ("${t.name}")`}`;
    const name = withNames ? encoder.encode(t.name) : new Uint8Array(0);
    if (withNames && (name.length === 0 || name.length > 255)) throw new RangeError(`${field}.name must be 1 to 255 UTF-8 bytes, got ${name.length}`);
    if (t.shape.length > MAX_RANK || t.shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) throw new RangeError(`${field}.shape must be at most ${MAX_RANK} non-negative integers, got ${quote(t.shape)}`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const head = new Uint8Array((withNames ? 1 + name.length : 0) + 1 + 5 * t.shape.length + 1);
    let at = 0;
    if (withNames) {
      head[at++] = name.length;
      head.set(name, at);
      at += name.length;
    }
    head[at++] = t.shape.length;
    for (const d of t.shape) at = writeVarint(head, at, d);
    if ('codes' in t) {
      checkCoded(t, size, field);
      if (float16) checkFloat16(t.scales, `${field}.scales`);
      head[at++] = t.bits | (t.scales.length === 1 ? 0 : PER_CHANNEL);
      dataBytes += floatBytes * t.scales.length + packedCodeBytes(size, t.bits);
    } else {
      if (t.values.length !== size) throw new RangeError(`${field}.values holds ${t.values.length} values, its shape [${t.shape.join(', ')}] ${size}`);
      if (float16) checkFloat16(t.values, `${field}.values`);
      head[at++] = 0;
      dataBytes += floatBytes * size;
    }
    records.push(head.subarray(0, at));
  });
  const headerBytes = FIXED_HEADER + records.reduce((s, r) => s + r.length, 0);
  const out = new Uint8Array(headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = PACKED_FORMAT_VERSION;
  out[5] = (withNames ? FLAG_NAMES : 0) | (float16 ? FLAG_FLOAT16 : 0);
  view.setUint16(6, tensors.length, true);
  view.setUint32(8, out.length, true);
  let at = FIXED_HEADER;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  const writeFloats = (v: Float32Array) => {
    for (const x of v) {
      if (float16) view.setUint16(at, float16Bits(x), true);
      else view.setFloat32(at, x, true);
      at += floatBytes;
    }
  };
  for (const t of tensors) {
    if ('codes' in t) {
      writeFloats(t.scales);
      at = writeCodes(out, at, t.codes, t.bits);
    } else writeFloats(t.values);
  }
  view.setUint32(12, crc32(out, FIXED_HEADER, out.length), true);
  return out;
}

function checkFloat16(v: Float32Array, field: string): void {
  v.forEach((x, k) => {
    if (!sameFloat32(float16Round(x), x)) throw new RangeError(`${field}[${k}] = ${x} is not a float16 value (round the model with roundForPacking first, or pack without float16)`);
  });
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const float32Bits = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};
const sameFloat32 = (a: number, b: number): boolean => float32Bits(a) === float32Bits(b);

/** The binary16 bits nearest `x` (rounded to float32 first), ties to even; NaN becomes the quiet NaN 0x7e00. */
export function float16Bits(x: number): number {
  const b = float32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | (mant === 0 ? 0x7c00 : 0x7e00);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const rest = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa moves to the next binade, or to infinity: both are the correct rounding.
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** The value of binary16 bits `h`. */
export function float16Value(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const v = exp === 0 ? mant * 2 ** -24 : exp === 0x1f ? (mant === 0 ? Infinity : NaN) : (1 + mant / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -v : v;
}

/**
 * `x` rounded to the nearest float16 value (ties to even), as a number; values beyond ±65504 become ±Infinity.
 *
 * @example
 * ```ts
 * float16Round(0.1); // 0.0999755859375
 * ```
 */
export function float16Round(x: number): number {
  return float16Value(float16Bits(x));
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function checkCoded(t: CodedTensor, size: number, field: string): void {
  if (!Number.isInteger(t.bits) || t.bits < 1 || t.bits > 8) throw new RangeError(`${field}.bits must be an integer in 1…8, got ${quote(t.bits)}`);
  if (t.codes.length !== size) throw new RangeError(`${field}.codes holds ${t.codes.length} codes, its shape [${t.shape.join(', ')}] ${size}`);
  const channels = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1]!;
  if (t.scales.length !== 1 && t.scales.length !== channels) throw new RangeError(`${field}.scales must hold 1 scale or ${channels} (one per output channel), got ${t.scales.length}`);
  const { maxCode, zero } = codeRange(t.bits);
  t.codes.forEach((c, k) => {
    if (c < -maxCode || c > maxCode || (c === 0 && !zero)) throw new RangeError(`${field}.codes[${k}] = ${c} is outside the ${t.bits}-bit codes −${maxCode}…${maxCode}${zero ? '' : ' without 0'}`);
  });
}

function writeCodes(out: Uint8Array, at: number, codes: Int8Array, bits: number): number {
  const n = codes.length;
  if (bits === 1) {
    for (let k = 0; k < n; k++) if (codes[k]! > 0) out[at + (k >> 3)]! |= 1 << (k & 7);
    return at + packedCodeBytes(n, 1);
  }
  if (bits === 2) {
    for (let k = 0, b = 0; k < n; k += TERNARY_PER_BYTE, b++) {
      let byte = 0;
      for (let d = Math.min(TERNARY_PER_BYTE, n - k) - 1; d >= 0; d--) byte = byte * 3 + (codes[k + d]! + 1);
      out[at + b] = byte;
    }
    return at + packedCodeBytes(n, 2);
  }
  const offset = codeRange(bits).maxCode;
  for (let k = 0, bit = 0; k < n; k++, bit += bits) {
    const u = codes[k]! + offset;
    for (let j = 0; j < bits; j++) if ((u >> j) & 1) out[at + ((bit + j) >> 3)]! |= 1 << ((bit + j) & 7);
  }
  return at + packedCodeBytes(n, bits);
}

/**
 * Reads a file written by {@link packTensors}.
 *
 * @param bytes - The file.
 * @returns Its tensors, in file order; their names are `''` when the file was packed with `names: false`, and
 *   float16 scales and values come back as the float32 of the same value.
 * @throws RangeError saying what is wrong: not an RSOQ file, another version, truncated (with the byte counts),
 *   a checksum mismatch (corrupted), unknown header flags, or a record or code out of range.
 * @example
 * ```ts
 * const tensors = unpackTensors(new Uint8Array(await (await fetch('model.rsoq')).arrayBuffer()));
 * ```
 */
export function unpackTensors(bytes: Uint8Array | ArrayBuffer): PackedTensor[] {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < FIXED_HEADER) throw new RangeError(`unpackTensors: ${b.length} bytes is too short for a packed weights file (the header alone is ${FIXED_HEADER} bytes)`);
  if (MAGIC.some((m, i) => b[i] !== m)) throw new RangeError('unpackTensors: not a packed weights file (the first 4 bytes are not "RSOQ")');
  if (b[4] !== PACKED_FORMAT_VERSION) throw new RangeError(`unpackTensors: format version ${b[4]} is not supported (this library reads version ${PACKED_FORMAT_VERSION})`);
  const flags = b[5]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new RangeError(`unpackTensors: unknown flags 0x${flags.toString(16)} (this library knows 0x${KNOWN_FLAGS.toString(16)}: names, float16)`);
  const withNames = (flags & FLAG_NAMES) !== 0;
  const float16 = (flags & FLAG_FLOAT16) !== 0;
  const floatBytes = float16 ? 2 : 4;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const length = view.getUint32(8, true);
  if (b.length < length) throw new RangeError(`unpackTensors: the file is truncated: ${b.length} bytes of ${length}`);
  if (b.length > length) throw new RangeError(`unpackTensors: ${b.length - length} unexpected bytes after the file's ${length}`);
  if (crc32(b, FIXED_HEADER, length) !== view.getUint32(12, true)) throw new RangeError('unpackTensors: the checksum does not match: the file is corrupted');
  const count = view.getUint16(6, true);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const need = (at: number, n: number, what: string) => {
    if (at + n > length) throw new RangeError(`unpackTensors: ${what} runs past the end of the file (byte ${at + n} of ${length})`);
  };
  let at = FIXED_HEADER;
  const records: { name: string; shape: number[]; bits: number; perChannel: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    let name = '';
    if (withNames) {
      need(at, 1, `record ${i}`);
      const nameLength = b[at]!;
      need(at + 1, nameLength, `record ${i}'s name`);
      name = decoder.decode(b.subarray(at + 1, at + 1 + nameLength));
      at += 1 + nameLength;
    }
    const what = `record ${i}${withNames ? ` ("${name}")` : ''}`;
    need(at, 1, what);
    const rank = b[at++]!;
    if (rank > MAX_RANK) throw new RangeError(`unpackTensors: ${what} has rank ${rank}, above ${MAX_RANK}`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) {
      let v = 0;
      for (let k = 0; ; k++) {
        need(at, 1, `${what}'s shape`);
        const byte = b[at++]!;
        v += (byte & 0x7f) * 128 ** k;
        if (byte < 0x80) break;
        if (k === 4) throw new RangeError(`unpackTensors: ${what} has a dimension of more than 5 varint bytes`);
      }
      if (v > 0xffffffff) throw new RangeError(`unpackTensors: ${what} has a dimension of ${v}, above 2^32 − 1`);
      shape.push(v);
    }
    need(at, 1, what);
    const kind = b[at++]!;
    const bits = kind & 0x0f;
    const perChannel = (kind & PER_CHANNEL) !== 0;
    if (bits > 8 || (kind & ~(0x0f | PER_CHANNEL)) !== 0 || (bits === 0 && perChannel)) {
      throw new RangeError(`unpackTensors: ${what} has kind byte 0x${kind.toString(16)} (bits 0–8 in the low 4 bits, 0x10 for per-channel scales of codes)`);
    }
    records.push({ name, shape, bits, perChannel });
  }
  const readFloats = (n: number) => {
    const v = float16 ? Float32Array.from({ length: n }, (_, k) => float16Value(view.getUint16(at + 2 * k, true))) : Float32Array.from({ length: n }, (_, k) => view.getFloat32(at + 4 * k, true));
    at += floatBytes * n;
    return v;
  };
  const out: PackedTensor[] = records.map(({ name, shape, bits, perChannel }, i) => {
    const size = shape.reduce((x, y) => x * y, 1);
    const label = name === '' ? `tensor ${i}` : `"${name}"`;
    if (bits === 0) {
      need(at, floatBytes * size, `the values of ${label}`);
      return { name, shape, values: readFloats(size) };
    }
    const channels = perChannel ? (shape.length === 0 ? 1 : shape[shape.length - 1]!) : 1;
    need(at, floatBytes * channels + packedCodeBytes(size, bits), `the scales and codes of ${label}`);
    const scales = readFloats(channels);
    const codes = readCodes(b, at, size, bits, label);
    at += packedCodeBytes(size, bits);
    return { name, shape, bits, codes, scales };
  });
  if (at !== length) throw new RangeError(`unpackTensors: the tensors end at byte ${at}, the file at ${length}`);
  return out;
}

function readCodes(b: Uint8Array, at: number, n: number, bits: number, name: string): Int8Array {
  const codes = new Int8Array(n);
  if (bits === 1) {
    for (let k = 0; k < n; k++) codes[k] = (b[at + (k >> 3)]! >> (k & 7)) & 1 ? 1 : -1;
    return codes;
  }
  if (bits === 2) {
    for (let k = 0, i = 0; k < n; k += TERNARY_PER_BYTE, i++) {
      let byte = b[at + i]!;
      if (byte >= 243) throw new RangeError(`unpackTensors: byte ${at + i} of ${name} (${byte}) is not 5 ternary digits`);
      for (let d = 0; d < TERNARY_PER_BYTE && k + d < n; d++) {
        codes[k + d] = (byte % 3) - 1;
        byte = Math.floor(byte / 3);
      }
    }
    return codes;
  }
  const offset = codeRange(bits).maxCode;
  for (let k = 0, bit = 0; k < n; k++, bit += bits) {
    let u = 0;
    for (let j = 0; j < bits; j++) u |= ((b[at + ((bit + j) >> 3)]! >> ((bit + j) & 7)) & 1) << j;
    if (u > 2 * offset) throw new RangeError(`unpackTensors: code ${k} of ${name} is ${u - offset}, outside −${offset}…${offset}`);
    codes[k] = u - offset;
  }
  return codes;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zip and PNG use) of `b[from, to)`. */
function crc32(b: Uint8Array, from: number, to: number): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = from; i < to; i++) crc = crcTable[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
