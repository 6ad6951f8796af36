/**
 * Reads bmaptool block maps (formats 1.2, 1.3, 1.4 and 2.x) into the shared Bmap model, checking the file's
 * own checksum the way bmaptool does and every consistency rule the engine relies on before it writes a byte.
 * The XML is read in one linear pass with bounded size, element count and nesting; the async forms yield to
 * the event loop between slices and stop on an AbortSignal.
 */
import { constants, promises as fsp } from 'node:fs';
import { getHashes } from 'node:crypto';
import { CHECKSUM_HEX_LENGTH, CHECKSUM_TYPES, checksumTypeOf, type Bmap, type BmapRange, type ChecksumType } from '../../shared/bmap';
import { EngineError } from './errors';
import { computeBmapFileChecksum } from './bmap/bmap-file-checksum';
import { BmapCollector, type BmapField, type FieldElement, type RawRange, type RootElement } from './bmap/bmap-collector';
import { XmlReader, XmlSyntaxError, type XmlLimits } from './bmap/xml-reader';
import { nonRegularKind } from './source/file-kind';

/** Largest bmap file accepted (a bmap for a multi-terabyte image stays far below this). */
export const MAX_BMAP_BYTES = 64 * 1024 * 1024;

/**
 * Bounds on a bmap's XML: one element per range plus about ten, three levels deep. Two million ranges is far
 * beyond any real image (bmaptool merges adjacent blocks) and keeps the parsed map within a few hundred MB.
 */
export const BMAP_XML_LIMITS: Readonly<XmlLimits> = { maxElements: 2_000_000, maxDepth: 16, maxAttributes: 16 };

/** Characters read between two looks at the AbortSignal (and, async, between two yields to the event loop). */
const SLICE_CHARS = 256 * 1024;

export interface ParseOptions {
  /** Stops the parse between two slices with EngineError CANCELLED. */
  signal?: AbortSignal;
}

/** How one format generation spells its checksums. */
interface Dialect {
  /** Element holding the bmap file's own checksum; null when the format has none (1.2). */
  fileChecksumElement: 'BmapFileSHA1' | 'BmapFileChecksum' | null;
  rangeAttribute: 'sha1' | 'chksum';
  /** Checksum type fixed by the format, or null when <ChecksumType> names it. */
  impliedType: ChecksumType | null;
}

const DIALECT_1_2: Dialect = { fileChecksumElement: null, rangeAttribute: 'sha1', impliedType: 'sha1' };
const DIALECT_1_3: Dialect = { fileChecksumElement: 'BmapFileSHA1', rangeAttribute: 'sha1', impliedType: 'sha1' };
const DIALECT_2_0: Dialect = { fileChecksumElement: 'BmapFileChecksum', rangeAttribute: 'chksum', impliedType: null };

function invalid(name: string, message: string, line?: number): EngineError {
  const where = line === undefined ? '' : ` (line ${line})`;
  return new EngineError('BMAP_INVALID', `The bmap file "${name}" is invalid${where}: ${message}`);
}

function checkAbort(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) throw new EngineError('CANCELLED', `Reading the bmap file "${name}" was cancelled.`);
}

/**
 * Parses and checks a bmap held in memory. `name` (usually the path) is used in error messages.
 * Throws EngineError BMAP_INVALID, BMAP_UNSUPPORTED_VERSION, BMAP_CHECKSUM_MISMATCH or CANCELLED.
 */
export function parseBmap(raw: Buffer, name: string, opts: ParseOptions = {}): Bmap {
  const { reader, collector } = startReading(raw, name);
  try {
    while (!reader.step(SLICE_CHARS)) checkAbort(opts.signal, name);
  } catch (err) {
    throw xmlError(err, name);
  }
  return interpret(raw, collector, name);
}

