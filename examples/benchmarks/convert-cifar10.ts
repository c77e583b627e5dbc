/**
 * One-off converter: the project's JPEG copy of CIFAR-10 (`cifar10-jpeg.tar.gz`) → the official binary
 * format (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`), so that `loadCifar10` reads it.
 *
 *   npx tsx examples/benchmarks/convert-cifar10.ts [--archive <tar.gz>] [--out <dir>] [--force]
 *
 * Defaults: `--archive /work/shared/data/cifar10/cifar10-jpeg.tar.gz`, `--out .cache/cifar10` (in the
 * repository root, git-ignored). The script checks the archive's sha256, reads the tar.gz in memory
 * (node:zlib plus the small tar reader below), decodes every JPEG with `jpeg-js` and writes records of
 * 1 label byte + 1024 red + 1024 green + 1024 blue bytes (each plane row-major). It is idempotent: if the
 * six files are already there with the right sizes it only re-checks them; `--force` rebuilds them.
 * At the end it loads the result with `loadCifar10` and prints the per-channel train means and the label
 * histograms.
 *
 * Record order (deterministic, every batch holds all ten classes): training record r is image
 * `floor(r / 10)` of class `r % 10`, so data_batch_b holds images 1000·(b−1) … 1000·b − 1 of every class,
 * interleaved airplane, automobile, …, truck. The test batch uses the same rule (image `floor(r / 10)` of
 * class `r % 10`). Labels follow the official release order (CIFAR10_CLASSES).
 *
 * The pixels are JPEG-decoded, so they differ slightly from the official release: report figures measured
 * on them as "CIFAR-10, JPEG copy".
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decode as decodeJpeg } from 'jpeg-js';
import { CIFAR10_CLASSES, cifar10ChannelMeans, loadCifar10 } from '../../src/node/data/cifar10.js';

// Archive and its checksum: /work/shared/data/cifar10/README.md.
const DEFAULT_ARCHIVE = '/work/shared/data/cifar10/cifar10-jpeg.tar.gz';
const ARCHIVE_SHA256 = 'd27bec5dc562e402c56d2c251e18530b97dbbacd42b7e35353eef8a88020f964';
const DEFAULT_OUT = fileURLToPath(new URL('../../.cache/cifar10/', import.meta.url));

// Binary format and split sizes: www.cs.toronto.edu/~kriz/cifar.html ("Binary version").
const SIDE = 32;
const PLANE = SIDE * SIDE; // 1024
const RECORD = 1 + 3 * PLANE; // 3073
const CLASSES = CIFAR10_CLASSES.length; // 10
const TRAIN_PER_CLASS = 5000;
const TEST_PER_CLASS = 1000;
const RECORDS_PER_BATCH = 10_000;
const TRAIN_BATCHES = 5;
const BATCH_BYTES = RECORDS_PER_BATCH * RECORD; // 30,730,000
const OUTPUT_FILES = [...Array.from({ length: TRAIN_BATCHES }, (_, b) => `data_batch_${b + 1}.bin`), 'test_batch.bin'];

const { values } = parseArgs({
  options: {
    archive: { type: 'string', default: DEFAULT_ARCHIVE },
    out: { type: 'string', default: DEFAULT_OUT },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npx tsx examples/benchmarks/convert-cifar10.ts [--archive <tar.gz>] [--out <dir>] [--force]');
  process.exit(0);
}
const archivePath = resolve(values.archive);
const outDir = resolve(values.out);

const t0 = performance.now();
const seconds = (from: number): string => `${((performance.now() - from) / 1000).toFixed(1)} s`;

if (!values.force && (await outputsComplete(outDir))) {
  console.log(`${outDir} already holds the six CIFAR-10 binary files with the expected sizes; nothing to do.`);
  console.log('Pass --force to rebuild them from the archive.');
} else {
  await convert(archivePath, outDir);
  console.log(`converted in ${seconds(t0)} in all`);
}
await summarize(outDir);

// ---------------------------------------------------------------------------------------------------------

async function convert(archive: string, out: string): Promise<void> {
  let t = performance.now();
  const gz = await readFile(archive);
  const digest = createHash('sha256').update(gz).digest('hex');
  if (digest !== ARCHIVE_SHA256) {
    throw new Error(`${archive}: sha256 is ${digest}, expected ${ARCHIVE_SHA256}; not the CIFAR-10 JPEG copy`);
  }
  console.log(`${archive}: ${gz.length.toLocaleString('en-US')} bytes, sha256 verified (${digest})`);

  const tar = gunzipSync(gz);
  const train = newTable(TRAIN_PER_CLASS);
  const test = newTable(TEST_PER_CLASS);
  let entries = 0;
  for (const entry of tarEntries(tar)) {
    if (entry.type !== 'file') continue;
    entries++;
    const match = /^(?:\.\/)?(train|test)\/([a-z]+)\/(\d+)\.jpg$/.exec(entry.path);
    if (match === null) throw new Error(`unexpected file in the archive: ${JSON.stringify(entry.path)}`);
    const [, split, className, indexText] = match as unknown as [string, 'train' | 'test', string, string];
    const label = (CIFAR10_CLASSES as readonly string[]).indexOf(className);
    if (label < 0) throw new Error(`unknown class ${JSON.stringify(className)} in ${entry.path}`);
    const table = split === 'train' ? train : test;
    const index = Number(indexText);
    const slots = table[label] as Array<Uint8Array | undefined>;
    if (index >= slots.length) throw new RangeError(`${entry.path}: image index ${index} is out of range 0..${slots.length - 1}`);
    if (slots[index] !== undefined) throw new Error(`${entry.path} appears twice in the archive`);
    slots[index] = entry.data;
  }
  console.log(`gunzip + tar: ${tar.length.toLocaleString('en-US')} bytes, ${entries} files in ${seconds(t)}`);

  await mkdir(out, { recursive: true });
  t = performance.now();
  for (let b = 0; b < TRAIN_BATCHES; b++) {
    await writeBatch(join(out, OUTPUT_FILES[b] as string), train, b * (RECORDS_PER_BATCH / CLASSES), 'train');
  }
  await writeBatch(join(out, 'test_batch.bin'), test, 0, 'test');
  console.log(`decoded and wrote ${6 * RECORDS_PER_BATCH} images in ${seconds(t)}`);
  await writeFile(
    join(out, 'SOURCE.txt'),
    [
      `Built by examples/benchmarks/convert-cifar10.ts from ${archive}`,
      `(sha256 ${ARCHIVE_SHA256}), the JPEG copy of CIFAR-10: report results as "CIFAR-10, JPEG copy".`,
      'Record r of each file is image floor(r / 10) of class r % 10; data_batch_b holds images',
      '1000(b-1) .. 1000b-1 of every class, test_batch holds images 0 .. 999 of every class.',
      '',
    ].join('\n'),
  );
}

/** Decoded-image slots per class: `table[label][index]` is the JPEG of that image. */
type Table = Array<Array<Uint8Array | undefined>>;

