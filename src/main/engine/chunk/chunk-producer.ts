/**
 * The source end of the pipeline: fills chunks from the image (positioned reads of a raw file, or a stream
 * from a decoder with the holes dropped), hashes each range's bytes as they pass and checks them against the
 * bmap, and hands chunks on in order. A range small enough to hold (up to `holdBytes`) is handed on only once
 * its checksum is proven, so a corrupt image never reaches the card there; bigger ranges are handed on as they
 * fill, marked provisional, and a mismatch at their end says the card now holds part of a bad range.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ChecksumType } from '../../../shared/bmap';
import { EngineError } from '../errors';
import { describeSize } from '../engine-format';
import { hasChecksum, type PlannedRange } from '../plan';
import type { ImageSource } from '../source/types';
import { indexIn, type Chunk, type ChunkPool } from './chunk-pool';
import { packChunks, type ChunkPlan } from './pack-chunks';

/** A range whose image bytes do not match the bmap. */
export class SourceMismatchError extends EngineError {
  constructor(
    readonly range: PlannedRange,
    /** True when chunks of the range had already gone to the cards (a range too big to hold back). */
    readonly handedOn: boolean,
    source: string,
  ) {
    super(
      'SOURCE_CHECKSUM_MISMATCH',
      `image ${source} is corrupted: range ${range.index + 1} (blocks ${range.first}-${range.last}) does not match the bmap checksum` +
        (handedOn ? '; part of that range was already written, so the card holds a damaged image and must not be used' : ''),
    );
  }
}

export interface FinalSet {
  /** Mapped bytes from the start of the plan that are re-read at the end (where address wrap lands). */
  firstBytes: number;
  /** Mapped bytes at the end of the plan (what a cache may still hold). */
  lastBytes: number;
  /** Total mapped bytes, null while unknown (every chunk then gets a digest). */
  totalMapped: number | null;
}

export interface ProducerOptions {
  source: ImageSource;
  /** The plan; for an image of unknown size without a bmap, `grow` makes ranges while streaming. */
  ranges: PlannedRange[];
  grow: { make(index: number, start: number): PlannedRange; limit: number | null } | null;
  imageSize: number | null;
  /** Hash type for the source check; null skips it. */
  checksumType: ChecksumType | null;
  pool: ChunkPool;
  maxGap: number;
  holdBytes: number;
  finalSet: FinalSet;
  signal: AbortSignal;
  /** Hands a chunk to the cards (the producer's reference goes with it). */
  emit(chunk: Chunk): void;
  /** A range made while streaming (grow). */
  onRangeAdded(range: PlannedRange): void;
  /** The image ended inside a grown range: it now ends at `end`. */
  onRangeTrimmed(range: PlannedRange, end: number): void;
  onSourceTime(ms: number): void;
}

/** Per-range source check state. */
class RangeChecks {
  private hash: Hash | null = null;
  private hashing = -1;
  /** Ranges proven (or with nothing to prove), by index. */
  readonly proven = new Set<number>();
  readonly handedOn = new Set<number>();

  constructor(
    private readonly type: ChecksumType | null,
    private readonly path: string,
  ) {}

  needsProof(range: PlannedRange): boolean {
    return this.type !== null && hasChecksum(range);
  }

  update(range: PlannedRange, bytes: Uint8Array, last: boolean): void {
    if (!this.needsProof(range)) {
      if (last) this.proven.add(range.index);
      return;
    }
    if (this.hashing !== range.index) {
      this.hash = createHash(this.type as string);
      this.hashing = range.index;
    }
    this.hash?.update(bytes);
    if (!last) return;
    const digest = this.hash?.digest('hex');
    this.hash = null;
    this.hashing = -1;
    if (digest !== range.checksum?.toLowerCase()) throw new SourceMismatchError(range, this.handedOn.has(range.index), this.path);
    this.proven.add(range.index);
  }
}

