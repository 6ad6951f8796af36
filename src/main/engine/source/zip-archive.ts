import { createReadStream } from 'node:fs';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Entry, RandomAccessReader, ZipFile } from 'yauzl';
import { EngineError } from '../errors';
import { decodeFailure } from './decode-error';
import { detectFormat } from './detect';
import { diskSignature, DISK_SIGNATURE_BYTES } from './disk-signature';
import { foreignFormat } from './foreign-formats';

/** Names inside an archive that are never the image: folders, macOS metadata, checksums, notes, bmaps. */
const SIDE_FILE = /\.(bmap|sha1|sha256|sha512|md5|sig|asc|gpg|txt|md|json|html?|pdf|xml|log|sha1sum|sha256sum)$/i;
const BMAP_MAX_BYTES = 64 * 1024 * 1024;
/** Bytes per read of the image member and zlib's output buffer (see ZLIB_CHUNK in decoders.ts). */
const MEMBER_CHUNK = 1024 * 1024;

/** True for archive members that can hold the image. */
export function isImageMember(name: string): boolean {
  if (name.endsWith('/')) return false;
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (name.startsWith('__MACOSX/') || base.startsWith('._') || base === '.DS_Store') return false;
  return !SIDE_FILE.test(base);
}

/**
 * Random access to an archive that is not a local file (a URL): yauzl's reader for the directory, and a
 * stream of any byte span [start, end) for the member's data.
 */
export interface ZipAccess {
  size: number;
  reader: RandomAccessReader;
  rangeStream(start: number, end: number): Readable;
}

/** The chosen member of an opened zip, read as often as needed until close(). */
export interface ZipImage {
  member: string;
  imageSize: number;
  /** The member's first bytes (up to DISK_SIGNATURE_BYTES). */
  head: Buffer;
  embeddedBmap: Buffer | null;
  openMember(): Promise<Readable>;
  close(): void;
}

async function openZip(path: string, access: ZipAccess | null): Promise<ZipFile> {
  const { default: yauzl } = await import('yauzl'); // loaded on first use: only .zip images need it
  return new Promise((resolve, reject) => {
    const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true };
    const done = (err: Error | null, zip: ZipFile): void => {
      if (err) {
        const detail = err.message;
        const kind = /central directory|end of central/i.test(detail) ? 'truncated' : 'corrupt';
        reject(err instanceof EngineError ? err : decodeFailure(path, 'zip', kind, 0, detail));
      } else resolve(zip);
    };
    if (access) yauzl.fromRandomAccessReader(access.reader, access.size, options, done);
    else yauzl.open(path, options, done);
  });
}

function listEntries(zip: ZipFile, path: string): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err: Error) => reject(decodeFailure(path, 'zip', 'corrupt', 0, err.message)));
    zip.readEntry();
  });
}

async function readSmallMember(zip: ZipFile, entry: Entry): Promise<Buffer | null> {
  if (entry.uncompressedSize > BMAP_MAX_BYTES || !entry.canDecodeFileData()) return null;
  const stream = await zip.openReadStreamPromise(entry);
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

/** The first bytes of a member (up to DISK_SIGNATURE_BYTES), to recognise what the zip holds. */
async function readMemberHead(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const part of stream as AsyncIterable<Buffer>) {
      parts.push(part);
      got += part.length;
      if (got >= DISK_SIGNATURE_BYTES) break;
    }
  } catch {
    // A damaged member is reported when it is streamed, with the byte count.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, DISK_SIGNATURE_BYTES);
}

/**
 * Checks the member as it streams: its size against the central directory (too many bytes fail at once)
 * and its CRC-32 at the end where zlib.crc32 exists (Node >= 20.15).
 */
