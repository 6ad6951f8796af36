/**
 * Cuts a plan of ranges into chunk extents: a chunk is at most `chunkBytes` of the image, holds pieces of one
 * or more ranges, and spans a gap between two ranges only when the gap is small, so a bmap of many small
 * ranges becomes few reads, few device batches and one readback per chunk. Pure and lazy: the ranges may be
 * generated while streaming (an image of unknown size).
 */
import type { PlannedRange } from '../plan';

export interface PiecePlan {
  range: PlannedRange;
  offset: number;
  length: number;
  lastOfRange: boolean;
}

export interface ChunkPlan {
  start: number;
  end: number;
  pieces: PiecePlan[];
}

export function* packChunks(ranges: Iterable<PlannedRange>, chunkBytes: number, maxGap: number): Generator<ChunkPlan> {
  let current: ChunkPlan | null = null;
  for (const range of ranges) {
    let pos = range.start;
    while (pos < range.end) {
      if (current && (pos - current.end > maxGap || pos >= current.start + chunkBytes)) {
        yield current;
        current = null;
      }
      current ??= { start: pos, end: pos, pieces: [] };
      const length = Math.min(range.end - pos, current.start + chunkBytes - pos);
      current.pieces.push({ range, offset: pos, length, lastOfRange: pos + length >= range.end });
      current.end = pos + length;
      pos += length;
      if (current.end - current.start >= chunkBytes) {
        yield current;
        current = null;
      }
    }
  }
  if (current) yield current;
}
