/**
 * SHA-256-checked .xz for the built-in decoder. xz-decompress (xz-embedded in WebAssembly) knows the None,
 * CRC32 and CRC64 checks and refuses SHA-256 ("error code 6"). This module rewrites such a stream on the fly
 * into one with check None, which it decodes, and checks the SHA-256 of every block itself on the decoded
 * output:
 * - the stream header and footer get check type None (CRC32s recomputed),
 * - each block's 32-byte check is taken out (kept for the comparison),
 * - the index is re-encoded with each record's unpadded size 32 bytes smaller (and a new CRC32), so the
 *   decoder still checks the index against the blocks.
 * Block data is never decoded here: a block's end is found by walking its LZMA2 chunk headers (the last
 * filter of an .xz block is always LZMA2), which also give its uncompressed size. Streams with other check
 * types pass through unchanged; concatenated streams and stream padding are handled.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const SHA256 = 0x0a;
const CHECK_BYTES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** One block as the rewriter saw it: its uncompressed size and, for rewritten streams, its SHA-256. */
interface BlockCheck {
  size: number | null;
  expected: Buffer | null;
  verify: boolean;
}

/** What the rewriter learns for the verifier. */
export class XzCheckLedger {
  readonly blocks: BlockCheck[] = [];
}

/** Reads bytes from an async iterable of chunks: exact reads, passthrough copies. */
class ByteReader {
  private chunk: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.ended) return false;
      const next = await this.it.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
    }
    return true;
  }

  /** Exactly `n` bytes (a copy), or null when the input ends first (what was read is returned in `partial`). */
  async take(n: number, partial: Buffer[] = []): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) {
        partial.push(...parts);
        return null;
      }
      const piece = this.chunk.subarray(0, n - got);
      parts.push(Buffer.from(piece));
      this.chunk = this.chunk.subarray(piece.length);
      got += piece.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Up to `n` bytes without copying (at least one unless the input ended). */
  async some(n: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const piece = this.chunk.subarray(0, n);
    this.chunk = this.chunk.subarray(piece.length);
    return piece;
  }

  /** The next byte without consuming it, or null at the end. */
  async peek(): Promise<number | null> {
    return (await this.fill()) ? this.chunk[0]! : null;
  }
}

function varint(buf: Buffer, at: { pos: number }): number {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = buf[at.pos++];
    if (byte === undefined) throw new Error('xz: a size field is cut short');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw new Error('xz: a size field is too long');
}

function encodeVarint(value: number, out: number[]): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function withCrc(body: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body) >>> 0);
  return Buffer.concat([body, crc]);
}

/**
 * The stream with every SHA-256 check rewritten to None (see the module comment). Stops with an Error on a
 * structure it cannot follow; input that ends early is passed on as far as it goes (the decoder then says
 * the file is truncated).
 */