/** parseBmap that yields to the event loop between slices, so a cancel (or anything else) gets its turn. */
export async function parseBmapAsync(raw: Buffer, name: string, opts: ParseOptions = {}): Promise<Bmap> {
  const { reader, collector } = startReading(raw, name);
  try {
    while (!reader.step(SLICE_CHARS)) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      checkAbort(opts.signal, name);
    }
  } catch (err) {
    throw xmlError(err, name);
  }
  return interpret(raw, collector, name);
}

function startReading(raw: Buffer, name: string): { reader: XmlReader; collector: BmapCollector } {
  if (raw.length > MAX_BMAP_BYTES) {
    throw invalid(name, `it is ${raw.length} bytes; a bmap may be at most ${MAX_BMAP_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw invalid(name, 'it is not UTF-8 text (is it an image or a compressed file?)');
  }
  const collector = new BmapCollector();
  return { reader: new XmlReader(text, collector, BMAP_XML_LIMITS), collector };
}

function xmlError(err: unknown, name: string): unknown {
  if (!(err instanceof XmlSyntaxError)) return err;
  const bound = /more than [\d,]+ (elements|deep|attributes)/.test(err.message);
  return invalid(name, bound ? `${err.message}, more than a bmap can hold` : `malformed XML: ${err.message}`, err.line);
}

function interpret(raw: Buffer, collector: BmapCollector, name: string): Bmap {
  const root = collector.root;
  if (!root) throw invalid(name, 'malformed XML: the file holds no XML element', 1);
  if (root.name !== 'bmap') throw invalid(name, `the root element is <${root.name}>, expected <bmap>`, root.line);

  const { version, major, minor, dialect } = readVersion(root, name);
  const { duplicate, fields } = collector;
  if (duplicate) {
    throw invalid(name, `<${duplicate.first.name}> appears twice (first on line ${duplicate.first.line})`, duplicate.again.line);
  }
  const number = (field: BmapField): number => readCount(requireField(fields, field, root, name), name);

  const imageSize = number('ImageSize');
  const blockSize = number('BlockSize');
  const blocksCount = number('BlocksCount');
  const mappedBlocksCount = number('MappedBlocksCount');
  const type = dialect.impliedType ?? readChecksumType(requireField(fields, 'ChecksumType', root, name), name);

  let fileChecksum: string | null = null;
  if (dialect.fileChecksumElement) {
    const element = requireField(fields, dialect.fileChecksumElement, root, name);
    const stored = element.text.trim();
    checkHex(stored, type, name, `<${element.name}>`, element.line);
    const computed = computeBmapFileChecksum(raw, stored, type);
    if (computed !== stored.toLowerCase()) {
      throw new EngineError(
        'BMAP_CHECKSUM_MISMATCH',
        `The bmap file "${name}" is damaged or was edited: its ${type} checksum is ${computed ?? 'not computable'}, ` +
          `but <${element.name}> says ${stored}.`,
      );
    }
    // A copy of its own, like each range's: a slice of the XML text keeps the whole text alive.
    fileChecksum = Buffer.from(stored.toLowerCase(), 'latin1').toString('latin1');
  }

  const blockSizeField = fields.get('BlockSize');
  if (blockSize === 0 || blockSize % 512 !== 0) {
    throw invalid(name, `BlockSize ${blockSize} is not a positive multiple of 512`, blockSizeField?.line);
  }
  const tail = imageSize % blockSize;
  const needed = (imageSize - tail) / blockSize + (tail > 0 ? 1 : 0); // integer arithmetic only
  if (blocksCount !== needed) {
    throw invalid(
      name,
      `BlocksCount is ${blocksCount}, but ImageSize ${imageSize} in blocks of ${blockSize} bytes needs ${needed}`,
      fields.get('BlocksCount')?.line,
    );
  }

  requireField(fields, 'BlockMap', root, name);
  const ranges = readRanges(collector.ranges, dialect, type, blocksCount, name);
  const mapped = ranges.reduce((sum, r) => sum + (r.last - r.first + 1), 0);
  if (mapped !== mappedBlocksCount) {
    throw invalid(
      name,
      `MappedBlocksCount is ${mappedBlocksCount}, but the ranges of <BlockMap> cover ${mapped} blocks`,
      fields.get('MappedBlocksCount')?.line,
    );
  }

  const anyChecksum = ranges.some((r) => r.checksum !== null);
  return {
    version,
    major,
    minor,
    imageSize,
    blockSize,
    blocksCount,
    mappedBlocksCount,
    checksumType: anyChecksum ? type : null,
    fileChecksum,
    ranges,
  };
}

function readVersion(root: RootElement, name: string): { version: string; major: number; minor: number; dialect: Dialect } {
  const attr = root.attributes['version'];
  if (attr === undefined) throw invalid(name, '<bmap> has no version attribute', root.line);
  const version = attr.trim();
  const m = /^(\d{1,6})\.(\d{1,6})$/.exec(version);
  if (!m) throw invalid(name, `the version "${attr}" is not of the form major.minor`, root.line);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  let dialect: Dialect | null = null;
  if (major === 2) dialect = DIALECT_2_0;
  else if (major === 1 && minor === 4) dialect = DIALECT_2_0;
  else if (major === 1 && minor === 3) dialect = DIALECT_1_3;
  else if (major === 1 && minor === 2) dialect = DIALECT_1_2;
  if (!dialect) {
    throw new EngineError(
      'BMAP_UNSUPPORTED_VERSION',
      `The bmap file "${name}" has version ${version}, which is not supported (this Sureflash reads 1.2 to 2.x).`,
    );
  }
  return { version, major, minor, dialect };
}

function requireField(fields: Map<BmapField, FieldElement>, field: BmapField, root: RootElement, name: string): FieldElement {
  const element = fields.get(field);
  if (!element) throw invalid(name, `the <${field}> element is missing`, root.line);
  return element;
}

function parseCount(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function readCount(element: FieldElement, name: string): number {
  if (element.nested) throw invalid(name, `<${element.name}> must hold only a number`, element.line);
  const value = parseCount(element.text.trim());
  if (value === null) {
    throw invalid(name, `<${element.name}> holds "${element.text.trim()}", not a whole number`, element.line);
  }
  return value;
}

let available: Set<string> | null = null;

function readChecksumType(element: FieldElement, name: string): ChecksumType {
  const text = element.text.trim();
  const type = checksumTypeOf(text);
  if (type === null) {
    throw invalid(
      name,
      `ChecksumType "${text}" is not supported (Sureflash knows ${CHECKSUM_TYPES.join(', ')}: the algorithms bmaptool accepts that Node.js has)`,
      element.line,
    );
  }
  available ??= new Set(getHashes().map((h) => h.toLowerCase()));
  if (!available.has(type)) {
    throw invalid(name, `ChecksumType "${text}" is not available in this build's crypto library`, element.line);
  }
  return type;
}

function checkHex(text: string, type: ChecksumType, name: string, what: string, line: number): void {
  const length = CHECKSUM_HEX_LENGTH[type];
  if (text.length !== length || !/^[0-9a-fA-F]+$/.test(text)) {
    throw invalid(name, `${what} "${text}" is not a ${type} checksum (${length} hex digits)`, line);
  }
}

/**
 * The ranges, checked one by one in file order, then sorted by their first block (bmaptool accepts them in
 * any order) and checked for overlaps.
 */
function readRanges(raw: RawRange[], dialect: Dialect, type: ChecksumType, blocksCount: number, name: string): BmapRange[] {
  const ranges: BmapRange[] = [];
  let ascending = true;
  for (const element of raw) {
    const text = element.text.trim();
    if (element.nested) throw invalid(name, '<Range> must hold only block numbers', element.line);
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
    const first = m ? parseCount(m[1] ?? '') : null;
    const last = m ? (m[2] === undefined ? first : parseCount(m[2])) : null;
    if (first === null || last === null) {
      throw invalid(name, `<Range> holds "${text}", expected "first-last" or a single block number`, element.line);
    }
    if (first > last) throw invalid(name, `<Range> ${text} starts after it ends`, element.line);
    if (last >= blocksCount) {
      throw invalid(name, `<Range> ${text} reaches past the last block (BlocksCount is ${blocksCount})`, element.line);
    }
    const attr = dialect.rangeAttribute === 'chksum' ? element.chksum : element.sha1;
    let checksum: string | null = null;
    if (attr !== undefined) {
      checksum = attr.trim();
      checkHex(checksum, type, name, `the ${dialect.rangeAttribute} of <Range> ${text}`, element.line);
      // A copy of its own: a slice of the XML text would keep the whole text alive as long as the plan
      // (megabytes for a bmap of 50,000 ranges).
      checksum = Buffer.from(checksum.toLowerCase(), 'latin1').toString('latin1');
    }
    const previous = ranges[ranges.length - 1];
    if (previous && first < previous.first) ascending = false;
    ranges.push({ first, last, checksum });
  }
  const order = ranges.map((_, i) => i);
  if (!ascending) order.sort((a, b) => ranges[a]!.first - ranges[b]!.first || a - b);
  for (let k = 1; k < order.length; k++) {
    const before = order[k - 1]!;
    const at = order[k]!;
    if (ranges[at]!.first <= ranges[before]!.last) {
      const [here, there] = [raw[at]!, raw[before]!];
      throw invalid(name, `<Range> ${here.text.trim()} overlaps <Range> ${there.text.trim()} on line ${there.line}`, here.line);
    }
  }
  return ascending ? ranges : order.map((i) => ranges[i]!);
}

/** Cheap test on the first bytes of a file (pass at least 4 KiB): is this XML holding a <bmap> element? */
export function looksLikeBmap(head: Uint8Array): boolean {
  const bytes = head.subarray(0, 64 * 1024);
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start).toString('latin1');
  return text.trimStart().startsWith('<') && /<bmap[\s>/]/.test(text);
}

