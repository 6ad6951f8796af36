/**
 * The source side of a job, before any card is touched: the image opened and recognised, the bmap found,
 * parsed and checked against it, and the plan of ranges (the bmap's, or pseudo-ranges for the whole image).
 */
import type { Bmap } from '../../shared/bmap';
import { parseBmapAsync, readBmapFile } from './bmap-parser';
import { EngineError } from './errors';
import { describeSize } from './engine-format';
import { DEFAULT_BLOCK_SIZE, planFromBmap, planWholeImage, pseudoChunkBlocks, pseudoRange, type PlannedRange } from './plan';
import type { FlashJob } from './protocol';
import { discoverBmap, openSource } from './source';
import type { ImageSource } from './source/types';

export interface JobSource {
  source: ImageSource;
  bmap: Bmap | null;
  bmapPath: string | null;
  /** The image size when known (bmap ImageSize, raw size, archive or frame header), else null. */
  imageSize: number | null;
  blockSize: number;
  ranges: PlannedRange[];
  /** Set when the plan grows while streaming (no bmap, size unknown). */
  grow: { make(index: number, start: number): PlannedRange } | null;
}

async function loadBmap(job: FlashJob, source: ImageSource, signal: AbortSignal): Promise<{ bmap: Bmap | null; bmapPath: string | null }> {
  if (job.noBmap) return { bmap: null, bmapPath: null };
  if (job.bmapPath) return { bmap: await readBmapFile(job.bmapPath, { signal }), bmapPath: job.bmapPath };
  const found = job.image === '-' ? null : await discoverBmap(job.image);
  if (found) return { bmap: await readBmapFile(found, { signal }), bmapPath: found };
  if (source.embeddedBmap) {
    const name = `${job.image} (bmap inside the archive)`;
    return { bmap: await parseBmapAsync(source.embeddedBmap, name, { signal }), bmapPath: name };
  }
  return { bmap: null, bmapPath: null };
}

/** Opens the image and its bmap. On failure, `keep.source` still holds what must be closed. */
export async function openJobSource(
  job: FlashJob,
  keep: { source?: ImageSource; bmap?: Bmap | null; bmapPath?: string | null },
  signal: AbortSignal,
): Promise<JobSource> {
  const source = await openSource(job.image, { decoder: job.decoder ?? 'auto', signal });
  keep.source = source;
  const { bmap, bmapPath } = await loadBmap(job, source, signal);
  keep.bmap = bmap;
  keep.bmapPath = bmapPath;
  if (bmap && source.imageSize !== null && source.imageSize !== bmap.imageSize) {
    throw new EngineError(
      'IMAGE_SIZE_MISMATCH',
      `image ${job.image} is ${describeSize(source.imageSize)} but the bmap ${bmapPath} says ImageSize ${describeSize(bmap.imageSize)}: wrong bmap or damaged image`,
    );
  }
  const imageSize = bmap?.imageSize ?? source.imageSize;
  const blockSize = bmap?.blockSize ?? DEFAULT_BLOCK_SIZE;
  const ranges = bmap ? planFromBmap(bmap) : imageSize !== null ? planWholeImage(imageSize) : [];
  const chunkBlocks = pseudoChunkBlocks(null, blockSize);
  const grow = bmap || imageSize !== null ? null : { make: (index: number, start: number) => pseudoRange(index, Math.floor(start / blockSize), chunkBlocks, Number.MAX_SAFE_INTEGER, blockSize) };
  return { source, bmap, bmapPath, imageSize, blockSize, ranges, grow };
}
