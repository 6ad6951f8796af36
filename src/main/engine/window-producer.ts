/**
 * Cuts the image into windows of planned ranges and hands each filled window to a task. Raw files are read
 * at the ranges' offsets straight into the aligned window (holes are never read); compressed images stream
 * through and the bytes of holes are dropped. Each range's bytes are hashed as they pass and checked against
 * the bmap before its last window is handed on, so a corrupted image stops with the range named.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ChecksumType } from '../../shared/bmap';
import { EngineError } from './errors';
import { describeSize } from './engine-format';
import { pseudoChunkBlocks, pseudoRange, type PlannedRange } from './plan';
import type { ImageSource } from './source/types';
import type { WindowPool, WindowSlot } from './window-pool';

/** A window ready for its task: `length` bytes of `range` at image `offset`, in slot.data. */
export interface FilledWindow {
  range: PlannedRange;
  offset: number;
  length: number;
  /** True for the range's last window. */
  last: boolean;
}

export interface ProducerOptions {
  source: ImageSource;
  ranges: PlannedRange[];
  /** Known image size; null grows pseudo-ranges while streaming (no bmap, size unknown). */
  imageSize: number | null;
  blockSize: number;
  /** Hash type for the source check; null skips it (no checksums, or --no-verify). */
  checksumType: ChecksumType | null;
  pool: WindowPool;
  /** Called when a range gets its first window, and when a pseudo-range is discovered. */
  onRangeStart(range: PlannedRange, discovered: boolean): void;
  onSourceTime(ms: number): void;
  /** A growing pseudo-range ended early: the image ended at byte `end`. */
  onRangeEnd(range: PlannedRange, end: number): void;
  task(slot: WindowSlot, window: FilledWindow): Promise<void>;
  /** Upper bound for an image of unknown size (the target's size), null when unbounded. */
  limit: number | null;
}

function checkRangeHash(hash: Hash | null, range: PlannedRange, source: string): void {
  if (!hash || !range.checksum) return;
  const digest = hash.digest('hex');
  if (digest !== range.checksum.toLowerCase()) {
    throw new EngineError(
      'SOURCE_CHECKSUM_MISMATCH',
      `image ${source} is corrupted: range ${range.index + 1} (blocks ${range.first}-${range.last}) does not match the bmap checksum`,
    );
  }
}

/** Every window of the plan, in image order. */
function* windowsOf(ranges: PlannedRange[], windowBytes: number): Generator<FilledWindow> {
  for (const range of ranges) {
    for (let offset = range.start; offset < range.end; offset += windowBytes) {
      const length = Math.min(windowBytes, range.end - offset);
      yield { range, offset, length, last: offset + length >= range.end };
    }
  }
}

/**
 * Raw files: positioned reads of mapped windows only, one read ahead, so the next read runs on the thread
 * pool while this window is hashed.
 */
export async function produceFromFile(opts: ProducerOptions): Promise<void> {
  const { source, pool } = opts;
  const readAt = source.readAt;
  if (!readAt) throw new Error('produceFromFile needs a random-access source');
  type Pending = { w: FilledWindow; slot: WindowSlot; read: Promise<number> };
  const release = (p: Pending | null): void => {
    if (p) pool.launch(p.slot, () => p.read.then(() => undefined, () => undefined));
  };
  const startRead = (w: FilledWindow, slot: WindowSlot): Pending => {
    const t0 = performance.now();
    const read = readAt(slot.data.subarray(0, w.length), w.offset).finally(() => opts.onSourceTime(performance.now() - t0));
    read.catch(() => undefined); // observed below; avoid an unhandled rejection while it waits
    return { w, slot, read };
  };
  const windows = windowsOf(opts.ranges, pool.windowBytes);
  let hash: Hash | null = null;
  let next = windows.next();
  let ahead: Pending | null = next.done ? null : startRead(next.value, await pool.acquire());
  while (ahead) {
    const current: Pending = ahead;
    next = windows.next();
    // Read ahead only into a slot that is free now: waiting here for one while holding the current window
    // could wait forever (a single-window pool).
    const early = next.done ? null : pool.tryAcquire();
    ahead = next.done || !early ? null : startRead(next.value, early);
    const { w, slot } = current;
    const { range, offset, length, last } = w;
    try {
      const got = await current.read;
      if (offset === range.start) {
        hash = opts.checksumType && range.checksum ? createHash(opts.checksumType) : null;
        opts.onRangeStart(range, false);
      }
      if (got < length) {
        throw new EngineError('IMAGE_SIZE_MISMATCH', `image ${source.path} ends at byte ${offset + got}, inside range ${range.index + 1} (blocks ${range.first}-${range.last})`);
      }
      hash?.update(slot.data.subarray(0, length));
      if (last) checkRangeHash(hash, range, source.path);
    } catch (err) {
      release(current);
      release(ahead);
      throw err;
    }
    pool.launch(slot, (s) => opts.task(s, { range, offset, length, last }));
    if (!ahead && !next.done) ahead = startRead(next.value, await pool.acquire());
  }
}