export async function produceChunks(opts: ProducerOptions): Promise<number> {
  const checks = new RangeChecks(opts.checksumType, opts.source.path);
  const held: Chunk[] = [];
  let seq = 0;
  let mapped = 0;
  const { firstBytes, lastBytes, totalMapped } = opts.finalSet;
  const wantsDigest = (from: number, to: number): boolean =>
    totalMapped === null || from < firstBytes || to > totalMapped - lastBytes;
  const holdable = (range: PlannedRange): boolean => checks.needsProof(range) && range.end - range.start <= opts.holdBytes;
  const releasable = (chunk: Chunk): boolean => chunk.pieces.every((p) => !holdable(p.range) || checks.proven.has(p.range.index));
  const release = (): void => {
    while (held.length > 0 && releasable(held[0] as Chunk)) opts.emit(held.shift() as Chunk);
  };

  /** Hashes a filled chunk's pieces, then hands it on (or holds it until its ranges are proven). */
  const finish = (plan: ChunkPlan, chunk: Chunk): void => {
    const buf = chunk.slot.buf;
    let digest: Hash | null = null;
    const size = plan.pieces.reduce((n, p) => n + p.length, 0);
    if (wantsDigest(mapped, mapped + size)) digest = createHash('sha1');
    mapped += size;
    for (const piece of plan.pieces) {
      const at = indexIn(plan.start, piece.offset);
      const bytes = buf.subarray(at, at + piece.length);
      digest?.update(bytes);
      checks.update(piece.range, bytes, piece.lastOfRange);
    }
    chunk.digest = digest ? digest.digest('hex') : null;
    chunk.provisional = chunk.pieces.some((p) => checks.needsProof(p.range) && !checks.proven.has(p.range.index));
    held.push(chunk);
    release();
    for (const p of chunk.pieces) if (!checks.proven.has(p.range.index) && !holdable(p.range)) checks.handedOn.add(p.range.index);
  };

  try {
    const readAt = opts.source.readAt;
    if (readAt && opts.grow === null) return await fromFile(opts, readAt, (plan, chunk) => finish(plan, chunk), () => seq++);
    return await fromStream(opts, (plan, chunk) => finish(plan, chunk), () => seq++);
  } finally {
    for (const chunk of held.splice(0)) opts.pool.release(chunk.slot);
  }
}

function newChunk(plan: ChunkPlan, seq: number, slot: Chunk['slot']): Chunk {
  return { seq, slot, start: plan.start, end: plan.end, pieces: plan.pieces, digest: null, provisional: false };
}

function checkCancel(signal: AbortSignal): void {
  if (signal.aborted) throw new EngineError('CANCELLED', 'cancelled by the user');
}

/** Raw files: one positioned read per chunk (holes between chunks are never read), one read ahead. */
async function fromFile(
  opts: ProducerOptions,
  readAt: NonNullable<ImageSource['readAt']>,
  finish: (plan: ChunkPlan, chunk: Chunk) => void,
  nextSeq: () => number,
): Promise<number> {
  type Pending = { plan: ChunkPlan; chunk: Chunk; read: Promise<number> };
  const plans = packChunks(opts.ranges, opts.pool.chunkBytes, opts.maxGap);
  const start = async (plan: ChunkPlan): Promise<Pending> => {
    const slot = await opts.pool.acquire();
    const chunk = newChunk(plan, nextSeq(), slot);
    const t0 = performance.now();
    const at = indexIn(plan.start, plan.start);
    const read = readAt(slot.buf.subarray(at, at + (plan.end - plan.start)), plan.start).finally(() => opts.onSourceTime(performance.now() - t0));
    read.catch(() => undefined);
    return { plan, chunk, read };
  };
  let bytes = 0;
  let next = plans.next();
  let ahead: Pending | null = next.done ? null : await start(next.value);
  try {
    while (ahead) {
      checkCancel(opts.signal);
      const current: Pending = ahead;
      ahead = null;
      next = plans.next();
      // Read ahead into a second slot while this chunk is hashed.
      if (!next.done) ahead = await start(next.value);
      const got = await current.read;
      const length = current.plan.end - current.plan.start;
      if (got < length) {
        opts.pool.release(current.chunk.slot);
        const piece = current.plan.pieces.find((p) => p.offset + p.length > current.plan.start + got) ?? current.plan.pieces[0];
        const range = piece?.range;
        throw new EngineError(
          'IMAGE_SIZE_MISMATCH',
          `image ${opts.source.path} ends at byte ${current.plan.start + got}` + (range ? `, inside range ${range.index + 1} (blocks ${range.first}-${range.last})` : ''),
        );
      }
      bytes = current.plan.end;
      finish(current.plan, current.chunk);
    }
  } catch (err) {
    if (ahead) {
      const pending: Pending = ahead;
      await pending.read.catch(() => undefined);
      opts.pool.release(pending.chunk.slot);
    }
    throw err;
  }
  return bytes;
}

