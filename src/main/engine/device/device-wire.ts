/**
 * The wire between the engine and the privileged helper: length-prefixed frames, read linearly (each byte is
 * looked at once; a frame's size is checked on its 12-byte header, before any of it is buffered) and bounded
 * per state — a few KiB until the peer has proven itself and the drive is open, then one batch.
 *
 * Frame: u32 kind, u32 metaLength, u32 dataLength (little endian), then meta, then data (no frame the two
 * ends send now carries data: its limit is 0 in every state, so any is refused from the header).
 * - CONTROL: meta is a JSON message (auth, open, opened, refused, close, closed).
 * - BATCH (engine → helper): meta u32 id, u32 count, u64 base, count × (u32 op, u64 offset, u64 length).
 * - RESULT (helper → engine): meta u32 id, u32 reads, reads × u32 delivered, then the error as JSON (empty:
 *   none).
 * The bytes themselves go through the transfer buffer, a 0600 file in the rendezvous directory that both
 * ends opened once: op i of a batch has its bytes at base + the lengths of the ops before it. The engine
 * writes a batch's write data there before it sends the batch; the helper reads it into its aligned memory,
 * runs the batch, writes what the reads delivered back there and answers; the engine reads it into the
 * arena. A socket moves such bytes through a buffer of about 200 KiB, waking both ends a dozen times per
 * 2 MiB — measured 3 to 8 times slower than the file on this project's machines; frames stay small.
 */
import { z } from 'zod';
import type { DeviceBatchResult, DeviceError, DeviceOp } from './device-protocol';

export const FRAME_HEADER = 12;
export const CONTROL = 1;
export const BATCH = 2;
export const RESULT = 3;

/** Longest control message, and all a peer may send before it proved itself (auth, open request). */
export const MAX_CONTROL = 4096;
/** Most ops in one batch. */
export const MAX_OPS = 4096;
/** Most bytes one batch's ops may cover, writes and reads together. */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;
/** The transfer buffer's size: room for batches on their way at once. */
export const BUFFER_BYTES = 64 * 1024 * 1024;
export const MAX_BATCH_META = 16 + 20 * MAX_OPS;
export const MAX_RESULT_META = 8 + 4 * MAX_OPS + MAX_CONTROL;

const OP_WRITE = 1;
const OP_READ = 2;
const OP_FLUSH = 3;

/** The peer broke the protocol: the connection is closed. */
export class WireError extends Error {}

/**
 * The rendezvous file the engine writes (0600, in a 0700 directory) and the helper reads and deletes.
 * `handoverPath`: a second socket (0600, same directory) where the engine takes the opened drive's descriptor,
 * when the engine can (its native module loaded); null or absent when not.
 */
export const rendezvousFileSchema = z
  .object({
    socketPath: z.string().min(1).max(1024),
    bufferPath: z.string().min(1).max(1024),
    handoverPath: z.string().min(1).max(1024).nullable().optional(),
    token: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type RendezvousFile = z.infer<typeof rendezvousFileSchema>;

const deviceInfoSchema = z
  .object({ direct: z.boolean(), sectorSize: z.number().int().positive().max(65536), size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable() })
  .strict();
const words = z.string().max(2000);

/** Control messages the helper sends. */
export const helperMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), token: z.string().max(128) }).strict(),
  /** handedOver: the descriptor went to the rendezvous' handover socket; the helper closed its own and ends. */
  z.object({ type: z.literal('opened'), info: deviceInfoSchema, handedOver: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('refused'), code: z.string().max(64), message: words }).strict(),
  z.object({ type: z.literal('closed') }).strict(),
]);
export type HelperMessage = z.infer<typeof helperMessageSchema>;

/** A block I/O op as it crosses the wire: where on the device, never where in anyone's memory. */
export type WireOp = { op: 'write' | 'read'; offset: number; length: number } | { op: 'flush' };

export function frameHeader(kind: number, metaLength: number, dataLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  header.writeUInt32LE(kind, 0);
  header.writeUInt32LE(metaLength, 4);
  header.writeUInt32LE(dataLength, 8);
  return header;
}