export async function* rewriteXzChecks(input: AsyncIterable<Buffer>, ledger: XzCheckLedger): AsyncGenerator<Buffer> {
  const r = new ByteReader(input);
  for (;;) {
    // Stream padding (zero bytes) between streams, then a stream header or the end.
    while ((await r.peek()) === 0) yield (await r.take(1))!;
    if ((await r.peek()) === null) return;
    const partial: Buffer[] = [];
    const header = await r.take(12, partial);
    if (!header) return yield* partial;
    if (!header.subarray(0, 6).equals(MAGIC)) {
      yield header; // not a stream: the decoder says what is wrong
      for (let rest = await r.some(1 << 20); rest; rest = await r.some(1 << 20)) yield rest;
      return;
    }
    const check = header[7]! & 0x0f;
    const rewrite = check === SHA256 && header[6] === 0;
    const checkBytes = CHECK_BYTES[check]!;
    yield rewrite ? Buffer.concat([MAGIC, withCrc(Buffer.from([0, 0]))]) : header;

    // Blocks, until the index indicator (0x00).
    for (;;) {
      const first = await r.peek();
      if (first === null) return;
      if (first === 0) break;
      const blockHeader = await r.take((first + 1) * 4, partial);
      if (!blockHeader) return yield* partial;
      yield blockHeader;
      const flags = blockHeader[1]!;
      const at = { pos: 2 };
      const compressedSize = flags & 0x40 ? varint(blockHeader, at) : null;
      if (flags & 0x80) varint(blockHeader, at);
      const filters = (flags & 3) + 1;
      let lastFilter = 0;
      for (let i = 0; i < filters; i++) {
        lastFilter = varint(blockHeader, at);
        at.pos += varint(blockHeader, at);
      }
      if (lastFilter !== 0x21) throw new Error(`xz: a block's last filter is ${lastFilter}, not LZMA2`);
      const entry: BlockCheck = { size: null, expected: null, verify: rewrite };
      ledger.blocks.push(entry);
      // LZMA2 chunks: headers read, data passed on.
      let packed = 0;
      let unpacked = 0;
      for (;;) {
        const control = await r.take(1, partial);
        if (!control) return yield* partial;
        yield control;
        packed += 1;
        const c = control[0]!;
        if (c === 0x00) break;
        let dataBytes: number;
        if (c === 0x01 || c === 0x02) {
          const size = await r.take(2, partial);
          if (!size) return yield* partial;
          yield size;
          packed += 2;
          dataBytes = size.readUInt16BE(0) + 1;
          unpacked += dataBytes;
        } else if (c >= 0x80) {
          const props = (c & 0x60) >= 0x40 ? 1 : 0;
          const sizes = await r.take(4 + props, partial);
          if (!sizes) return yield* partial;
          yield sizes;
          packed += 4 + props;
          unpacked += ((c & 0x1f) << 16) + sizes.readUInt16BE(0) + 1;
          dataBytes = sizes.readUInt16BE(2) + 1;
        } else {
          throw new Error(`xz: invalid LZMA2 chunk control byte 0x${c.toString(16)}`);
        }
        packed += dataBytes;
        for (let left = dataBytes; left > 0; ) {
          const piece = await r.some(left);
          if (!piece) return;
          yield piece;
          left -= piece.length;
        }
      }
      if (compressedSize !== null && compressedSize !== packed) throw new Error('xz: a block is not the size its header says');
      entry.size = unpacked;
      const padding = await r.take((4 - (packed % 4)) % 4, partial);
      if (!padding) return yield* partial;
      yield padding;
      const blockCheck = await r.take(checkBytes, partial);
      if (!blockCheck) return yield* partial;
      if (rewrite) entry.expected = blockCheck;
      else yield blockCheck;
    }

    // The index: indicator, record count, records, padding, CRC32.
    const index: number[] = [];
    const byte = async (): Promise<number | null> => {
      const b = await r.take(1);
      if (!b) return null;
      index.push(b[0]!);
      if (index.length > MAX_INDEX_BYTES) throw new Error('xz: the index is too large');
      return b[0]!;
    };
    const readVarint = async (): Promise<number | null> => {
      let value = 0;
      for (let i = 0; i < 9; i++) {
        const b = await byte();
        if (b === null) return null;
        value += (b & 0x7f) * 2 ** (7 * i);
        if ((b & 0x80) === 0) return value;
      }
      throw new Error('xz: an index field is too long');
    };
    const ended = (): Buffer => Buffer.from(index);
    await byte();
    const count = await readVarint();
    if (count === null) return yield ended();
    const records: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const unpadded = await readVarint();
      const size = unpadded === null ? null : await readVarint();
      if (unpadded === null || size === null) return yield ended();
      records.push([unpadded, size]);
    }
    while (index.length % 4 !== 0) if ((await byte()) === null) return yield ended();
    const indexCrc = await r.take(4);
    if (!indexCrc) return yield ended();
    let newIndexSize = index.length + 4;
    if (rewrite) {
      const out: number[] = [0x00];
      encodeVarint(count, out);
      for (const [unpadded, size] of records) {
        encodeVarint(unpadded - checkBytes, out);
        encodeVarint(size, out);
      }
      while (out.length % 4 !== 0) out.push(0);
      const rewritten = withCrc(Buffer.from(out));
      newIndexSize = rewritten.length;
      yield rewritten;
    } else {
      yield Buffer.concat([ended(), indexCrc]);
    }
    const footer = await r.take(12, partial);
    if (!footer) return yield* partial;
    if (rewrite) {
      // CRC32 of (backward size, stream flags None), then those 6 bytes, then "YZ".
      const body = Buffer.alloc(6);
      body.writeUInt32LE(newIndexSize / 4 - 1, 0);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32(body) >>> 0);
      yield Buffer.concat([crc, body, Buffer.from('YZ', 'latin1')]);
    } else {
      yield footer;
    }
  }
}

/**
 * Passes the decoded bytes on, hashing each block of a rewritten stream and comparing with the SHA-256
 * taken out of it. Throws on a mismatch, or when blocks were left unchecked at the end.
 */
export async function* verifyXzChecks(decoded: AsyncIterable<Buffer>, ledger: XzCheckLedger): AsyncGenerator<Buffer> {
  let index = 0;
  let inBlock = 0;
  let hash: Hash | null = null;
  /** Digests of finished blocks whose expected value may not be known yet. */
  const pending = new Map<number, Buffer>();
  const checked = new Set<number>();
  const compare = (): void => {
    for (const [i, got] of pending) {
      const expected = ledger.blocks[i]?.expected;
      if (!expected) continue;
      if (!got.equals(expected)) throw new Error(`the SHA-256 check of xz block ${i + 1} does not match its data`);
      pending.delete(i);
      checked.add(i);
    }
  };
  const finish = (): void => {
    if (ledger.blocks[index]?.verify) pending.set(index, (hash ?? createHash('sha256')).digest());
    hash = null;
    inBlock = 0;
    index++;
  };
  for await (const chunk of decoded) {
    let at = 0;
    while (at < chunk.length) {
      const block = ledger.blocks[index];
      if (!block) throw new Error('xz: decoded data beyond the blocks seen');
      if (block.size === 0) {
        finish();
        continue;
      }
      if (block.verify) hash ??= createHash('sha256');
      const take = block.size === null ? chunk.length - at : Math.min(chunk.length - at, block.size - inBlock);
      hash?.update(chunk.subarray(at, at + take));
      at += take;
      inBlock += take;
      if (block.size !== null && inBlock === block.size) finish();
    }
    compare();
    yield chunk;
  }
  // Empty blocks produce no output: close them here.
  while (ledger.blocks[index]?.size === 0) finish();
  compare();
  const open = ledger.blocks.findIndex((b, i) => b.verify && !checked.has(i));
  if (open >= 0) throw new Error(`xz block ${open + 1} ended without its SHA-256 check`);
}