/** Any source as a stream: bytes inside a chunk's extent are copied into its slot, the rest is dropped. */
async function fromStream(opts: ProducerOptions, finish: (plan: ChunkPlan, chunk: Chunk) => void, nextSeq: () => number): Promise<number> {
  const { source, pool, grow } = opts;
  const ranges = opts.ranges;
  function* growingRanges(): Generator<PlannedRange> {
    if (!grow) {
      yield* ranges;
      return;
    }
    for (let start = 0; ; ) {
      if (grow.limit !== null && start >= grow.limit) {
        throw new EngineError('TARGET_TOO_SMALL', `the image is larger than the target (${describeSize(grow.limit)})`);
      }
      const range = grow.make(ranges.length, start);
      ranges.push(range);
      opts.onRangeAdded(range);
      yield range;
      start = range.end;
    }
  }
  const plans = packChunks(growingRanges(), pool.chunkBytes, opts.maxGap);
  let plansDone = false;
  let current: { plan: ChunkPlan; chunk: Chunk } | null = null;
  let pos = 0;
  const wanted = grow ? undefined : (start: number, end: number): boolean => ranges.some((r) => r.start < end && r.end > start);
  // Plans are pulled only when bytes arrive for them: an image of unknown size that ends exactly at the
  // target's end must not ask for a range past it.
  const take = async (): Promise<{ plan: ChunkPlan; chunk: Chunk } | null> => {
    if (plansDone) return null;
    const next = plans.next();
    if (next.done) {
      plansDone = true;
      return null;
    }
    return { plan: next.value, chunk: newChunk(next.value, nextSeq(), await pool.acquire()) };
  };
  let t0 = performance.now();
  try {
    for await (const bytes of source.stream(wanted)) {
      opts.onSourceTime(performance.now() - t0);
      checkCancel(opts.signal);
      let p = 0;
      while (p < bytes.length) {
        current ??= await take();
        if (!current) break;
        const { plan, chunk } = current;
        if (pos < plan.start) {
          const skip = Math.min(plan.start - pos, bytes.length - p);
          pos += skip;
          p += skip;
          continue;
        }
        const n = Math.min(plan.end - pos, bytes.length - p);
        chunk.slot.buf.set(bytes.subarray(p, p + n), indexIn(plan.start, pos));
        pos += n;
        p += n;
        if (pos >= plan.end) {
          current = null;
          finish(plan, chunk);
        }
      }
      pos += bytes.length - p; // past the last chunk: only the length matters
      t0 = performance.now();
    }
  } catch (err) {
    if (current) pool.release(current.chunk.slot);
    throw err;
  }
  const open = current as { plan: ChunkPlan; chunk: Chunk } | null;
  if (grow) {
    // The image ended: the last grown range ends where the data did.
    const last = ranges[ranges.length - 1];
    if (last && last.end > pos) {
      last.end = Math.max(last.start, pos);
      opts.onRangeTrimmed(last, last.end);
    }
    if (open) {
      const pieces = open.plan.pieces
        .filter((piece) => piece.offset < pos)
        .map((piece) => ({ ...piece, length: Math.min(piece.length, pos - piece.offset), lastOfRange: piece.lastOfRange || piece.offset + piece.length >= pos }));
      if (pieces.length > 0) {
        open.chunk.end = pos;
        open.chunk.pieces = pieces;
        finish({ start: open.plan.start, end: pos, pieces }, open.chunk);
      } else pool.release(open.chunk.slot);
    }
    return pos;
  }
  if (open) pool.release(open.chunk.slot);
  const expected = opts.imageSize;
  if (expected !== null && pos !== expected) {
    const which = pos < expected ? 'shorter' : 'longer';
    throw new EngineError('IMAGE_SIZE_MISMATCH', `image ${source.path} is ${which} than expected: ${describeSize(pos)} instead of ${describeSize(expected)}`);
  }
  return pos;
}
