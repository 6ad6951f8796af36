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

/**
 * A bmap's ranges, packed: each range's first and last block in two number arrays and its checksum's bytes
 * in one byte array. The plan's range objects read from here, so a bmap of 50,000 ranges costs about 90
 * bytes a range, not an object of six fields plus a 64-character checksum string.
 */
class PackedRanges {
  constructor(
    readonly first: Float64Array,
    readonly last: Float64Array,
    readonly blockSize: number,
    readonly imageSize: number,
    /** `digestBytes` per range; null when the bmap has no checksums. */
    readonly checksums: Buffer | null,
    readonly digestBytes: number,
  ) {}
}

/** One range of a packed plan (its fields are read from the columns; none of them can be changed). */
class PackedRange implements PlannedRange {
  constructor(
    readonly index: number,
    private readonly packed: PackedRanges,
  ) {}

  get first(): number {
    return this.packed.first[this.index] ?? 0;
  }

  get last(): number {
    return this.packed.last[this.index] ?? 0;
  }

  get start(): number {
    return this.first * this.packed.blockSize;
  }

  get end(): number {
    return Math.min((this.last + 1) * this.packed.blockSize, this.packed.imageSize);
  }

  get hasChecksum(): boolean {
    return this.packed.checksums !== null;
  }

  get checksum(): string | null {
    const { checksums, digestBytes } = this.packed;
    return checksums ? checksums.toString('hex', this.index * digestBytes, (this.index + 1) * digestBytes) : null;
  }
}

/** Whether the range has a checksum to prove, without spelling the checksum out. */
export function hasChecksum(range: PlannedRange): boolean {
  return range instanceof PackedRange ? range.hasChecksum : range.checksum !== null;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * The bmap's ranges as the plan. Packed when every range has a hex checksum of the same length, or none
 * has one (any bmap the parser accepted); otherwise one plain object per range.
 */
export function planFromBmap(bmap: Bmap): PlannedRange[] {
  const n = bmap.ranges.length;
  const hexLength = bmap.ranges[0]?.checksum?.length ?? 0;
  const packable = bmap.ranges.every((r) => (hexLength === 0 ? r.checksum === null : r.checksum !== null && r.checksum.length === hexLength && HEX.test(r.checksum)));
  if (!packable) {
    return bmap.ranges.map((r, index) => ({
      index,
      first: r.first,
      last: r.last,
      start: r.first * bmap.blockSize,
      end: Math.min((r.last + 1) * bmap.blockSize, bmap.imageSize),
      checksum: r.checksum,
    }));
  }
  const digestBytes = hexLength / 2;
  const packed = new PackedRanges(new Float64Array(n), new Float64Array(n), bmap.blockSize, bmap.imageSize, digestBytes > 0 ? Buffer.alloc(n * digestBytes) : null, digestBytes);
  const out: PlannedRange[] = new Array<PlannedRange>(n);
  bmap.ranges.forEach((r, index) => {
    packed.first[index] = r.first;
    packed.last[index] = r.last;
    if (packed.checksums && r.checksum) packed.checksums.write(r.checksum, index * digestBytes, digestBytes, 'hex');
    out[index] = new PackedRange(index, packed);
  });
  return out;
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
