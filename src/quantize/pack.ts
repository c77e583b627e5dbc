import { codeRange } from '../policies/grids/index.js';
import { quote } from '../policies/validate.js';

/** One tensor of a packed file: float32 values, or codes with their scales. */
export type PackedTensor = FloatTensor | CodedTensor;

/** A tensor stored as float32 (biases, BN parameters and moving statistics, anything not quantized). */
export interface FloatTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** A quantized tensor: value = fround(code × scales[k mod scales.length]) at row-major index k. */
export interface CodedTensor {
  readonly name: string;
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
/** The format version this module writes and reads. */
export const PACKED_FORMAT_VERSION = 1;
// Fixed header: magic (4), version (1), flags (1), tensor count (2), file length (4), CRC-32 (4).
const FIXED_HEADER = 16;
const MAX_RANK = 8;
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

/**
 * Packs tensors into one self-describing binary file: codes bit-packed, scales and float tensors as float32.
 *
 * @param tensors - The tensors, in the order the loader will assign them (a model's `weights` order).
 * @returns The file's bytes.
 * @throws RangeError naming the tensor and field when a name is over 255 UTF-8 bytes, a shape has rank > 8 or
 *   does not match the values, bits are outside 1…8, a code is outside its range, or the scales are neither 1
 *   nor one per output channel.
 * @remarks The layout is documented in docs/internals.md ("Packed weights"): a 16-byte header (magic "RSOQ",
 * version, tensor count, length, CRC-32), one record per tensor (name, shape, bits, scale layout), then each
 * tensor's data in order: float32 values, or float32 scales followed by the packed codes. Little-endian.
 * @example
 * ```ts
 * const bytes = packTensors([{ name: 'd/kernel', shape: [2, 1], bits: 2, codes: Int8Array.of(1, -1), scales: Float32Array.of(0.5) }]);
 * unpackTensors(bytes); // the same tensor back
 * ```
 */
export function packTensors(tensors: readonly PackedTensor[]): Uint8Array {
  if (tensors.length > 0xffff) throw new RangeError(`packTensors: at most 65535 tensors, got ${tensors.length}`);
  const encoder = new TextEncoder();
  const records: Uint8Array[] = [];
  let dataBytes = 0;
  tensors.forEach((t, i) => {
    const field = `packTensors: tensors[${i}] ("${t.name}")`;
    const name = encoder.encode(t.name);
    if (name.length === 0 || name.length > 255) throw new RangeError(`${field}.name must be 1 to 255 UTF-8 bytes, got ${name.length}`);
    if (t.shape.length > MAX_RANK || t.shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) throw new RangeError(`${field}.shape must be at most ${MAX_RANK} non-negative integers, got ${quote(t.shape)}`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const coded = 'codes' in t;
    const head = new Uint8Array(1 + name.length + 1 + 4 * t.shape.length + 2);
    const view = new DataView(head.buffer);
    head[0] = name.length;
    head.set(name, 1);
    let at = 1 + name.length;
    head[at++] = t.shape.length;
    for (const d of t.shape) {
      view.setUint32(at, d, true);
      at += 4;
    }
    if (coded) {
      checkCoded(t, size, field);
      head[at++] = t.bits;
      head[at++] = t.scales.length === 1 ? 0 : 1;
      dataBytes += 4 * t.scales.length + packedCodeBytes(size, t.bits);
      records.push(head.subarray(0, at));
    } else {
      if (t.values.length !== size) throw new RangeError(`${field}.values holds ${t.values.length} values, its shape [${t.shape.join(', ')}] ${size}`);
      head[at++] = 0;
      dataBytes += 4 * size;
      records.push(head.subarray(0, at));
    }
  });
  const headerBytes = FIXED_HEADER + records.reduce((s, r) => s + r.length, 0);
  const out = new Uint8Array(headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = PACKED_FORMAT_VERSION;
  out[5] = 0;
  view.setUint16(6, tensors.length, true);
  view.setUint32(8, out.length, true);
  let at = FIXED_HEADER;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  for (const t of tensors) {
    if ('codes' in t) {
      for (const s of t.scales) {
        view.setFloat32(at, s, true);
        at += 4;
      }
      at = writeCodes(out, at, t.codes, t.bits);
    } else {
      for (const v of t.values) {
        view.setFloat32(at, v, true);
        at += 4;
      }
    }
  }
  view.setUint32(12, crc32(out, FIXED_HEADER, out.length), true);
  return out;
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
 * @returns Its tensors, in file order.
 * @throws RangeError saying what is wrong: not an RSOQ file, another version, truncated (with the byte counts),
 *   a checksum mismatch (corrupted), or a record or code out of range.
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
    need(at, 2, `record ${i}`);
    const nameLength = b[at]!;
    need(at + 1, nameLength + 1, `record ${i}'s name`);
    const name = decoder.decode(b.subarray(at + 1, at + 1 + nameLength));
    at += 1 + nameLength;
    const rank = b[at++]!;
    if (rank > MAX_RANK) throw new RangeError(`unpackTensors: tensor "${name}" has rank ${rank}, above ${MAX_RANK}`);
    need(at, 4 * rank + 1, `record ${i} ("${name}")`);
    const shape = Array.from({ length: rank }, (_, d) => view.getUint32(at + 4 * d, true));
    at += 4 * rank;
    const bits = b[at++]!;
    if (bits > 8) throw new RangeError(`unpackTensors: tensor "${name}" has ${bits} bits, above 8`);
    let perChannel = false;
    if (bits > 0) {
      need(at, 1, `record ${i} ("${name}")`);
      const layout = b[at++]!;
      if (layout > 1) throw new RangeError(`unpackTensors: tensor "${name}" has scale layout ${layout} (0 per tensor, 1 per channel)`);
      perChannel = layout === 1;
    }
    records.push({ name, shape, bits, perChannel });
  }
  const out: PackedTensor[] = records.map(({ name, shape, bits, perChannel }) => {
    const size = shape.reduce((x, y) => x * y, 1);
    if (bits === 0) {
      need(at, 4 * size, `the values of "${name}"`);
      const values = Float32Array.from({ length: size }, (_, k) => view.getFloat32(at + 4 * k, true));
      at += 4 * size;
      return { name, shape, values };
    }
    const channels = perChannel ? (shape.length === 0 ? 1 : shape[shape.length - 1]!) : 1;
    need(at, 4 * channels + packedCodeBytes(size, bits), `the scales and codes of "${name}"`);
    const scales = Float32Array.from({ length: channels }, (_, c) => view.getFloat32(at + 4 * c, true));
    at += 4 * channels;
    const codes = readCodes(b, at, size, bits, name);
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
      if (byte >= 243) throw new RangeError(`unpackTensors: byte ${at + i} of "${name}" (${byte}) is not 5 ternary digits`);
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
    if (u > 2 * offset) throw new RangeError(`unpackTensors: code ${k} of "${name}" is ${u - offset}, outside −${offset}…${offset}`);
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
