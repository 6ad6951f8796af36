/**
 * The range plan: what the engine writes and verifies, in image order. With a bmap, its ranges; without
 * one, the whole image cut into equal pseudo-ranges so progress, the range map and the report stay useful.
 */
import type { Bmap } from '../../shared/bmap';
import type { FlashLayout } from '../../shared/report';

export interface PlannedRange {
  index: number;
  first: number;
  last: number;
  /** Byte offsets in the image: start inclusive, end exclusive (clipped to the image size). */
  start: number;
  end: number;
  checksum: string | null;
}

export const DEFAULT_BLOCK_SIZE = 4096;
/** Pseudo-ranges without a bmap: at least 16 MiB, at most about 256 of them. */
const MIN_CHUNK_BLOCKS = 4096;
const MAX_PSEUDO_RANGES = 256;

export function planFromBmap(bmap: Bmap): PlannedRange[] {
  return bmap.ranges.map((r, index) => ({
    index,
    first: r.first,
    last: r.last,
    start: r.first * bmap.blockSize,
    end: Math.min((r.last + 1) * bmap.blockSize, bmap.imageSize),
    checksum: r.checksum,
  }));
}

/** Block count of one pseudo-range for an image of `imageSize` bytes (null = unknown size). */
export function pseudoChunkBlocks(imageSize: number | null, blockSize = DEFAULT_BLOCK_SIZE): number {
  if (imageSize === null) return MIN_CHUNK_BLOCKS;
  const blocks = Math.ceil(imageSize / blockSize);
  return Math.max(MIN_CHUNK_BLOCKS, Math.ceil(blocks / MAX_PSEUDO_RANGES));
}

/** One pseudo-range starting at block `first`; `imageSize` clips the last one (Infinity while unknown). */
export function pseudoRange(index: number, first: number, chunkBlocks: number, imageSize: number, blockSize = DEFAULT_BLOCK_SIZE): PlannedRange {
  const start = first * blockSize;
  const end = Math.min((first + chunkBlocks) * blockSize, imageSize);
  return { index, first, last: Math.ceil(end / blockSize) - 1, start, end, checksum: null };
}

export function planWholeImage(imageSize: number, blockSize = DEFAULT_BLOCK_SIZE): PlannedRange[] {
  const chunk = pseudoChunkBlocks(imageSize, blockSize);
  const ranges: PlannedRange[] = [];
  for (let first = 0; first * blockSize < imageSize; first += chunk) ranges.push(pseudoRange(ranges.length, first, chunk, imageSize, blockSize));
  return ranges;
}

/** The layout for the 'started' event; `withRanges` false: the count only, not one object per range. */
export function layoutOf(ranges: PlannedRange[], imageSize: number | null, blockSize: number, withRanges = true): FlashLayout {
  let mapped = 0;
  for (const r of ranges) mapped += r.end - r.start;
  return {
    imageSize: imageSize ?? 0,
    blockSize,
    mappedBytes: mapped,
    ranges: withRanges ? ranges.map((r) => ({ index: r.index, first: r.first, last: r.last, bytes: r.end - r.start })) : [],
    rangeCount: ranges.length,
  };
}
