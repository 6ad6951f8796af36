/**
 * The source side of a job, before any card is touched: the image opened and recognised (a file, stdin or
 * a URL), the bmap found or given, its signature and the image's published sha256 checked where they can
 * be, the bmap checked against the image, and the plan of ranges (the bmap's, or pseudo-ranges for the
 * whole image).
 */
import type { BmapHeader } from '../../shared/bmap';
import { collectGarbage } from './collect-garbage';
import { EngineError } from './errors';
import { describeSize } from './engine-format';
import { openJobImage } from './job-image';
import type { OpenedImage } from './open-image';
import { DEFAULT_BLOCK_SIZE, planFromBmap, planWholeImage, pseudoChunkBlocks, pseudoRange, type PlannedRange } from './plan';
import type { FlashJob } from './protocol';
import type { ImageSource } from './source/types';

export interface JobSource {
  opened: OpenedImage;
  source: ImageSource;
  /** The bmap's facts; its ranges are in `ranges`, the plan. */
  bmap: BmapHeader | null;
  bmapPath: string | null;
  /** The image size when known (bmap ImageSize, raw size, archive or frame header), else null. */
  imageSize: number | null;
  blockSize: number;
  ranges: PlannedRange[];
  /** Set when the plan grows while streaming (no bmap, size unknown). */
  grow: { make(index: number, start: number): PlannedRange } | null;
}

/** Ranges from which a bmap's parse garbage is collected at once (10,000 ranges: about 1 MB of XML). */
const LARGE_BMAP_RANGES = 10_000;

/** Opens the image and its bmap. On failure, `keep.opened` still holds what must be closed. */
export async function openJobSource(
  job: FlashJob,
  keep: { opened?: OpenedImage },
  signal: AbortSignal,
  log: (level: 'info' | 'warn', message: string) => void,
): Promise<JobSource> {
  const opened = await openJobImage(job, signal, log);
  keep.opened = opened;
  const { source, bmap, bmapPath } = opened;
  if (bmap && source.imageSize !== null && source.imageSize !== bmap.imageSize) {
    throw new EngineError(
      'IMAGE_SIZE_MISMATCH',
      `image ${opened.name} is ${describeSize(source.imageSize)} but the bmap ${bmapPath} says ImageSize ${describeSize(bmap.imageSize)}: wrong bmap or damaged image`,
    );
  }
  const imageSize = bmap?.imageSize ?? source.imageSize;
  const blockSize = bmap?.blockSize ?? DEFAULT_BLOCK_SIZE;
  const ranges = bmap ? planFromBmap(bmap) : imageSize !== null ? planWholeImage(imageSize) : [];
  // From here the plan is the ranges: the bmap's own range objects (one per range, 50,000 in a fragmented
  // image) are let go rather than kept for the whole job beside it.
  let header: BmapHeader | null = null;
  if (bmap) {
    const { ranges: _ranges, ...rest } = bmap;
    header = rest;
    opened.bmap = null;
    // A bmap of many ranges left megabytes of parse garbage: collected now, before the copy allocates its
    // memory, rather than at some point during it (collect-garbage.ts).
    if (bmap.ranges.length >= LARGE_BMAP_RANGES) collectGarbage();
  }
  const chunkBlocks = pseudoChunkBlocks(null, blockSize);
  const grow = bmap || imageSize !== null ? null : { make: (index: number, start: number) => pseudoRange(index, Math.floor(start / blockSize), chunkBlocks, Number.MAX_SAFE_INTEGER, blockSize) };
  return { opened, source, bmap: header, bmapPath, imageSize, blockSize, ranges, grow };
}