/** A control frame (header and JSON meta). */
export function controlFrame(message: object): Buffer {
  const meta = Buffer.from(JSON.stringify(message), 'utf8');
  if (meta.length > MAX_CONTROL) throw new WireError(`a control message of ${meta.length} bytes is too long`);
  return Buffer.concat([frameHeader(CONTROL, meta.length, 0), meta]);
}

export function parseControl(meta: Buffer): unknown {
  try {
    return JSON.parse(meta.toString('utf8'));
  } catch {
    throw new WireError('a control message is not JSON');
  }
}

/** A batch's meta for `ops` (DeviceOp or WireOp: `at` is not sent), their bytes from `base` in the buffer. */
export function encodeBatch(id: number, base: number, ops: readonly (DeviceOp | WireOp)[]): Buffer {
  const meta = Buffer.alloc(16 + 20 * ops.length);
  meta.writeUInt32LE(id, 0);
  meta.writeUInt32LE(ops.length, 4);
  meta.writeBigUInt64LE(BigInt(base), 8);
  ops.forEach((op, i) => {
    const at = 16 + 20 * i;
    if (op.op === 'truncate') throw new WireError('a device served by the helper cannot be truncated');
    meta.writeUInt32LE(op.op === 'write' ? OP_WRITE : op.op === 'read' ? OP_READ : OP_FLUSH, at);
    if (op.op !== 'flush') {
      meta.writeBigUInt64LE(BigInt(op.offset), at + 4);
      meta.writeBigUInt64LE(BigInt(op.length), at + 12);
    }
  });
  return meta;
}

const safe = (n: bigint): number => {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('an offset or length is out of range');
  return Number(n);
};

/** Where each op's bytes are in the transfer buffer (flushes: null). */
export function bufferPlaces(base: number, ops: readonly (DeviceOp | WireOp)[]): (number | null)[] {
  let cursor = base;
  return ops.map((op) => {
    if (op.op !== 'write' && op.op !== 'read') return null;
    const at = cursor;
    cursor += op.length;
    return at;
  });
}

/** Reads a batch's meta; its bytes must lie inside the transfer buffer. */
export function decodeBatch(meta: Buffer): { id: number; base: number; ops: WireOp[] } {
  if (meta.length < 16) throw new WireError('a batch is too short');
  const count = meta.readUInt32LE(4);
  if (count > MAX_OPS || meta.length !== 16 + 20 * count) throw new WireError(`a batch of ${count} ops does not match its length`);
  const base = safe(meta.readBigUInt64LE(8));
  const ops: WireOp[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const at = 16 + 20 * i;
    const kind = meta.readUInt32LE(at);
    if (kind === OP_FLUSH) {
      ops.push({ op: 'flush' });
      continue;
    }
    if (kind !== OP_WRITE && kind !== OP_READ) throw new WireError(`op ${i} has an unknown kind ${kind}`);
    const offset = safe(meta.readBigUInt64LE(at + 4));
    const length = safe(meta.readBigUInt64LE(at + 12));
    if (length === 0 || length > MAX_BATCH_BYTES) throw new WireError(`op ${i} has a length of ${length}`);
    bytes += length;
    ops.push({ op: kind === OP_WRITE ? 'write' : 'read', offset, length });
  }
  if (bytes > MAX_BATCH_BYTES || base + bytes > BUFFER_BYTES) throw new WireError(`a batch of ${bytes} bytes at ${base} does not fit the transfer buffer`);
  return { id: meta.readUInt32LE(0), base, ops };
}

export function encodeResult(id: number, result: DeviceBatchResult): Buffer {
  const error = result.error ? Buffer.from(JSON.stringify({ ...result.error, message: result.error.message.slice(0, 1000) }), 'utf8') : Buffer.alloc(0);
  const meta = Buffer.alloc(8 + 4 * result.reads.length + error.length);
  meta.writeUInt32LE(id, 0);
  meta.writeUInt32LE(result.reads.length, 4);
  result.reads.forEach((n, i) => meta.writeUInt32LE(n, 8 + 4 * i));
  error.copy(meta, 8 + 4 * result.reads.length);
  return meta;
}

const deviceErrorSchema = z.object({ index: z.number().int().nonnegative().max(MAX_OPS), code: z.string().max(64), message: words }).strict();

