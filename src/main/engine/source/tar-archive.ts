/**
 * A small streaming tar reader: ustar, pax (path, size) and GNU (long names, base-256 sizes beyond 8 GiB)
 * headers, over any byte source that can read and skip. It lists the members without reading their data
 * (only pax/GNU name records, a .bmap member and the first bytes of the image candidates are read), and
 * picks the image the way the zip path does: one candidate, or ARCHIVE_AMBIGUOUS / ARCHIVE_EMPTY.
 */
import { EngineError } from '../errors';
import { decodeFailure } from './decode-error';
import { isImageMember } from './zip-archive';

const BLOCK = 512;
const MAX_META_BYTES = 1024 * 1024;
const MAX_BMAP_BYTES = 64 * 1024 * 1024;

/** Bytes kept from the start of each image candidate (format and disk-signature checks). */
export const TAR_HEAD_BYTES = 68 * 1024;

/** What the tar reader reads from: the archive's bytes in order, from offset 0. */
export interface TarByteSource {
  /** Up to `length` bytes (fewer only at the end). */
  read(length: number): Promise<Buffer>;
  /** Skips up to `length` bytes; returns how many were skipped (fewer only at the end). */
  skip(length: number): Promise<number>;
}

export interface TarMember {
  name: string;
  /** The header's type flag ('0' regular, '5' directory, ...). */
  type: string;
  size: number;
  /** Where the member's data starts in the archive. */
  dataOffset: number;
  /** Stored as a GNU or pax sparse member. */
  sparse: boolean;
}

export interface TarListing {
  members: TarMember[];
  image: TarMember;
  /** The first bytes of the image member (up to TAR_HEAD_BYTES). */
  imageHead: Buffer;
  /** The single .bmap member's bytes, when there is exactly one (and it is small). */
  embeddedBmap: Buffer | null;
}

/** True when `head` (at least 512 bytes) starts with a tar header: ustar magic, or a v7 header whose checksum holds. */
export function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < BLOCK) return false;
  const block = head.subarray(0, BLOCK);
  if (asciiAt(block, 257, 5) === 'ustar') return checksumHolds(block);
  return block[0] !== 0 && checksumHolds(block);
}