function newTable(perClass: number): Table {
  return Array.from({ length: CLASSES }, () => new Array<Uint8Array | undefined>(perClass).fill(undefined));
}

/**
 * Writes one batch file: record r is image `firstIndex + floor(r / 10)` of class `r % 10`. The file is
 * written under a temporary name and renamed, so an interrupted run never leaves a full-size partial file.
 */
async function writeBatch(path: string, table: Table, firstIndex: number, split: string): Promise<void> {
  const t = performance.now();
  const bytes = new Uint8Array(BATCH_BYTES);
  for (let r = 0; r < RECORDS_PER_BATCH; r++) {
    const label = r % CLASSES;
    const index = firstIndex + Math.floor(r / CLASSES);
    const jpeg = (table[label] as Array<Uint8Array | undefined>)[index];
    const name = `${split}/${CIFAR10_CLASSES[label]}/${String(index).padStart(4, '0')}.jpg`;
    if (jpeg === undefined) throw new Error(`the archive has no ${name}`);
    const image = decodeJpeg(jpeg, { useTArray: true, formatAsRGBA: false });
    if (image.width !== SIDE || image.height !== SIDE || image.data.length !== 3 * PLANE) {
      throw new RangeError(
        `${name}: expected a 32x32 RGB image, got ${image.width}x${image.height} with ${image.data.length} bytes`,
      );
    }
    const at = r * RECORD;
    bytes[at] = label;
    for (let q = 0; q < PLANE; q++) {
      bytes[at + 1 + q] = image.data[3 * q] as number;
      bytes[at + 1 + PLANE + q] = image.data[3 * q + 1] as number;
      bytes[at + 1 + 2 * PLANE + q] = image.data[3 * q + 2] as number;
    }
  }
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
  console.log(`  ${path}: ${RECORDS_PER_BATCH} records, ${bytes.length.toLocaleString('en-US')} bytes, ${seconds(t)}`);
}

