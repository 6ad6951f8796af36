import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readVarint } from './xz-sparse';

/**
 * Small positioned reads of header fields, served from a 16 KiB window read with one synchronous call
 * (the engine runs in its own worker thread): walking thousands of zstd block headers costs one cheap
 * system call each instead of a thread-pool round trip each, and reads no more than it needs.
 */
class HeaderReader {
  private readonly cache = Buffer.alloc(16 * 1024);
  private start = -1;
  private length = 0;
  readonly size: number;

  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }

  /** Exactly `length` bytes at `position` (a copy), or null when the file ends first. */
  read(position: number, length: number): Buffer | null {
    if (position < 0 || length < 0) return null;
    if (length > this.cache.length) {
      const buf = Buffer.alloc(length);
      return readSync(this.fd, buf, 0, length, position) === length ? buf : null;
    }
    if (position < this.start || position + length > this.start + this.length) {
      this.start = position;
      this.length = readSync(this.fd, this.cache, 0, this.cache.length, position);
    }
    if (position + length > this.start + this.length) return null;
    return Buffer.from(this.cache.subarray(position - this.start, position - this.start + length));
  }
}

/** Runs `fn` with a HeaderReader on `path`, closing the file afterwards. */
async function withReader<T>(path: string, fn: (reader: HeaderReader) => T): Promise<T> {
  const fd = openSync(path, 'r');
  try {
    return fn(new HeaderReader(fd));
  } finally {
    closeSync(fd);
  }
}

const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** The file's own structure proves it was cut short (as opposed to "no size recorded"). */
export class TruncatedImageError extends Error {}

/** A zstd frame that needs a dictionary to decode (its header names the dictionary's id). */
export class ZstdDictionaryError extends Error {
  constructor(readonly id: number) {
    super(`a zstd frame needs dictionary ${id}`);
  }
}

/**
 * Uncompressed size of an .xz file from its stream indexes (walking streams backwards from the end, as
 * `xz --list` does), or null when the file is not a well-formed xz file.
 */
export async function xzImageSize(path: string): Promise<number | null> {
  return withReader(path, (reader) => {
    const size = reader.size;
    let end = size;
    let total = 0;
    while (end > 0) {
      // Stream padding: groups of four zero bytes.
      const tail = reader.read(end - 4, 4);
      if (!tail) return null;
      if (tail.readUInt32LE(0) === 0) {
        end -= 4;
        continue;
      }
      const footer = reader.read(end - 12, 12);
      // Every xz stream ends with a footer whose last bytes are "YZ": without it the file was cut short.
      if (!footer || footer[10] !== 0x59 || footer[11] !== 0x5a) throw new TruncatedImageError('the xz stream footer is missing');
      const indexSize = (footer.readUInt32LE(4) + 1) * 4;
      if (indexSize > MAX_INDEX_BYTES) return null;
      const indexStart = end - 12 - indexSize;
      const index = reader.read(indexStart, indexSize);
      if (!index || index[0] !== 0x00) return null;
      const at = { pos: 1 };
      const records = readVarint(index, at);
      if (records === null) return null;
      let blocksBytes = 0;
      for (let i = 0; i < records; i++) {
        const unpadded = readVarint(index, at);
        const uncompressed = readVarint(index, at);
        if (unpadded === null || uncompressed === null) return null;
        blocksBytes += Math.ceil(unpadded / 4) * 4;
        total += uncompressed;
      }
      const streamStart = indexStart - blocksBytes - 12;
      const header = reader.read(streamStart, 6);
      if (!header || header.compare(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) !== 0) return null;
      end = streamStart;
    }
    return total;
  });
}

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_ZSTD_BLOCKS = 4_000_000;

/**
 * Uncompressed size of a .zst file: the sum of every frame's content size, walking frame and block
 * headers. Null when a frame does not record its size or the file is malformed.
 */
export async function zstdImageSize(path: string): Promise<number | null> {
  return withReader(path, (reader) => {
    const size = reader.size;
    let pos = 0;
    let total = 0;
    let blocks = 0;
    while (pos < size) {
      const head = reader.read(pos, Math.min(18, size - pos));
      if (!head || head.length < 8) throw new TruncatedImageError('the file ends inside a zstd frame header');
      const magic = head.readUInt32LE(0);
      if ((magic & 0xfffffff0) === 0x184d2a50) {
        pos += 8 + head.readUInt32LE(4);
        continue;
      }
      if (magic !== ZSTD_MAGIC) return null;
      const descriptor = head[4]!;
      const fcsFlag = descriptor >> 6;
      const singleSegment = (descriptor >> 5) & 1;
      const hasChecksum = (descriptor >> 2) & 1;
      const dictBytes = [0, 1, 2, 4][descriptor & 3]!;
      const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
      if (fcsBytes === 0) return null;
      const dictAt = 5 + (singleSegment ? 0 : 1);
      if (dictBytes > 0 && head.length >= dictAt + dictBytes) {
        const id = dictBytes === 1 ? head[dictAt]! : dictBytes === 2 ? head.readUInt16LE(dictAt) : head.readUInt32LE(dictAt);
        if (id !== 0) throw new ZstdDictionaryError(id);
      }
      const fcsAt = dictAt + dictBytes;
      if (head.length < fcsAt + fcsBytes) return null;
      let content: number;
      if (fcsBytes === 1) content = head[fcsAt]!;
      else if (fcsBytes === 2) content = head.readUInt16LE(fcsAt) + 256;
      else if (fcsBytes === 4) content = head.readUInt32LE(fcsAt);
      else content = Number(head.readBigUInt64LE(fcsAt));
      total += content;
      pos += fcsAt + fcsBytes;
      for (;;) {
        if (++blocks > MAX_ZSTD_BLOCKS) return null;
        const blockHeader = reader.read(pos, 3);
        if (!blockHeader) throw new TruncatedImageError('the file ends inside a zstd frame');
        const h = blockHeader[0]! | (blockHeader[1]! << 8) | (blockHeader[2]! << 16);
        const type = (h >> 1) & 3;
        if (type === 3) return null;
        pos += 3 + (type === 1 ? 1 : h >>> 3);
        if (h & 1) break;
      }
      pos += hasChecksum ? 4 : 0;
    }
    if (pos > size) throw new TruncatedImageError('the last zstd frame runs past the end of the file');
    return pos === size ? total : null;
  });
}

/**
 * The ISIZE trailer of a .gz file: the last member's size modulo 2^32. Only a hint (wrong for multi-member
 * files and images of 4 GiB or more), so callers may show it for progress but must not check against it.
 */
export async function gzipSizeHint(path: string): Promise<number | null> {
  return withReader(path, (reader) => {
    const size = reader.size;
    const tail = reader.read(size - 4, 4);
    return size >= 18 && tail ? tail.readUInt32LE(0) : null;
  });
}
