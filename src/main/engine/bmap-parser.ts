/**
 * Reads bmaptool block maps (formats 1.2, 1.3, 1.4 and 2.x) into the shared Bmap model, checking the file's
 * own checksum the way bmaptool does and every consistency rule the engine relies on before it writes a byte.
 */
import { open } from 'node:fs/promises';
import type { Bmap, BmapRange, ChecksumType } from '../../shared/bmap';
import { EngineError } from './errors';
import { CHECKSUM_HEX_LENGTH, computeBmapFileChecksum } from './bmap/bmap-file-checksum';
import { parseXml, XmlSyntaxError, type XmlElement } from './bmap/xml-reader';

/** Largest bmap file accepted (a bmap for a multi-terabyte image stays far below this). */
export const MAX_BMAP_BYTES = 64 * 1024 * 1024;

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

const FIELDS = ['ImageSize', 'BlockSize', 'BlocksCount', 'MappedBlocksCount', 'ChecksumType', 'BmapFileSHA1',
  'BmapFileChecksum', 'BlockMap'] as const;
type Field = (typeof FIELDS)[number];

function invalid(name: string, message: string, line?: number): EngineError {
  const where = line === undefined ? '' : ` (line ${line})`;
  return new EngineError('BMAP_INVALID', `The bmap file "${name}" is invalid${where}: ${message}`);
}

/**
 * Parses and checks a bmap held in memory. `name` (usually the path) is used in error messages.
 * Throws EngineError BMAP_INVALID, BMAP_UNSUPPORTED_VERSION or BMAP_CHECKSUM_MISMATCH.
 */
export function parseBmap(raw: Buffer, name: string): Bmap {
  if (raw.length > MAX_BMAP_BYTES) {
    throw invalid(name, `it is ${raw.length} bytes; a bmap may be at most ${MAX_BMAP_BYTES} bytes`);
  }
  const root = readXml(raw, name);
  if (root.name !== 'bmap') throw invalid(name, `the root element is <${root.name}>, expected <bmap>`, root.line);

  const { version, major, minor, dialect } = readVersion(root, name);
  const fields = collectFields(root, name);
  const number = (field: Field): number => readCount(requireField(fields, field, root, name), name);

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
    fileChecksum = stored.toLowerCase();
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

  const ranges = readRanges(requireField(fields, 'BlockMap', root, name), dialect, type, blocksCount, name);
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

function readXml(raw: Buffer, name: string): XmlElement {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw invalid(name, 'it is not UTF-8 text (is it an image or a compressed file?)');
  }
  try {
    return parseXml(text);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw invalid(name, `malformed XML: ${err.message}`, err.line);
    throw err;
  }
}

function readVersion(root: XmlElement, name: string): { version: string; major: number; minor: number; dialect: Dialect } {
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

/** The known direct children of <bmap>, each at most once; unknown elements are ignored. */
function collectFields(root: XmlElement, name: string): Map<Field, XmlElement> {
  const fields = new Map<Field, XmlElement>();
  for (const child of root.children) {
    const field = FIELDS.find((f) => f === child.name);
    if (!field) continue;
    const earlier = fields.get(field);
    if (earlier) throw invalid(name, `<${field}> appears twice (first on line ${earlier.line})`, child.line);
    fields.set(field, child);
  }
  return fields;
}

function requireField(fields: Map<Field, XmlElement>, field: Field, root: XmlElement, name: string): XmlElement {
  const element = fields.get(field);
  if (!element) throw invalid(name, `the <${field}> element is missing`, root.line);
  return element;
}

function parseCount(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function readCount(element: XmlElement, name: string): number {
  if (element.children.length > 0) throw invalid(name, `<${element.name}> must hold only a number`, element.line);
  const value = parseCount(element.text.trim());
  if (value === null) {
    throw invalid(name, `<${element.name}> holds "${element.text.trim()}", not a whole number`, element.line);
  }
  return value;
}

function readChecksumType(element: XmlElement, name: string): ChecksumType {
  const text = element.text.trim();
  const type = text.toLowerCase();
  if (type === 'sha1' || type === 'sha256') return type;
  throw invalid(name, `ChecksumType "${text}" is not supported (Sureflash knows sha1 and sha256)`, element.line);
}

function checkHex(text: string, type: ChecksumType, name: string, what: string, line: number): void {
  const length = CHECKSUM_HEX_LENGTH[type];
  if (text.length !== length || !/^[0-9a-fA-F]+$/.test(text)) {
    throw invalid(name, `${what} "${text}" is not a ${type} checksum (${length} hex digits)`, line);
  }
}

function readRanges(
  blockMap: XmlElement,
  dialect: Dialect,
  type: ChecksumType,
  blocksCount: number,
  name: string,
): BmapRange[] {
  const ranges: BmapRange[] = [];
  let previous: { last: number; line: number } | null = null;
  for (const element of blockMap.children) {
    if (element.name !== 'Range') continue;
    const text = element.text.trim();
    if (element.children.length > 0) throw invalid(name, '<Range> must hold only block numbers', element.line);
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
    if (previous && first <= previous.last) {
      throw invalid(
        name,
        `<Range> ${text} overlaps or comes before the range on line ${previous.line}; ranges must ascend`,
        element.line,
      );
    }
    const attr = element.attributes[dialect.rangeAttribute];
    let checksum: string | null = null;
    if (attr !== undefined) {
      checksum = attr.trim();
      checkHex(checksum, type, name, `the ${dialect.rangeAttribute} of <Range> ${text}`, element.line);
      checksum = checksum.toLowerCase();
    }
    ranges.push({ first, last, checksum });
    previous = { last, line: element.line };
  }
  return ranges;
}

/** Cheap test on the first bytes of a file (pass at least 4 KiB): is this XML holding a <bmap> element? */
export function looksLikeBmap(head: Uint8Array): boolean {
  const bytes = head.subarray(0, 64 * 1024);
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start).toString('latin1');
  return text.trimStart().startsWith('<') && /<bmap[\s>/]/.test(text);
}

/**
 * Reads and parses a bmap file, refusing anything larger than MAX_BMAP_BYTES by its size before reading it.
 * Besides parseBmap's errors: BMAP_NOT_FOUND (no such file), PERMISSION_DENIED (unreadable), BMAP_INVALID
 * (not a regular file, too large, changed while read).
 */
export async function readBmapFile(path: string): Promise<Bmap> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw invalid(path, 'it is not a regular file');
    if (info.size > MAX_BMAP_BYTES) {
      throw invalid(path, `it is ${info.size} bytes; a bmap may be at most ${MAX_BMAP_BYTES} bytes`);
    }
    // Read one byte more than stat promised, so a file that grew after stat is noticed, not cut short.
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > info.size) throw invalid(path, 'it changed while it was being read');
    }
    return parseBmap(buffer.subarray(0, filled), path);
  } finally {
    await handle.close();
  }
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
