/**
 * The one report object that describes a flash or verify outcome. The CLI's `--report`, the GUI's
 * "Save report" and the final screen all read this shape.
 */
import type { ChecksumType } from './bmap';
import type { ApiError } from './result';

export const REPORT_VERSION = 1;

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'zip';

/** Per-range state as it moves through the pipeline. */
export type RangeState = 'pending' | 'writing' | 'written' | 'verified' | 'retrying' | 'failed';

export type FlashStatus = 'verified' | 'failed' | 'cancelled' | 'written-unverified';

export type Phase = 'preparing' | 'writing' | 'verifying' | 'retrying' | 'flushing' | 'done';

export type TargetKind = 'block-device' | 'file';

/** A span of blocks (inclusive), used to name exactly which blocks did not hold. */
export interface BlockSpan {
  first: number;
  last: number;
}

export interface RangeReport {
  index: number;
  first: number;
  last: number;
  bytes: number;
  /** Rewrite passes for this range (0 when the first write read back correctly). */
  retries: number;
  /** Blocks rewritten over all passes (each corrupted block write costs one rewrite of that block). */
  rewrittenBlocks: number;
  state: RangeState;
  /** Blocks whose read-back data never matched (only on failed ranges). */
  badBlocks?: BlockSpan[];
}

export interface FlashReport {
  version: typeof REPORT_VERSION;
  tool: { name: 'sureflash'; version: string };
  mode: 'copy' | 'verify';
  startedAt: string;
  image: { path: string; size: number | null; imageSize: number | null; compression: Compression; decoder: string };
  bmap: { path: string; version: string; checksumType: ChecksumType | null; mappedBytes: number; blockSize: number } | null;
  target: { path: string; size: number | null; kind: TargetKind };
  options: { readback: boolean; verifySource: boolean; retries: number };
  /**
   * How the target was read back: "direct" bypasses every OS cache (O_DIRECT); "buffered" only where the
   * filesystem of a regular-file target refuses O_DIRECT; "none" when readback is off.
   */
  readback: 'direct' | 'buffered' | 'none';
  status: FlashStatus;
  /** Block size the ranges are numbered in (the bmap's, or 4096 without a bmap). */
  blockSize: number;
  ranges: RangeReport[];
  totals: {
    mappedBytes: number;
    bytesWritten: number;
    bytesReadBack: number;
    retries: number;
    rewrittenBlocks: number;
    badRanges: number;
    verifiedRanges: number;
    retriedRanges: number;
  };
  timings: { preparingMs: number; copyMs: number; flushMs: number; totalMs: number; sourceMs: number; writeMs: number; readbackMs: number };
  /** Mapped bytes per second over the copy and flush phases. */
  averageSpeed: number;
  error?: ApiError;
}

/** Range layout sent when a job starts, so a UI can draw the map before any progress. */
export interface FlashLayout {
  imageSize: number;
  blockSize: number;
  mappedBytes: number;
  ranges: { index: number; first: number; last: number; bytes: number }[];
}

export interface RangeChange {
  index: number;
  state: RangeState;
  retries: number;
}

export interface FlashProgress {
  phase: Phase;
  /** Mapped bytes processed (written, or read in verify mode). */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second, smoothed. */
  speed: number;
  etaSeconds: number | null;
  retries: number;
  /** Range state changes since the previous progress event, in order. */
  rangeChanges: RangeChange[];
}