async function outputsComplete(dir: string): Promise<boolean> {
  for (const name of OUTPUT_FILES) {
    try {
      if ((await stat(join(dir, name))).size !== BATCH_BYTES) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function summarize(dir: string): Promise<void> {
  const t = performance.now();
  const data = await loadCifar10({ dir });
  const [red, green, blue] = cifar10ChannelMeans(data);
  console.log(`loadCifar10: ${data.train.count} train, ${data.test.count} test images in ${seconds(t)}`);
  console.log(`train channel means (x/255): red ${red.toFixed(4)}, green ${green.toFixed(4)}, blue ${blue.toFixed(4)}`);
  for (const [name, labels] of [['train', data.train.labels], ['test', data.test.labels]] as const) {
    const counts = new Array<number>(CLASSES).fill(0);
    for (const label of labels) counts[label] = (counts[label] as number) + 1;
    console.log(`${name} labels: ${CIFAR10_CLASSES.map((c, i) => `${c} ${counts[i]}`).join(', ')}`);
  }
  let bytes = 0;
  for (const name of OUTPUT_FILES) bytes += (await stat(join(dir, name))).size;
  console.log(`${OUTPUT_FILES.length} files in ${dir}, ${bytes.toLocaleString('en-US')} bytes`);
}

// ---------------------------------------------------------------------------------------------------------
// A small reader for the POSIX tar format (ustar, with pax 'x'/'g' and GNU 'L' long-name entries):
// 512-byte header blocks, each followed by the entry's data padded to a multiple of 512 bytes; the
// archive ends with two zero blocks. Header fields (POSIX.1-2001, pax "ustar Interchange Format"):
// name 0..100, size 124..136 (octal), chksum 148..156, typeflag 156, magic 257..263, prefix 345..500.

interface TarEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'other';
  readonly data: Uint8Array;
}

function* tarEntries(tar: Uint8Array): Generator<TarEntry> {
  const text = new TextDecoder();
  const field = (at: number, length: number): string => {
    const bytes = tar.subarray(at, at + length);
    const end = bytes.indexOf(0);
    return text.decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  const octal = (at: number, length: number, what: string): number => {
    const raw = field(at, length).trim();
    if (!/^[0-7]+$/.test(raw)) throw new RangeError(`tar: bad ${what} field ${JSON.stringify(raw)} at byte ${at}`);
    return parseInt(raw, 8);
  };

  let offset = 0;
  let nextPath: string | undefined; // from a pax 'x' or GNU 'L' entry, applies to the next entry only
  while (offset + 512 <= tar.length) {
    const start = offset;
    const header = tar.subarray(start, start + 512);
    if (header.every((b) => b === 0)) return; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    const stored = octal(start + 148, 8, 'checksum');
    if (sum !== stored) throw new RangeError(`tar: header checksum ${stored} at byte ${start} does not match ${sum}`);

    const size = octal(start + 124, 12, 'size');
    const typeflag = String.fromCharCode(header[156] as number);
    const data = tar.subarray(start + 512, start + 512 + size);
    if (data.length !== size) throw new RangeError(`tar: entry at byte ${start} is cut short`);
    offset = start + 512 + Math.ceil(size / 512) * 512;

    if (typeflag === 'x') {
      nextPath = paxPath(data) ?? nextPath;
      continue;
    }
    if (typeflag === 'g') continue; // global pax header: nothing we need
    if (typeflag === 'L') {
      nextPath = text.decode(data).replace(/\0+$/, '');
      continue;
    }
    const name = field(start, 100);
    const isUstar = field(start + 257, 6).startsWith('ustar');
    const prefix = isUstar ? field(start + 345, 155) : '';
    const path = nextPath ?? (prefix === '' ? name : `${prefix}/${name}`);
    nextPath = undefined;
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    yield { path, type, data };
  }
  throw new RangeError('tar: archive ends without the end-of-archive marker');
}

/**
 * The `path` value of a pax extended header, if any. The header is a list of "<length> <key>=<value>\n"
 * records, where <length> counts the bytes of the whole record (UTF-8), its own digits included.
 */
function paxPath(records: Uint8Array): string | undefined {
  const text = new TextDecoder();
  let path: string | undefined;
  let at = 0;
  while (at < records.length) {
    const space = records.indexOf(0x20, at);
    const length = space < 0 ? Number.NaN : Number(text.decode(records.subarray(at, space)));
    if (!Number.isInteger(length) || length <= space - at || at + length > records.length) {
      throw new RangeError(`tar: malformed pax header record at byte ${at}`);
    }
    const record = text.decode(records.subarray(space + 1, at + length - 1)); // drop the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}