function memberCheck(path: string, entry: Entry): Transform {
  const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  const expected = entry.uncompressedSize;
  let value = 0;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      if (bytes > expected) {
        done(decodeFailure(path, 'zip', 'corrupt', bytes, `${entry.fileName} holds more than the ${expected} bytes the archive says`));
        return;
      }
      if (crc32) value = crc32(chunk, value);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (bytes < expected) done(decodeFailure(path, 'zip', 'truncated', bytes, `${entry.fileName} ends before the ${expected} bytes the archive says`));
      else if (crc32 && value >>> 0 !== entry.crc32 >>> 0) done(decodeFailure(path, 'zip', 'corrupt', bytes, `CRC-32 of ${entry.fileName} does not match the archive`));
      else done();
    },
  });
}

/**
 * The image member's bytes, read and inflated here rather than through yauzl's stream, whose 16 KiB reads
 * and 16 KiB zlib buffers made a 2 GiB member take 11 s to flash where the same data as .gz takes 1.7 s.
 */
async function openMemberData(zip: ZipFile, path: string, entry: Entry, access: ZipAccess | null): Promise<Readable> {
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const end = fileDataStart + entry.compressedSize;
  const raw =
    entry.compressedSize === 0
      ? Readable.from([])
      : access
        ? access.rangeStream(fileDataStart, end)
        : createReadStream(path, { start: fileDataStart, end: end - 1, highWaterMark: MEMBER_CHUNK });
  const check = memberCheck(path, entry);
  // pipeline(): an error anywhere reaches the end, and a consumer that stops early (destroys the end)
  // closes the file and the inflater too. The end's own error is what the consumer sees.
  const ignore = (): void => undefined;
  if (entry.compressionMethod === 0) return pipeline(raw, check, ignore);
  return pipeline(raw, zlib.createInflateRaw({ chunkSize: MEMBER_CHUNK }), check, ignore);
}

/**
 * Opens a zip and picks its single image member. Zero candidates -> ARCHIVE_EMPTY, several ->
 * ARCHIVE_AMBIGUOUS naming them. A .bmap member is kept as `embeddedBmap`. `access` reads an archive that
 * is not a local file (`path` then only names it).
 */
export async function openZipImage(path: string, access: ZipAccess | null = null): Promise<ZipImage> {
  const zip = await openZip(path, access);
  try {
    const entries = await listEntries(zip, path);
    const images = entries.filter((e) => isImageMember(e.fileName));
    if (images.length === 0) {
      throw new EngineError('ARCHIVE_EMPTY', `${path}: the zip archive holds no image file (only folders or side files).`);
    }
    if (images.length > 1) {
      const names = images.map((e) => e.fileName).join(', ');
      throw new EngineError('ARCHIVE_AMBIGUOUS', `${path}: the zip archive holds several files that could be the image (${names}). Extract the one you want and flash it.`);
    }
    const image = images[0]!;
    if (image.isEncrypted() || !image.canDecodeFileData()) {
      throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.fileName} is encrypted or uses a compression method Sureflash cannot read (method ${image.compressionMethod}). Extract it first.`);
    }
    const head = await readMemberHead(zip, image);
    const nested = detectFormat(head);
    if (nested !== 'none') {
      throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.fileName} inside the zip is itself ${nested}-compressed. Extract it from the zip and flash the extracted file.`);
    }
    const foreign = foreignFormat(head, null, diskSignature(head) !== null);
    if (foreign) {
      throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.fileName} inside the zip is ${foreign.what}, which Sureflash does not read: extract it, then ${foreign.how.replace('FILE', image.fileName)}.`);
    }
    const bmapEntries = entries.filter((e) => /\.bmap$/i.test(e.fileName) && !e.fileName.startsWith('__MACOSX/'));
    const embeddedBmap = bmapEntries.length === 1 ? await readSmallMember(zip, bmapEntries[0]!) : null;
    return {
      member: image.fileName,
      imageSize: image.uncompressedSize,
      head,
      embeddedBmap,
      openMember: () => openMemberData(zip, path, image, access),
      close: () => zip.close(),
    };
  } catch (err) {
    zip.close();
    throw err;
  }
}