export function decodeResult(meta: Buffer): { id: number; result: DeviceBatchResult } {
  if (meta.length < 8) throw new WireError('a result is too short');
  const count = meta.readUInt32LE(4);
  if (count > MAX_OPS || meta.length < 8 + 4 * count) throw new WireError(`a result of ${count} reads does not match its length`);
  const reads = Array.from({ length: count }, (_, i) => meta.readUInt32LE(8 + 4 * i));
  const rest = meta.subarray(8 + 4 * count);
  let error: DeviceError | null = null;
  if (rest.length > 0) {
    const parsed = deviceErrorSchema.safeParse(parseControl(rest));
    if (!parsed.success) throw new WireError('a result carries a malformed error');
    error = parsed.data;
  }
  return { id: meta.readUInt32LE(0), result: { reads, error } };
}

/** What a FrameReader's owner decides per frame. */
export interface FrameSink {
  /** Largest meta and data a frame of `kind` may have now; null: no such frame is accepted now. */
  limits(kind: number): { meta: number; data: number } | null;
  /** The frame's meta arrived: where its data goes, in order (the lengths add up to dataLength). */
  place(kind: number, meta: Buffer, dataLength: number): Buffer[];
  /** The whole frame arrived. */
  frame(kind: number, meta: Buffer): void;
}

const NONE = Buffer.alloc(0);

/**
 * Reads frames from a byte stream into the places the sink gives, in one pass. Fed either by `feed` (chunks
 * from 'data' events: one copy into place) or by `next`/`got` as a socket's onread buffer (the kernel
 * writes straight into place). Throws WireError when the peer breaks the protocol; after that it stays broken.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(FRAME_HEADER);
  private stage: 'header' | 'meta' | 'data' = 'header';
  private parts: Buffer[] = [this.header];
  private part = 0;
  private filled = 0;
  private kind = 0;
  private dataLength = 0;
  private meta = NONE;
  private broken: WireError | null = null;

  constructor(private readonly sink: FrameSink) {}

  /** Where the next bytes go: what is still missing of the current part (never empty). */
  next(): Buffer {
    if (this.broken) throw this.broken;
    return (this.parts[this.part] as Buffer).subarray(this.filled);
  }

  /** `n` bytes were written at the start of the buffer `next` gave. */
  got(n: number): void {
    if (this.broken) throw this.broken;
    this.filled += n;
    try {
      while (this.filled === (this.parts[this.part] as Buffer).length) this.advance();
    } catch (err) {
      this.broken = err instanceof WireError ? err : new WireError(err instanceof Error ? err.message : String(err));
      throw this.broken;
    }
  }

  /** Takes a chunk that arrived on its own. */
  feed(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = chunk.copy(this.next(), 0, offset);
      offset += n;
      this.got(n);
    }
  }

  private advance(): void {
    this.filled = 0;
    if (this.part + 1 < this.parts.length) {
      this.part++;
      return;
    }
    if (this.stage === 'header') {
      this.kind = this.header.readUInt32LE(0);
      const metaLength = this.header.readUInt32LE(4);
      this.dataLength = this.header.readUInt32LE(8);
      const limits = this.sink.limits(this.kind);
      if (!limits) throw new WireError(`a frame of kind ${this.kind} is not expected now`);
      if (metaLength > limits.meta || this.dataLength > limits.data) {
        throw new WireError(`a message of ${metaLength + this.dataLength} bytes is too long (at most ${limits.meta + limits.data} here)`);
      }
      this.meta = Buffer.allocUnsafe(metaLength);
      this.begin('meta', [this.meta]);
    } else if (this.stage === 'meta') {
      const places = this.sink.place(this.kind, this.meta, this.dataLength);
      if (places.reduce((n, b) => n + b.length, 0) !== this.dataLength) throw new WireError('the data of a frame does not fit its places');
      this.begin('data', places);
    } else {
      const { kind, meta } = this;
      this.meta = NONE;
      this.begin('header', [this.header]);
      this.sink.frame(kind, meta);
    }
  }

  /** Starts a stage; empty parts are skipped by the caller's loop (`filled` 0 === length 0). */
  private begin(stage: FrameReader['stage'], parts: Buffer[]): void {
    this.stage = stage;
    this.parts = parts.length > 0 ? parts : [NONE];
    this.part = 0;
  }
}
