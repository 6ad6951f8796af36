/** The block map (bmap) model, as parsed from bmaptool's XML formats 1.2 to 2.0. */

export type ChecksumType = 'sha1' | 'sha256';

/** One `<Range>`: blocks first..last inclusive, with the hex digest of their bytes when the bmap has one. */
export interface BmapRange {
  first: number;
  last: number;
  checksum: string | null;
}

export interface Bmap {
  /** Version string as written, e.g. "2.0". */
  version: string;
  major: number;
  minor: number;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  /** Null when the bmap carries no range checksums. */
  checksumType: ChecksumType | null;
  /** The bmap file's own checksum (BmapFileSHA1 / BmapFileChecksum), null when absent. */
  fileChecksum: string | null;
  ranges: BmapRange[];
}

/** Bytes a range covers inside an image of `imageSize` bytes (the last block may be partial). */
export function rangeBytes(range: { first: number; last: number }, blockSize: number, imageSize: number): number {
  const start = range.first * blockSize;
  const end = Math.min((range.last + 1) * blockSize, imageSize);
  return Math.max(0, end - start);
}

/** Total mapped bytes of a bmap (partial last block counted by its real bytes). */
export function mappedBytes(bmap: Pick<Bmap, 'ranges' | 'blockSize' | 'imageSize'>): number {
  let total = 0;
  for (const r of bmap.ranges) total += rangeBytes(r, bmap.blockSize, bmap.imageSize);
  return total;
}