/**
 * Reads and parses a bmap file. Only a regular file is opened (a FIFO would block the open until a writer
 * comes, a device never ends), and one larger than MAX_BMAP_BYTES is refused by its size before reading.
 * Besides parseBmap's errors: BMAP_NOT_FOUND (no such file), PERMISSION_DENIED (unreadable), BMAP_INVALID
 * (not a regular file, too large, changed while read).
 */
export async function readBmapFile(path: string, opts: ParseOptions = {}): Promise<Bmap> {
  let info;
  try {
    info = await fsp.stat(path);
  } catch (err) {
    throw openError(path, err);
  }
  const kind = nonRegularKind(info);
  if (kind) throw invalid(path, `it is ${kind}, not a regular file: give the path of a saved .bmap file`);
  if (info.size > MAX_BMAP_BYTES) {
    throw invalid(path, `it is ${info.size} bytes; a bmap may be at most ${MAX_BMAP_BYTES} bytes`);
  }
  let handle;
  try {
    // Non-blocking: should the path have become a FIFO since stat, the open still returns at once.
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(path, err);
  }
  let buffer: Buffer;
  let filled = 0;
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw invalid(path, 'it was replaced while it was being opened');
    }
    // Read one byte more than stat promised, so a file that grew after stat is noticed, not cut short.
    buffer = Buffer.alloc(opened.size + 1);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > opened.size) throw invalid(path, 'it changed while it was being read');
    }
  } finally {
    await handle.close();
  }
  checkAbort(opts.signal, path);
  return parseBmapAsync(buffer.subarray(0, filled), path, opts);
}

function openError(path: string, err: unknown): EngineError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new EngineError('BMAP_NOT_FOUND', `The bmap file "${path}" does not exist.`);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new EngineError('PERMISSION_DENIED', `The bmap file "${path}" cannot be read: permission denied.`);
  }
  const detail = err instanceof Error ? err.message : String(err);
  return invalid(path, `it cannot be opened (${detail})`);
}
