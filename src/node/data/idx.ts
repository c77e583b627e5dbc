/**
 * Parser for the IDX file format (the format of the MNIST files).
 *
 * Layout (Y. LeCun, C. Cortes, C. Burges, "The MNIST database", yann.lecun.com/exdb/mnist):
 *   bytes 0-1   zero
 *   byte  2     element type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
 *   byte  3     number of dimensions d
 *   next 4*d    dimension sizes, each an unsigned 32-bit big-endian integer
 *   rest        the elements in row-major (C) order, multi-byte elements big-endian
 *
 * @packageDocumentation
 */

/** Element type of an IDX file, named after the matching typed array. */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array that holds the elements of an IDX file. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: element type, shape and the elements in row-major order. */
export interface IdxArray {
  /** Element type named in the file's magic number. */
  readonly dtype: IdxDType;
  /** Dimension sizes, outermost first. */
  readonly shape: number[];
  /** The elements, row-major, in host byte order; `data.length` is the product of `shape`. */
  readonly data: IdxData;
}

interface IdxTypeInfo {
  readonly dtype: IdxDType;
  readonly bytes: number;
}

// IDX type codes: yann.lecun.com/exdb/mnist, "THE IDX FILE FORMAT".
const IDX_TYPES: ReadonlyMap<number, IdxTypeInfo> = new Map<number, IdxTypeInfo>([
  [0x08, { dtype: 'uint8', bytes: 1 }],
  [0x09, { dtype: 'int8', bytes: 1 }],
  [0x0b, { dtype: 'int16', bytes: 2 }],
  [0x0c, { dtype: 'int32', bytes: 4 }],
  [0x0d, { dtype: 'float32', bytes: 4 }],
  [0x0e, { dtype: 'float64', bytes: 8 }],
]);

function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

/**
 * Decodes an IDX file held in memory.
 *
 * @param bytes - The whole file, header included (a Node `Buffer` works too).
 * @returns The element type, the shape and the elements. For the 8-bit types (`uint8`, `int8`) `data`
 *   is a view that shares memory with `bytes` (no copy); the multi-byte types are decoded from big-endian
 *   into a new array.
 * @throws TypeError if the magic number names an unknown element type.
 * @throws RangeError if the magic number does not start with two zero bytes, the dimension count is 0,
 *   the header is cut short, or the byte length does not match the shape exactly.
 *
 * @remarks
 * The file length must equal `4 + 4·d + bytesPerElement · ∏ shape` exactly; trailing bytes are an error,
 * not ignored, because they usually mean a wrong or corrupted file.
 *
 * @example
 * ```ts
 * // a 2x2 uint8 matrix: magic 0x00000802, dims 2 and 2, then the elements
 * const file = new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
 * const { dtype, shape, data } = parseIdx(file);
 * // dtype === 'uint8', shape = [2, 2], data = Uint8Array [1, 2, 3, 4]
 * ```
 */
export function parseIdx(bytes: Uint8Array): IdxArray {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`IDX: expected a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  }
  if (bytes.length < 4) {
    throw new RangeError(`IDX: need at least 4 bytes for the magic number, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (view.getUint16(0, false) !== 0) {
    throw new RangeError(`IDX: magic number must start with two zero bytes, got ${hex(magic, 8)}`);
  }
  const typeCode = view.getUint8(2);
  const info = IDX_TYPES.get(typeCode);
  if (info === undefined) {
    throw new TypeError(
      `IDX: unknown element type code ${hex(typeCode, 2)} in magic number ${hex(magic, 8)} ` +
        '(expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)',
    );
  }
  const rank = view.getUint8(3);
  if (rank === 0) {
    throw new RangeError(`IDX: dimension count must be at least 1, got 0 in magic number ${hex(magic, 8)}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new RangeError(
      `IDX: header declares ${rank} dimensions and needs ${headerBytes} bytes, got ${bytes.length}`,
    );
  }

  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  const shapeText = `[${shape.join(',')}]`;
  const dataBytes = count * info.bytes;
  if (!Number.isSafeInteger(headerBytes + dataBytes)) {
    throw new RangeError(`IDX: shape ${shapeText} of ${info.dtype} is too large (${count} elements)`);
  }
  const expected = headerBytes + dataBytes;
  if (bytes.length !== expected) {
    throw new RangeError(
      `IDX: expected ${expected} bytes (${headerBytes} header + ${dataBytes} data) for shape ${shapeText} ` +
        `of ${info.dtype}, got ${bytes.length}`,
    );
  }

  return { dtype: info.dtype, shape, data: decode(info.dtype, bytes, view, headerBytes, count) };
}

function decode(dtype: IdxDType, bytes: Uint8Array, view: DataView, offset: number, count: number): IdxData {
  switch (dtype) {
    case 'uint8':
      return bytes.subarray(offset, offset + count);
    case 'int8':
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}