/** Any source as a stream: copy mapped bytes into windows, drop holes, check the length at the end. */
export async function produceFromStream(opts: ProducerOptions): Promise<number> {
  const { source, pool, ranges } = opts;
  const growing = opts.imageSize === null && ranges.length === 0;
  const chunkBlocks = pseudoChunkBlocks(null, opts.blockSize);
  let pos = 0;
  let ri = 0;
  let hash: Hash | null = null;
  let window: { slot: WindowSlot; offset: number; length: number; filled: number } | null = null;

  const launch = (range: PlannedRange, w: NonNullable<typeof window>, last: boolean): void => {
    pool.launch(w.slot, (s) => opts.task(s, { range, offset: w.offset, length: w.filled, last }));
  };
  // Spans the plan needs: a decoder may skip whole blocks that hold none of them.
  const wanted = growing ? undefined : (start: number, end: number): boolean => ranges.some((r) => r.start < end && r.end > start);
  let t0 = performance.now();
  try {
    for await (const chunk of source.stream(wanted)) {
      opts.onSourceTime(performance.now() - t0);
      let p = 0;
      while (p < chunk.length) {
        if (ri >= ranges.length && growing) {
          if (opts.limit !== null && pos >= opts.limit) {
            throw new EngineError('TARGET_TOO_SMALL', `the image is larger than the target (${describeSize(opts.limit)})`);
          }
          const range = pseudoRange(ranges.length, Math.floor(pos / opts.blockSize), chunkBlocks, opts.limit ?? Number.MAX_SAFE_INTEGER, opts.blockSize);
          ranges.push(range);
          opts.onRangeStart(range, true);
        }
        const range = ranges[ri];
        if (!range) {
          pos += chunk.length - p; // past the last range: only the length matters
          break;
        }
        if (pos < range.start) {
          const skip = Math.min(range.start - pos, chunk.length - p);
          pos += skip;
          p += skip;
          continue;
        }
        if (!window) {
          if (pos === range.start) {
            hash = opts.checksumType && range.checksum ? createHash(opts.checksumType) : null;
            if (!growing) opts.onRangeStart(range, false);
          }
          window = { slot: await pool.acquire(), offset: pos, length: Math.min(pool.windowBytes, range.end - pos), filled: 0 };
        }
        const n = Math.min(window.length - window.filled, chunk.length - p);
        window.slot.data.set(chunk.subarray(p, p + n), window.filled);
        hash?.update(chunk.subarray(p, p + n));
        window.filled += n;
        p += n;
        pos += n;
        if (window.filled === window.length) {
          const last = pos >= range.end;
          if (last) {
            checkRangeHash(hash, range, source.path);
            ri++;
          }
          launch(range, window, last);
          window = null;
        }
      }
      t0 = performance.now();
    }
  } finally {
    // An image of unknown size: its last pseudo-range ends where the data did (at the end, or where it failed).
    const open = growing ? ranges[ranges.length - 1] : undefined;
    if (open && open.end > pos) opts.onRangeEnd(open, Math.max(open.start, pos));
  }
  if (growing) {
    const range = ranges[ri];
    if (range && window) {
      launch(range, window, true);
      window = null;
    }
    return pos;
  }
  if (window) pool.launch(window.slot, async () => undefined);
  const expected = opts.imageSize;
  if (expected !== null && pos !== expected) {
    const which = pos < expected ? 'shorter' : 'longer';
    throw new EngineError('IMAGE_SIZE_MISMATCH', `image ${source.path} is ${which} than expected: ${describeSize(pos)} instead of ${describeSize(expected)}`);
  }
  return pos;
}