function asciiAt(b: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && b[i] !== 0 && b[i] !== undefined; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function utf8At(b: Uint8Array, offset: number, length: number): string {
  const field = b.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}

function octal(b: Uint8Array, offset: number, length: number): number | null {
  const text = asciiAt(b, offset, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : null;
}

function checksumHolds(block: Uint8Array): boolean {
  const stored = octal(block, 148, 8);
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** The size field: octal, or GNU base-256 (high bit of the first byte set) for sizes of 8 GiB and more. */
function sizeField(block: Uint8Array): number | null {
  if ((block[124]! & 0x80) === 0) return octal(block, 124, 12);
  if (block[124]! !== 0x80) return null; // negative or absurdly large
  let value = 0n;
  for (let i = 125; i < 136; i++) value = (value << 8n) | BigInt(block[i]!);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}

/** pax records: "LEN key=value\n", repeated. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.length) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;
const REGULAR = new Set(['0', '\0', '7']);
/** Types whose size field is not followed by data. */
const NO_DATA = new Set(['1', '2', '3', '4', '6']);

/** Reads exactly `length` bytes or fails: the archive ends too early. */
async function readAll(src: TarByteSource, length: number, path: string, at: number): Promise<Buffer> {
  const data = await src.read(length);
  if (data.length < length) throw decodeFailure(path, 'tar', 'truncated', at + data.length, 'the archive ends inside a member');
  return data;
}

/**
 * Lists the archive and picks its image member (see the module comment). `path` names the archive in
 * messages. Throws SOURCE_TRUNCATED / SOURCE_CORRUPT for a broken archive, ARCHIVE_EMPTY, ARCHIVE_AMBIGUOUS,
 * IMAGE_UNREADABLE for a sparse image member, CANCELLED when `signal` aborts. `firstImageOnly` stops at the
 * first candidate (members after it are not seen).
 */
export async function listTar(src: TarByteSource, path: string, signal?: AbortSignal, firstImageOnly = false): Promise<TarListing> {
  const members: TarMember[] = [];
  const heads = new Map<TarMember, Buffer>();
  const bmaps: { member: TarMember; data: Buffer | null }[] = [];
  let pos = 0;
  let pax = new Map<string, string>();
  let longName: string | null = null;
  for (;;) {
    if (signal?.aborted) throw new EngineError('CANCELLED', `Reading the tar archive ${path} was cancelled.`);
    const block = await src.read(BLOCK);
    if (block.length === 0 && members.length > 0) break; // no end marker: tolerated, as GNU tar does
    if (block.length < BLOCK) throw decodeFailure(path, 'tar', 'truncated', pos + block.length, 'the archive ends inside a header');
    pos += BLOCK;
    if (block.every((b) => b === 0)) break; // end of archive
    if (!checksumHolds(block)) throw decodeFailure(path, 'tar', 'corrupt', pos - BLOCK, `the header at byte ${pos - BLOCK} has a wrong checksum`);
    const type = String.fromCharCode(block[156]!);
    const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    let size = sizeField(block);
    if (!meta && pax.has('size')) size = Number(pax.get('size'));
    if (size === null || !Number.isSafeInteger(size) || size < 0) {
      throw decodeFailure(path, 'tar', 'corrupt', pos - BLOCK, `the header at byte ${pos - BLOCK} has no valid size`);
    }
    if (meta) {
      if (size > MAX_META_BYTES) throw decodeFailure(path, 'tar', 'corrupt', pos, `a ${size}-byte ${type === 'L' || type === 'K' ? 'long name' : 'pax header'}`);
      const data = await readAll(src, padded(size), path, pos);
      pos += data.length;
      if (type === 'x') pax = paxRecords(data.subarray(0, size));
      if (type === 'L') longName = utf8At(data, 0, size);
      continue;
    }
    const ustarPrefix = asciiAt(block, 257, 6) === 'ustar' && block[262] === 0 ? utf8At(block, 345, 155) : '';
    const baseName = utf8At(block, 0, 100);
    const name = pax.get('path') ?? longName ?? (ustarPrefix ? `${ustarPrefix}/${baseName}` : baseName);
    const sparse = type === 'S' || [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'));
    const member: TarMember = { name, type, size, dataOffset: pos, sparse };
    members.push(member);
    pax = new Map();
    longName = null;
    const dataBytes = NO_DATA.has(type) ? 0 : padded(size);
    const candidate = (REGULAR.has(type) || type === 'S') && isImageMember(name);
    let taken = 0;
    if (candidate && heads.size < 3) {
      const head = await src.read(Math.min(TAR_HEAD_BYTES, size));
      heads.set(member, head);
      taken = head.length;
      if (firstImageOnly) break;
    } else if (REGULAR.has(type) && /\.bmap$/i.test(name) && !name.startsWith('__MACOSX/')) {
      const data = size <= MAX_BMAP_BYTES ? await readAll(src, size, path, pos) : null;
      bmaps.push({ member, data });
      taken = data?.length ?? 0;
    }
    const rest = dataBytes - taken;
    if (rest > 0 && (await src.skip(rest)) < rest) {
      throw decodeFailure(path, 'tar', 'truncated', pos + size, `the archive ends inside ${name}`);
    }
    pos += dataBytes;
  }
  const images = members.filter((m) => (REGULAR.has(m.type) || m.type === 'S') && isImageMember(m.name));
  if (images.length === 0) throw new EngineError('ARCHIVE_EMPTY', `${path}: the tar archive holds no image file (only folders, links or side files).`);
  if (images.length > 1) {
    const names = images.map((m) => m.name).join(', ');
    throw new EngineError('ARCHIVE_AMBIGUOUS', `${path}: the tar archive holds several files that could be the image (${names}). Extract the one you want and flash it.`);
  }
  const image = images[0]!;
  if (image.sparse) {
    throw new EngineError('IMAGE_UNREADABLE', `${path}: ${image.name} is stored as a sparse tar member (tar --sparse), which Sureflash does not read: extract it first (tar -xSf).`);
  }
  return { members, image, imageHead: heads.get(image) ?? Buffer.alloc(0), embeddedBmap: bmaps.length === 1 ? bmaps[0]!.data : null };
}

/** A TarByteSource over a file of `size` bytes read by positioned reads; skipping costs nothing. */
export function fileTarSource(readAt: (buf: Buffer, position: number) => Promise<number>, size: number): TarByteSource {
  let offset = 0;
  return {
    read: async (length) => {
      const buf = Buffer.alloc(length);
      const got = await readAt(buf, offset);
      offset += got;
      return buf.subarray(0, got);
    },
    skip: async (length) => {
      const skipped = Math.max(0, Math.min(length, size - offset));
      offset += skipped;
      return skipped;
    },
  };
}

/** A TarByteSource over decoded chunks (a decoder pass); skipping reads and drops. */
export function streamTarSource(chunks: AsyncIterator<Uint8Array>): TarByteSource & { offset(): number } {
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  let offset = 0;
  const fill = async (): Promise<boolean> => {
    if (pending.length > 0) return true;
    if (ended) return false;
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      return false;
    }
    // Decoders may refill the same buffer for the next chunk: keep a copy only of what is held.
    pending = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    return true;
  };
  return {
    offset: () => offset,
    read: async (length) => {
      const parts: Buffer[] = [];
      let got = 0;
      while (got < length && (await fill())) {
        const take = Math.min(length - got, pending.length);
        parts.push(Buffer.from(pending.subarray(0, take)));
        pending = pending.subarray(take);
        got += take;
      }
      offset += got;
      return Buffer.concat(parts, got);
    },
    skip: async (length) => {
      let skipped = 0;
      while (skipped < length && (await fill())) {
        const take = Math.min(length - skipped, pending.length);
        pending = pending.subarray(take);
        skipped += take;
      }
      offset += skipped;
      return skipped;
    },
  };
}
